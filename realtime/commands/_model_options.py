"""``--model`` and ``--checkpoint``: the options that choose a tracker, shared by every command."""
from __future__ import annotations

import argparse

from ...model.trackers import DEFAULT_TRACKER, TRACKERS
from ._options import path_arg

MODEL_HELP = (
    "which tracker: musicnn (default; musicnn run causally over the stream, its last 3 s pooled "
    "per 500 ms frame; in the source tree, --checkpoint assets/teacher/musicnn_va_head_aligned.safetensors "
    "runs it with its layers aligned in time (better valence, same CPU, 1.2 s more delay) and "
    "assets/teacher/musicnn_va_head_patch.safetensors exactly on each frame's 3 s patch at twice the CPU; "
    "the model that knows music: see assets/MODEL_CARD.md); research models, trained on 650 "
    "labelled tracks (Emotify, 4Q, 8 emoMusic clips), weaker than musicnn and with no useful "
    "valence, their cross-validated figures in assets/MODEL_CARD.md: rnn, cae (the poster's "
    "network), baseline")


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Add ``--model NAME`` and ``--checkpoint FILE`` to a subcommand."""
    p.add_argument("--model", choices=TRACKERS, default=None, help=MODEL_HELP)
    p.add_argument("--checkpoint", metavar="FILE", default=None, type=path_arg,
                   help="a model file: a checkpoint written by 'emotrack train' (rnn/cae/baseline) "
                   "or a musicnn head; it says which tracker it belongs to (default: the shipped "
                   f"weights of --model, else of {DEFAULT_TRACKER})")


def load_tracker_from_args(args: argparse.Namespace):
    """The tracker ``--model``/``--checkpoint``/``--device`` ask for (one-line errors)."""
    from ...model.trackers import load_tracker
    from .audio_options import torch_device

    device = torch_device(getattr(args, "device", None) or "auto")
    return load_tracker(args.model, args.checkpoint, device=device)
