"""PyTorch port of musicnn's ``MSD_musicnn`` tagger (Pons & Serra, 2019; ISC licence).

Re-implements ``build_musicnn`` of ``musicnn/models.py`` (musicnn 0.1.0) for
inference, with the weights converted from the wheel's TF checkpoint by
``tools/convert_musicnn.py`` (see ``assets/musicnn/README.md``).  Faithfulness
details that differ from PyTorch defaults:

* TF ``padding="same"`` with an even kernel pads asymmetrically, ``(k-1)//2``
  before and ``k//2`` after (:func:`tf_same_padding`);
* TF batch normalisation uses ``epsilon=1e-3`` (:data:`BN_EPS`);
* the back end flattens ``concat([max, mean], axis=2)`` of shape
  ``[batch, 753, 2]``, i.e. ``(max_0, mean_0, max_1, mean_1, ...)``
  (:func:`interleave_pools`).

Front end (:func:`musicnn_logmel`) as in musicnn's ``extractor.batch_data``:
16 kHz mono, ``librosa.feature.melspectrogram`` (Hann, n_fft 512, hop 256,
96 Slaney mel bands, power 2, ``center=True``; ``pad_mode="reflect"`` as in the
librosa 0.7 that musicnn 0.1.0 ran with), a float16 round trip of the mel
energies, then ``log10(1 + 10000 x)``.  Patches are 187 frames (3 s) with a hop
of 187 frames (musicnn's default, no overlap); a trailing partial patch is dropped.

For streaming, :data:`MUSICNN_SPEC` describes the same mel frames on the
project's ``center=False`` grid (:mod:`emotrack.model.features`): its frame
``j`` equals :func:`musicnn_logmel` frame ``j + 1`` up to the float16 round
trip (< 3e-4 after the log).

Embedding choice: :func:`embed` returns by default the 200-d *pre-ReLU* output
of the ``dense`` layer (TF tensor ``model/dense/BiasAdd``).  musicnn's own
``extractor`` calls ``BN(ReLU(dense))`` 'penultimate'; that one is available
with ``layer="penultimate"``.  ReLU zeroes about half of the pre-ReLU values
(52 % on the test signal) and BN is a per-unit affine map, so the pre-ReLU
vector carries strictly more information.
"""
from __future__ import annotations

import functools
from importlib.resources import files
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .errors import CheckpointError, ParameterError
from .features import FeatureSpec
from .validate import as_mono_float32

SAMPLE_RATE = 16000
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187
BN_EPS = 1e-3
WEIGHTS = "musicnn/msd_musicnn.safetensors"

MUSICNN_SPEC = FeatureSpec(
    name="musicnn-mel96", n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS,
    log="log10_1p", log_gain=10000.0, frame_length=0,
)
"""musicnn's mel frames on the project's ``center=False`` grid (no float16 round trip)."""

MSD_TAGS: tuple[str, ...] = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists",
    "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s",
    "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic",
    "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country",
    "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock",
    "60s", "rnb", "indie pop", "sad", "House", "happy",
)
"""The 50 output tags, in output order (``musicnn.configuration.MSD_LABELS``)."""


def tf_same_padding(kernel: int) -> tuple[int, int]:
    """(before, after) zero padding of TF ``padding="same"`` at stride 1."""
    return (kernel - 1) // 2, kernel // 2


def interleave_pools(max_pool: torch.Tensor, mean_pool: torch.Tensor) -> torch.Tensor:
    """Flatten ``[B, C]`` max and mean pools as TF flattens ``[B, C, 2]``: max_0, mean_0, ..."""
    return torch.stack((max_pool, mean_pool), dim=-1).flatten(1)


class _FreqPooledConv(nn.Module):
    """Front-end block: time-padded conv, ReLU, BN, max over the frequency axis.

    Computed as max first: ReLU and the eval-mode BN (``a * r + b`` per channel) are
    monotone, so ``max_f BN(ReLU(y_f)) = BN(ReLU(max_f y_f))`` where ``a >= 0``, and
    ``BN(ReLU(min_f y_f))`` where ``a < 0``.  The conv of a channel with ``a < 0`` runs
    with negated weights and bias (exactly ``-y``: negation commutes with rounding), so
    one max over frequency serves both.  ReLU and BN then touch ``[B, C, T]`` instead
    of the ``[B, C, T, F]`` map: the same result, a third of the front end's memory traffic.
    """

    def __init__(self, out_channels: int, kt: int, kf: int) -> None:
        super().__init__()
        self.pad = tf_same_padding(kt)
        self.conv = nn.Conv2d(1, out_channels, (kt, kf))
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, 1, T, F]`` -> ``[B, C, T]``."""
        return self.pooled(F.pad(x, (0, 0, *self.pad)))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The block on an input that is already padded: ``[B, 1, T + kt - 1, F]`` -> ``[B, C, T]``."""
        weight, bias, sign, a, b = self._folded()
        peak = F.conv2d(x, weight, bias).amax(dim=3)
        return torch.relu(peak * sign) * a + b

    def _folded(self) -> tuple[torch.Tensor, ...]:
        """Signed conv weight and bias, sign, BN scale and shift ``[C, 1]``; recomputed only
        when a parameter changes (a live frame calls the block ~15 times: the small tensor
        operations cost as much as the convolution of a patch edge)."""
        tensors = (self.conv.weight, self.conv.bias, self.bn.weight, self.bn.bias,
                   self.bn.running_mean, self.bn.running_var)
        key = tuple((t.data_ptr(), t._version, t.device) for t in tensors)
        cached = getattr(self, "_folded_cache", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                bn = self.bn
                a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                b = bn.bias - bn.running_mean * a
                sign = torch.where(a < 0, -1.0, 1.0).to(a.dtype)
                folded = (self.conv.weight * sign[:, None, None, None], self.conv.bias * sign,
                          sign[:, None], a[:, None], b[:, None])
            cached = (key, tuple(f.detach() for f in folded))
            self._folded_cache = cached
        return cached[1]


class _MidConv(nn.Module):
    """Mid-end block: conv over time (kernel 7, padded 3/3) on all channels, ReLU, BN."""

    def __init__(self, in_channels: int, out_channels: int = 64) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 7)
        self.bn = nn.BatchNorm1d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, C_in, T]`` -> ``[B, C_out, T]``."""
        return self.unpadded(F.pad(x, (3, 3)))

    def unpadded(self, x: torch.Tensor) -> torch.Tensor:
        """The block without padding: ``[B, C_in, T + 6]`` -> ``[B, C_out, T]`` (the causal stream's
        convolution over the positions ending at each output)."""
        return self.bn(F.relu(self.conv(x)))


class MusicnnOutput(NamedTuple):
    """Outputs of :class:`MusicnnMSD`; the first axis is the patch."""

    tags: torch.Tensor
    """``[B, 50]`` sigmoid tag probabilities."""
    logits: torch.Tensor
    """``[B, 50]`` pre-sigmoid scores."""
    dense: torch.Tensor
    """``[B, 200]`` pre-ReLU output of the 200-unit dense layer (``model/dense/BiasAdd``)."""
    penultimate: torch.Tensor
    """``[B, 200]`` BN(ReLU(dense)): what musicnn's ``extractor`` calls 'penultimate'."""
    mean_pool: torch.Tensor
    """``[B, 753]`` temporal mean of the front- and mid-end features."""
    max_pool: torch.Tensor
    """``[B, 753]`` temporal max of the front- and mid-end features."""


class MusicnnMSD(nn.Module):
    """musicnn's ``MSD_musicnn`` network (inference only: no dropout).

    Input: log-mel patches ``[B, T, 96]`` (T = 187 for the 3 s patches it was
    trained on; any T >= 1 works, as in the original).
    """

    def __init__(self, n_tags: int = 50) -> None:
        super().__init__()
        self.input_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        self.timbral_74 = _FreqPooledConv(204, 7, int(0.4 * N_MELS))
        self.timbral_77 = _FreqPooledConv(204, 7, int(0.7 * N_MELS))
        self.temporal_128 = _FreqPooledConv(51, 128, 1)
        self.temporal_64 = _FreqPooledConv(51, 64, 1)
        self.temporal_32 = _FreqPooledConv(51, 32, 1)
        self.mid1 = _MidConv(561)
        self.mid2 = _MidConv(64)
        self.mid3 = _MidConv(64)
        self.pool_bn = nn.BatchNorm1d(2 * 753, eps=BN_EPS)
        self.dense = nn.Linear(2 * 753, 200)
        self.dense_bn = nn.BatchNorm1d(200, eps=BN_EPS)
        self.out = nn.Linear(200, n_tags)

    def forward(self, x: torch.Tensor) -> MusicnnOutput:
        """Run the network on ``[B, T, 96]`` log-mel patches."""
        x = self.input_bn(x.unsqueeze(1))
        blocks = (self.timbral_74, self.timbral_77, self.temporal_128, self.temporal_64, self.temporal_32)
        front = torch.cat([b(x) for b in blocks], dim=1)  # [B, 561, T]
        m1 = self.mid1(front)
        m2 = self.mid2(m1) + m1
        m3 = self.mid3(m2) + m2
        feats = torch.cat((front, m1, m2, m3), dim=1)  # [B, 753, T]
        max_pool, mean_pool = feats.amax(dim=2), feats.mean(dim=2)
        dense = self.dense(self.pool_bn(interleave_pools(max_pool, mean_pool)))
        penultimate = self.dense_bn(F.relu(dense))
        logits = self.out(penultimate)
        return MusicnnOutput(torch.sigmoid(logits), logits, dense, penultimate, mean_pool, max_pool)


def load_musicnn(device: str | torch.device = "cpu") -> MusicnnMSD:
    """The MSD_musicnn network with the shipped weights, in eval mode on ``device``."""
    from safetensors.torch import load as st_load

    try:
        state = st_load(files("emotrack.assets").joinpath(WEIGHTS).read_bytes())
    except (FileNotFoundError, OSError) as exc:
        raise CheckpointError(f"musicnn weights emotrack.assets/{WEIGHTS} unreadable: {exc}; reinstall emotrack") from None
    return musicnn_from_state(state).to(device).eval()


def musicnn_from_state(state: dict[str, torch.Tensor]) -> MusicnnMSD:
    """A :class:`MusicnnMSD` holding exactly ``state`` (every parameter, nothing else), in eval mode.

    Raises
    ------
    CheckpointError
        A parameter is missing or one is left over.
    """
    model = MusicnnMSD()
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise CheckpointError(f"musicnn weights mismatch: missing {missing}, unexpected {result.unexpected_keys}")
    return model.eval()


def musicnn_logmel(audio_16k: np.ndarray, *, fp16_round_trip: bool = True) -> np.ndarray:
    """Log-mel spectrogram as musicnn's extractor computes it.

    Parameters
    ----------
    audio_16k : np.ndarray, shape=(n,) or (n, channels)
        Audio at 16 kHz (channels are averaged).
    fp16_round_trip : bool
        Round the mel energies to float16 as the original does (energies above
        float16's maximum are clipped to it instead of becoming ``inf``).

    Returns
    -------
    np.ndarray, shape=(1 + n // 256, 96), float32
    """
    import librosa  # lazy: numba start-up is slow

    y = as_mono_float32(audio_16k)
    if y.size == 0:
        return np.zeros((0, N_MELS), np.float32)
    mel = librosa.feature.melspectrogram(
        y=y, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS,
        center=True, pad_mode="reflect",
    ).T.astype(np.float32)
    if fp16_round_trip:
        mel = np.minimum(mel, np.finfo(np.float16).max).astype(np.float16).astype(np.float32)
    return np.log10(1.0 + 10000.0 * mel).astype(np.float32)


def musicnn_patches(logmel: np.ndarray, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Cut ``[T, 96]`` into ``[n, 187, 96]`` patches every ``hop`` frames (partial tail dropped)."""
    if hop <= 0:
        raise ParameterError(f"patch hop must be a positive number of frames, got {hop}")
    starts = range(0, logmel.shape[0] - PATCH_FRAMES + 1, hop)
    if not starts:
        return np.zeros((0, PATCH_FRAMES, logmel.shape[1]), np.float32)
    return np.stack([logmel[s:s + PATCH_FRAMES] for s in starts]).astype(np.float32, copy=False)


@functools.lru_cache(maxsize=4)
def _cached_model(device: str) -> MusicnnMSD:
    return load_musicnn(device)


@torch.inference_mode()
def embed(
    audio_16k: np.ndarray,
    *,
    model: MusicnnMSD | None = None,
    device: str = "cpu",
    layer: str = "dense",
    hop: int = PATCH_FRAMES,
    batch_size: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-patch embeddings and tag probabilities of 16 kHz audio.

    Parameters
    ----------
    audio_16k : np.ndarray
        Mono (or ``(n, channels)``) audio at 16 kHz.
    model : MusicnnMSD, optional
        Defaults to the shipped weights (loaded once per ``device``).
    device : str
        Torch device used when ``model`` is None.
    layer : {"dense", "penultimate"}
        ``"dense"``: pre-ReLU dense output; ``"penultimate"``: BN(ReLU(dense)),
        the extractor's 'penultimate' feature.
    hop : int
        Patch hop in frames (187 = musicnn's default, no overlap).
    batch_size : int
        Patches per forward pass.

    Returns
    -------
    embeddings : np.ndarray, shape=(n_patches, 200), float32
    tags : np.ndarray, shape=(n_patches, 50), float32
        Zero rows when the audio is shorter than one 3 s patch.
    """
    if layer not in ("dense", "penultimate"):
        raise ParameterError(f"layer must be 'dense' or 'penultimate', got {layer!r}")
    net = model if model is not None else _cached_model(str(device))
    patches = musicnn_patches(musicnn_logmel(audio_16k), hop)
    dev = next(net.parameters()).device
    embs, tags = [np.zeros((0, 200), np.float32)], [np.zeros((0, len(MSD_TAGS)), np.float32)]
    for i in range(0, len(patches), batch_size):
        out = net(torch.from_numpy(patches[i:i + batch_size]).to(dev))
        embs.append(getattr(out, layer).float().cpu().numpy())
        tags.append(out.tags.float().cpu().numpy())
    return np.concatenate(embs), np.concatenate(tags)
