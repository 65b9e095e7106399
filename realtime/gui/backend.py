"""What the desktop app needs from the rest of emotrack, behind one small seam.

:class:`RealBackend` lists audio sources (:mod:`emotrack.realtime.devices`), loads
a tracker (:func:`emotrack.model.trackers.load_tracker`) and builds a source plus an
:class:`~emotrack.realtime.engine.Engine` for a :class:`SourceChoice`.  Tests
give the window a fake backend with the same three methods.  No Qt here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...model.errors import DeviceError, EmotrackError

#: Source kinds, in the order the source menu lists them.
KINDS = ("mic", "system", "file")


@dataclass(frozen=True)
class SourceChoice:
    """One entry of the source menu.

    ``device`` is a microphone's PortAudio name (None = the default input), a
    monitor source's PulseAudio name, or a file path, depending on ``kind``.
    """

    kind: str
    device: str | None
    label: str

    def key(self) -> str:
        """A string that identifies the choice across runs (stored in QSettings)."""
        return f"{self.kind}:{self.device or ''}"

    @classmethod
    def from_key(cls, key: str) -> "SourceChoice | None":
        """Inverse of :meth:`key` (label made up from the device); None if malformed."""
        kind, sep, device = (key or "").partition(":")
        if not sep or kind not in KINDS:
            return None
        device = device or None
        if kind == "file":
            if device is None:
                return None
            return cls("file", device, os.path.basename(device))
        if kind == "mic":
            return cls("mic", device, device or "Default microphone")
        return cls("system", device, device or "System audio")


@dataclass
class SourceListing:
    """Sources found on this machine and why others could not be listed."""

    mics: list[SourceChoice] = field(default_factory=list)
    monitors: list[SourceChoice] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def live(self) -> list[SourceChoice]:
        return [*self.mics, *self.monitors]


def input_choice(name: str, listing: SourceListing) -> SourceChoice:
    """The live source ``emotrack gui --input NAME`` asks for.

    A listed monitor or microphone of that exact name, else a monitor for a name
    ending in ``.monitor``, else a microphone (a PortAudio index, a unique part of
    an input's name, or a PulseAudio/PipeWire source name); opening it reports a
    name that matches nothing.
    """
    for choice in listing.live:
        if choice.device == name:
            return choice
    if name.endswith(".monitor"):
        return SourceChoice("system", name, f"System audio: {name}")
    return SourceChoice("mic", name, f"input {name}")


class Backend(Protocol):
    """The three things the window asks of emotrack."""

    def list_sources(self) -> SourceListing: ...

    def load_tracker(self, model: str | None = None, checkpoint: str | None = None) -> Any:
        """A tracker (``model``/``checkpoint`` as :func:`~emotrack.model.trackers.load_tracker`;
        None: the configured default); raises an EmotrackError if none can be loaded."""

    def open(self, choice: SourceChoice, tracker: Any) -> tuple[Any, Any]:
        """``(source, engine)`` for ``choice``, not yet started; raises EmotrackError."""


@dataclass
class BackendConfig:
    """Options of the real backend (from the ``emotrack gui`` command line)."""

    model: str | None = None  #: tracker name (None = the default, musicnn, or the checkpoint's)
    checkpoint: str | None = None  #: a checkpoint or musicnn head file (None = the shipped weights)
    device: str = "auto"  #: torch device for the model
    playback: bool = True  #: play files through the output device while analysing
    realtime: bool = True  #: pace files at playback speed (False: as fast as possible)
    output: str | None = None  #: playback device (PortAudio index or name part); None = default


class RealBackend:
    """The backend of the installed app: real devices, checkpoint and engine."""

    def __init__(self, config: BackendConfig | None = None) -> None:
        self.config = config or BackendConfig()

    def list_sources(self) -> SourceListing:
        from ..devices import list_input_devices, list_monitor_sources

        listing = SourceListing()
        try:
            devices = list_input_devices()
        except DeviceError as exc:
            listing.problems.append(f"microphones: {exc}")
        else:
            if devices:
                listing.mics.append(SourceChoice("mic", None, "Default microphone"))
            for d in devices:
                listing.mics.append(SourceChoice("mic", d.name, f"{d.name} ({d.host_api})"))
        try:
            monitors = list_monitor_sources()
        except DeviceError as exc:
            listing.problems.append(f"system audio: {exc}")
        else:
            for m in monitors:
                listing.monitors.append(SourceChoice("system", m.name, f"System audio: {m.description}"))
        return listing

    def load_tracker(self, model: str | None = None, checkpoint: str | None = None) -> Any:
        from ...model.trackers import load_tracker

        if model is None and checkpoint is None:
            model, checkpoint = self.config.model, self.config.checkpoint
        tracker = load_tracker(model, checkpoint, device=self.config.device)
        if str(tracker.device) == "cpu":
            import torch

            torch.set_num_threads(1)  # one frame per 500 ms: a thread pool only adds wake-ups
        return tracker

    def open(self, choice: SourceChoice, tracker: Any) -> tuple[Any, Any]:
        from ..devices import parse_device
        from ..engine import Engine
        from ..sources import FileSource, MicSource, SystemAudioSource

        if choice.kind == "mic":
            source = MicSource(device=choice.device)
        elif choice.kind == "system":
            source = SystemAudioSource(monitor=choice.device)
        elif choice.kind == "file":
            if not choice.device or not os.path.isfile(choice.device):
                raise EmotrackError(f"file {choice.device!r} does not exist")
            # Without an audio output the file is still analysed in sync, silently: the
            # session reports source.playback_problem in the window's banner.
            source = FileSource(choice.device, playback=self.config.playback,
                                realtime=self.config.realtime,
                                device=parse_device(self.config.output), silent_fallback=True)
        else:
            raise EmotrackError(f"unknown source kind {choice.kind!r}")
        return source, Engine(source, tracker)
