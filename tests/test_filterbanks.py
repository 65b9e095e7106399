"""Stored STFT windows and mel filterbanks (model/filterbanks.py): librosa's arrays, without librosa at run time."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emotrack.model.checkpoint import load_checkpoint
from emotrack.model.features import CAE_SPEC, FeatureSpec, log_mel_windows
from emotrack.model.filterbanks import BandMatrix, librosa_kernels, stored_kernels
from emotrack.model.musicnn import MUSICNN_SPEC
from emotrack.model.trackers import bundled_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec", [CAE_SPEC, MUSICNN_SPEC], ids=["cae", "musicnn"])
def test_stored_kernels_are_librosas_bit_for_bit(spec):
    stored = stored_kernels(spec)
    assert stored is not None, "run tools/make_filterbanks.py"
    window, mel = librosa_kernels(spec)
    assert np.array_equal(stored[0], window) and np.array_equal(stored[1], mel)


@pytest.mark.parametrize("name", ["rnn", "cae", "baseline"])
def test_every_bundled_checkpoint_has_stored_kernels(name):
    spec = load_checkpoint(bundled_checkpoint(name)).spec
    assert stored_kernels(spec) is not None


def test_band_matrix_equals_the_dense_product_with_empty_bands():
    rng = np.random.default_rng(0)
    mel = np.zeros((6, 40), np.float32)
    mel[0, 3:9] = rng.random(6)
    mel[2, 8:20] = rng.random(12)    # band 1 empty (inside), band 5 empty (last)
    mel[3, 0:2] = rng.random(2)
    mel[4, 30:40] = rng.random(10)
    spectrum = rng.random((7, 40)).astype(np.float32)
    out = BandMatrix(mel).apply(spectrum)
    assert out.shape == (7, 6) and out.dtype == np.float32
    np.testing.assert_allclose(out, spectrum @ mel.T, rtol=1e-6, atol=1e-7)
    assert (out[:, 1] == 0).all() and (out[:, 5] == 0).all()


def test_a_spec_without_stored_kernels_falls_back_to_librosa():
    spec = FeatureSpec(n_mels=40)
    assert stored_kernels(spec) is None
    rng = np.random.default_rng(1)
    windows = rng.standard_normal((3, spec.n_fft)).astype(np.float32)
    window, mel = librosa_kernels(spec)
    spectrum = np.abs(np.fft.rfft(windows * window, axis=-1)) ** 2
    expected = 10.0 * np.log10(np.maximum(spectrum.astype(np.float32) @ mel.T, spec.log_amin) / spec.log_ref)
    np.testing.assert_allclose(log_mel_windows(windows, spec), expected, atol=1e-3)


HEADLESS = """
import sys
import numpy as np
from emotrack.model.trackers import load_tracker
for name in ("musicnn", "rnn"):
    tracker = load_tracker(name, None, device="cpu")
    tracker.reset(44100)
    out = tracker.push((np.random.default_rng(0).standard_normal((44100 * 4, 2)) * 0.1).astype(np.float32))
    assert len(out) >= 6, len(out)
from emotrack.realtime.cli import main
assert main(["listen", "--source", "file", "--no-playback", "--fast", "--duration", "2", "--quiet",
             "assets/demo/revelation-excerpt.ogg"]) == 0
heavy = ("librosa", "numba", "scipy", "matplotlib", "pyarrow", "PyQt6", "pyqtgraph", "ray")
print(sorted(m for m in heavy if m in sys.modules))
"""


def test_a_headless_tracker_run_loads_no_heavy_library():
    """Issue 21: a live run loads neither librosa/numba/scipy (stored kernels) nor plotting,
    table or GUI libraries (lazy imports): they cost ~170 MB and seconds at the first frame."""
    proc = subprocess.run([sys.executable, "-c", HEADLESS], capture_output=True, text=True, timeout=240,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
