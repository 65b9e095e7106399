"""Estimated vs measured training memory (docs/hardening.md): the estimate bounds --hparams.

    OMP_NUM_THREADS=1 python tests/bench/bench_train_memory.py

Trains one epoch of the CAE with 128 channels per layer and batch 64 on 70 synthetic songs
and prints training_bytes()'s estimate beside the growth of the peak RSS.
"""
import resource

import numpy as np
import torch

torch.set_num_threads(1)
from pathlib import Path
from emotrack.train.items import SongItem
from emotrack.train.songs import SongFeatures
from emotrack.train.trainer import TrainConfig, train_model, training_bytes
from emotrack.model.features import CAE_SPEC
hp = {"channels": [128, 128, 128, 128]}; batch = 64
w, a = training_bytes("cae", hp, batch)
songs = []
for i in range(70):
    v = np.full(60, 0.1, np.float32)
    songs.append(SongFeatures(SongItem(str(i), Path("x"), v, v.copy(), None, None, "development", 0, "t"),
                              np.random.default_rng(i).standard_normal((60, 96)).astype(np.float32)))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
train_model(songs, [], TrainConfig(model="cae", hparams=hp, batch_size=batch, max_epochs=1, min_epochs=1, progress=False, max_shift=0), spec=CAE_SPEC)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"estimate {(w+a)/2**20:.0f} MiB (weights {w/2**20:.0f}, activations {a/2**20:.0f}); peak RSS growth {peak-base:.0f} MiB (base {base:.0f})")
