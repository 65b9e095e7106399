"""Audio devices: PortAudio inputs and outputs, PulseAudio/PipeWire monitor sources.

``emotrack devices`` prints the three lists.  PortAudio on Linux usually sees only the
``pulse`` and ``default`` ALSA plugins, not the individual server sources, so
"system audio" is chosen by opening ``pulse`` with ``PULSE_SOURCE`` naming a
monitor source (see :func:`list_monitor_sources`).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass

from ..model.errors import DeviceError


@dataclass(frozen=True)
class PortAudioDevice:
    """A PortAudio device that can record (:func:`list_input_devices`) or play
    (:func:`list_output_devices`); ``channels`` counts its channels in that direction."""

    index: int
    name: str
    host_api: str
    channels: int
    default_samplerate: float
    is_default: bool


@dataclass(frozen=True)
class MonitorSource:
    """A PulseAudio/PipeWire source that carries what a sink plays ("system audio")."""

    name: str
    description: str
    sample_spec: str


def import_sounddevice():
    """Import sounddevice, turning a missing PortAudio library into a :class:`DeviceError`."""
    try:
        import sounddevice
    except OSError as exc:  # raised when libportaudio cannot be loaded
        raise DeviceError(
            f"PortAudio is not available ({exc}). Install it: "
            "'sudo apt-get install libportaudio2' (Debian/Ubuntu), "
            "'brew install portaudio' (macOS); on Windows reinstall the sounddevice wheel"
        ) from None
    return sounddevice


def parse_device(text: str | None) -> int | str | None:
    """A PortAudio device as a user wrote it: an index (``"3"`` -> 3), a name (part), or None.

    Checked by :func:`~emotrack.model.validate.valid_audio_device` (ParameterError for a
    negative, huge or non-ASCII index, empty or overlong text).
    """
    from ..model.validate import valid_audio_device

    return valid_audio_device(text)


def list_input_devices() -> list[PortAudioDevice]:
    """All PortAudio devices that can record, in PortAudio's order."""
    return _list_devices("input")


def list_output_devices() -> list[PortAudioDevice]:
    """All PortAudio devices that can play (``--output``), in PortAudio's order."""
    return _list_devices("output")


def _list_devices(kind: str) -> list[PortAudioDevice]:
    sd = import_sounddevice()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default = sd.default.device[0 if kind == "input" else 1]
    except sd.PortAudioError as exc:
        raise DeviceError(f"PortAudio could not list devices: {exc}") from None
    out = []
    for index, dev in enumerate(devices):
        channels = int(dev[f"max_{kind}_channels"])
        if channels <= 0:
            continue
        out.append(
            PortAudioDevice(
                index=index,
                name=dev["name"],
                host_api=apis[dev["hostapi"]]["name"],
                channels=channels,
                default_samplerate=float(dev["default_samplerate"]),
                is_default=index == default,
            )
        )
    return out


def list_monitor_sources(*, timeout: float = 5.0) -> list[MonitorSource]:
    """Monitor sources of the running PulseAudio or PipeWire (pipewire-pulse) server.

    Raises
    ------
    DeviceError
        ``pactl`` is not installed or no server answers.
    """
    if not sys.platform.startswith("linux"):
        raise DeviceError(
            "monitor sources are a Linux PulseAudio/PipeWire feature; "
            "on Windows use WASAPI loopback, on macOS a virtual device such as BlackHole"
        )
    pactl = shutil.which("pactl")
    if pactl is None:
        raise DeviceError(
            "'pactl' was not found, so system-audio sources cannot be listed; "
            "install it with 'sudo apt-get install pulseaudio-utils'"
        )
    try:
        proc = subprocess.run(
            [pactl, "list", "short", "sources"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        raise DeviceError("the audio server did not answer 'pactl list' within "
                          f"{timeout:g} s") from None
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no reason given"
        raise DeviceError(f"no PulseAudio/PipeWire server answered ({reason}); "
                          "start one or use a microphone instead")
    sources = []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4 and parts[1].endswith(".monitor"):
            sources.append(MonitorSource(name=parts[1], description=parts[1][: -len(".monitor")],
                                         sample_spec=parts[3]))
    return sources
