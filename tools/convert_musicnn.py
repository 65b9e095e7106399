#!/usr/bin/env python3
"""Convert musicnn's MSD_musicnn TF1 checkpoint to safetensors and make golden outputs.

Development-only, run once. It needs TensorFlow, which is NOT a dependency of
emotrack; use a separate virtual environment::

    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install "tensorflow-cpu==2.15.*" librosa safetensors soundfile
    pip download --no-deps musicnn==0.1.0 -d /tmp/mn
    /tmp/tfvenv/bin/python tools/convert_musicnn.py /tmp/mn/musicnn-0.1.0-py3-none-any.whl

It writes

* ``assets/musicnn/msd_musicnn.safetensors``: the model weights only (no Adam
  slots, no ``beta1_power``/``beta2_power``), fp32, already in the tensor layout
  of :class:`emotrack.model.musicnn.MusicnnMSD`;
* ``assets/musicnn/README.md``: provenance (wheel sha256), the variable mapping
  and musicnn's ISC notice copied from the wheel;
* ``tests/data/musicnn_golden.npz``: outputs of the ORIGINAL TensorFlow graph
  (``musicnn/models.py`` from the wheel, TF1 compat mode) on the deterministic
  signal of ``tests/musicnn_signal.py``; the input patches are computed with the
  wheel's own ``extractor.batch_data``.

Only the public musicnn wheel (ISC licence) is used; no Essentia model files.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL_DIR = "MSD_musicnn"

# (torch parameter prefix, TF variable scope, kind). Order = TF creation order in
# musicnn/models.py::build_musicnn, which is what numbers the TF scopes.
LAYERS: list[tuple[str, str, str]] = [
    ("input_bn", "batch_normalization", "bn"),
    ("timbral_74.conv", "conv2d", "conv2d"),
    ("timbral_74.bn", "batch_normalization_1", "bn"),
    ("timbral_77.conv", "conv2d_1", "conv2d"),
    ("timbral_77.bn", "batch_normalization_2", "bn"),
    ("temporal_128.conv", "conv2d_2", "conv2d"),
    ("temporal_128.bn", "batch_normalization_3", "bn"),
    ("temporal_64.conv", "conv2d_3", "conv2d"),
    ("temporal_64.bn", "batch_normalization_4", "bn"),
    ("temporal_32.conv", "conv2d_4", "conv2d"),
    ("temporal_32.bn", "batch_normalization_5", "bn"),
    ("mid1.conv", "conv2d_5", "conv1d"),
    ("mid1.bn", "batch_normalization_6", "bn"),
    ("mid2.conv", "conv2d_6", "conv1d"),
    ("mid2.bn", "batch_normalization_7", "bn"),
    ("mid3.conv", "conv2d_7", "conv1d"),
    ("mid3.bn", "batch_normalization_8", "bn"),
    ("pool_bn", "batch_normalization_9", "bn"),
    ("dense", "dense", "linear"),
    ("dense_bn", "batch_normalization_10", "bn"),
    ("out", "dense_1", "linear"),
]
BN_MAP = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def sha256(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert(reader) -> tuple[dict[str, np.ndarray], list[tuple[str, str, str, str]]]:
    """Map TF checkpoint variables to torch-layout arrays.

    Returns the state dict and rows (torch name, TF name, TF shape, transform).
    """
    out: dict[str, np.ndarray] = {}
    rows = []
    used = set()

    def get(name: str) -> np.ndarray:
        used.add(name)
        return np.asarray(reader.get_tensor(name), dtype=np.float32)

    for prefix, scope, kind in LAYERS:
        if kind == "bn":
            for tname, tfname in BN_MAP.items():
                v = get(f"{scope}/{tfname}")
                out[f"{prefix}.{tname}"] = v
                rows.append((f"{prefix}.{tname}", f"{scope}/{tfname}", str(list(v.shape)), "as is"))
            continue
        k, b = get(f"{scope}/kernel"), get(f"{scope}/bias")
        if kind == "conv2d":  # TF HWIO [kt, kf, in, out] -> torch OIHW
            w, how = k.transpose(3, 2, 0, 1), "transpose(3, 2, 0, 1)"
        elif kind == "conv1d":  # TF [kt, C, 1, out] (conv over full width) -> torch [out, C, kt]
            w, how = k[:, :, 0, :].transpose(2, 1, 0), "[:, :, 0, :].transpose(2, 1, 0)"
        else:  # dense [in, out] -> Linear [out, in]
            w, how = k.T, "transpose"
        out[f"{prefix}.weight"] = np.ascontiguousarray(w)
        out[f"{prefix}.bias"] = b
        rows.append((f"{prefix}.weight", f"{scope}/kernel", str(list(k.shape)), how))
        rows.append((f"{prefix}.bias", f"{scope}/bias", str(list(b.shape)), "as is"))

    skipped = sorted(set(reader.get_variable_to_shape_map()) - used)
    bad = [s for s in skipped if not (s.endswith("/Adam") or s.endswith("/Adam_1") or s in ("beta1_power", "beta2_power"))]
    if bad:
        raise RuntimeError(f"unmapped non-optimizer variables: {bad}")
    return out, rows


def golden(pkg_root: Path, ckpt_dir: Path) -> dict[str, np.ndarray]:
    """Run the original musicnn TF graph on the deterministic test signal."""
    import librosa
    import soundfile as sf
    import tensorflow as tf

    sys.path.insert(0, str(pkg_root))
    sys.path.insert(0, str(REPO / "tests"))
    from musicnn import configuration as config  # noqa: E402  (from the wheel)
    from musicnn import extractor, models  # noqa: E402  (extractor disables eager mode)
    from musicnn_signal import musicnn_test_signal  # noqa: E402

    # musicnn 0.1.0 (2019) ran with librosa 0.7, whose stft padded with
    # pad_mode="reflect" when center=True; librosa >= 0.9 defaults to "constant".
    orig_mel = librosa.feature.melspectrogram
    librosa.feature.melspectrogram = functools.partial(orig_mel, pad_mode="reflect")

    y = musicnn_test_signal()
    n_frames = librosa.time_to_frames(3, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "signal.wav")
        sf.write(wav, y, config.SR, subtype="FLOAT")
        # Unmodified original front-end (float16 cast; numpy < 2 promotes
        # float16 * 10000 to float32 -- checked below -- so nothing overflows).
        assert (np.ones(1, np.float16) * 10000).dtype == np.float32, "needs numpy < 2 promotion"
        batch, _ = extractor.batch_data(wav, n_frames, n_frames)
        tags_orig, _, feats_orig = extractor.extractor(wav, model=MODEL_DIR, input_length=3, extract_features=True)
    librosa.feature.melspectrogram = orig_mel

    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, n_frames, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        logits, *_, mean_pool, max_pool, penultimate = models.define_model(
            x, is_training, MODEL_DIR, len(config.MSD_LABELS)
        )
        probs = tf.nn.sigmoid(logits)
    graph = tf.compat.v1.get_default_graph()
    dense_pre = graph.get_tensor_by_name("model/dense/BiasAdd:0")
    with tf.compat.v1.Session() as sess:
        tf.compat.v1.train.Saver().restore(sess, str(ckpt_dir) + "/")  # no bare except here
        p, pen, dp, mp, xp = sess.run(
            [probs, penultimate, dense_pre, mean_pool, max_pool],
            feed_dict={x: batch.astype(np.float32), is_training: False},
        )
    # Cross-check against the untouched extractor() end to end.
    np.testing.assert_allclose(p, tags_orig, atol=1e-6)
    # Only patch 0 of extractor()'s 'penultimate' is comparable: for later
    # patches extractor.py (0.1.0) unpacks into `backend_` but concatenates the
    # stale `penultimate_` of the first patch (same for cnn1/cnn2/cnn3).
    np.testing.assert_allclose(pen[:1], feats_orig["penultimate"][:1], atol=1e-5)
    np.testing.assert_allclose(feats_orig["penultimate"][1:], np.repeat(pen[:1], len(pen) - 1, 0), atol=1e-5)
    return {
        "logmel": batch.astype(np.float32),  # [n_patches, 187, 96] input patches
        "tags": p.astype(np.float32),  # [n_patches, 50] sigmoid probabilities
        "penultimate": pen.astype(np.float32),  # [n_patches, 200] BN(ReLU(dense)), extractor's 'penultimate'
        "dense": dp.astype(np.float32),  # [n_patches, 200] pre-ReLU dense output
        "mean_pool": mp.astype(np.float32),  # [n_patches, 753]
        "max_pool": xp.astype(np.float32),  # [n_patches, 753]
        "signal_head": y[:64].copy(),
        "signal_sum_abs": np.float64(np.abs(y.astype(np.float64)).sum()),
        "versions": np.array([f"tensorflow {tf.__version__}", f"numpy {np.__version__}", f"librosa {librosa.__version__}"]),
    }


README_HEAD = """# musicnn MSD weights (converted)

`msd_musicnn.safetensors` holds the weights of the **MSD_musicnn** model of
*musicnn* (J. Pons and X. Serra, "musicnn: pre-trained convolutional neural
networks for music audio tagging", ISMIR 2019 LBD), converted to the PyTorch
layout of `emotrack.model.musicnn.MusicnnMSD` by `tools/convert_musicnn.py`.

* Source: PyPI wheel `{wheel}`
  (sha256 `{wheel_sha}`), checkpoint directory `musicnn/{model_dir}/`.
* Converted file: sha256 `{st_sha}`, {n_params} parameters, fp32.
* Only model variables were kept; the Adam slots (`*/Adam`, `*/Adam_1`) and
  `beta1_power`/`beta2_power` were dropped.
* No Essentia model-zoo file was used.

## Variable mapping

TF kernels are HWIO (`[time, freq, in, out]`); dense kernels are `[in, out]`.
Batch-norm layers use TF's epsilon 1e-3.

| torch parameter | TF variable | TF shape | transform |
|---|---|---|---|
"""


README_NOTES = """
## Golden outputs and notes

`tests/data/musicnn_golden.npz` holds the original TF graph's outputs on the
deterministic signal of `tests/musicnn_signal.py` (10 s, 3 patches): input
patches (`logmel`), `tags`, `dense` (pre-ReLU, TF `model/dense/BiasAdd`),
`penultimate` (BN(ReLU(dense)), the extractor's 'penultimate'), `mean_pool`,
`max_pool`. Made with TensorFlow 2.15 / numpy 1.26 / librosa 0.11:

* Input patches come from the wheel's unmodified `extractor.batch_data`, with
  `pad_mode="reflect"` forced into `librosa.feature.melspectrogram` because
  musicnn 0.1.0 ran on librosa 0.7, whose centred STFT reflected; librosa
  >= 0.9 pads with zeros.
* `batch_data` rounds the mel energies to float16 and then computes
  `log10(10000 * x + 1)`. Under numpy < 2 the product is promoted to float32;
  under numpy >= 2 it stays float16 and overflows to `inf` for energies
  above 6.55. The port computes the product in float32 (and clips energies
  above float16's maximum instead of producing `inf`).
* Bug in musicnn 0.1.0's `extractor()`: from the second batch on it unpacks
  the features into `midend1_`... `backend_` but concatenates the stale
  `cnn1_`, `cnn2_`, `cnn3_`, `penultimate_` of the first batch, so those
  features repeat patch 0. Its tags and the pooled features are correct.
  The golden runs the graph itself and is not affected.
"""


def write_readme(path: Path, wheel: Path, wheel_sha: str, st_sha: str, n_params: int, rows, license_text: str) -> None:
    """Write assets/musicnn/README.md."""
    text = README_HEAD.format(wheel=wheel.name, wheel_sha=wheel_sha, model_dir=MODEL_DIR, st_sha=st_sha, n_params=n_params)
    text += "".join(f"| `{a}` | `{b}` | {c} | {d} |\n" for a, b, c, d in rows)
    text += README_NOTES
    text += "\n## Licence\n\nmusicnn is distributed under the ISC licence; its notice, copied verbatim from the\nwheel's `LICENSE.md`, follows.\n\n```\n"
    text += license_text.strip() + "\n```\n"
    path.write_text(text)


def main() -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("wheel", type=Path, help="musicnn-0.1.0-py3-none-any.whl")
    ap.add_argument("--no-golden", action="store_true", help="only convert the weights")
    args = ap.parse_args()

    import tensorflow as tf
    from safetensors.numpy import save_file

    wheel_sha = sha256(args.wheel)
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(args.wheel) as z:
            z.extractall(tmp)
        root = Path(tmp)
        ckpt = root / "musicnn" / MODEL_DIR
        lic = next(root.glob("musicnn-*.dist-info/LICENSE*")).read_text()
        reader = tf.compat.v1.train.NewCheckpointReader(str(ckpt) + "/")
        state, rows = convert(reader)

        out = REPO / "assets" / "musicnn" / "msd_musicnn.safetensors"
        out.parent.mkdir(parents=True, exist_ok=True)
        # One metadata key only: safetensors writes its metadata map in hash
        # order, so with several keys the bytes would change from run to run.
        save_file(state, str(out), metadata={"source": f"{args.wheel.name} sha256:{wheel_sha} {MODEL_DIR}"})
        n_params = int(sum(v.size for v in state.values()))
        write_readme(out.parent / "README.md", args.wheel, wheel_sha, sha256(out), n_params, rows, lic)
        print(f"wrote {out} ({out.stat().st_size} bytes, {n_params} params)")

        if not args.no_golden:
            g = golden(root, ckpt)
            gpath = REPO / "tests" / "data" / "musicnn_golden.npz"
            gpath.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(gpath, **g)
            print(f"wrote {gpath} ({gpath.stat().st_size} bytes); tags shape {g['tags'].shape}")


if __name__ == "__main__":
    main()
