#!/usr/bin/env python3
"""Store librosa's STFT window and mel filterbank of each shipped FeatureSpec in
assets/filterbanks/<spec hash>.npz, so that a live run never imports librosa
(model/filterbanks.py says why).  Run after changing a shipped spec:

    .venv/bin/python tools/make_filterbanks.py
"""
from pathlib import Path

import numpy as np

from emotrack.model.features import CAE_SPEC
from emotrack.model.filterbanks import ASSET_FOLDER, librosa_kernels
from emotrack.model.musicnn import MUSICNN_SPEC

SHIPPED_SPECS = {"cae": CAE_SPEC, "musicnn": MUSICNN_SPEC}

if __name__ == "__main__":
    folder = Path(__file__).resolve().parents[1] / "assets" / ASSET_FOLDER
    folder.mkdir(exist_ok=True)
    for name, spec in SHIPPED_SPECS.items():
        window, mel = librosa_kernels(spec)
        path = folder / f"{spec.hash}.npz"
        np.savez_compressed(path, window=window, mel=mel)
        print(f"{name}: {path.name} ({path.stat().st_size} bytes)")
