"""Audio sources of the real-time engine: microphone, system audio, file player.

A source writes audio frames ``(n, channels)`` at its own :attr:`Source.sample_rate`
into the engine's :class:`~emotrack.realtime.ringbuffer.RingBuffer` from its own
thread (the PortAudio callback, or a pacing thread for files without playback).
The callbacks here only copy blocks and record status flags; they never block,
log or raise.  Everything that can go wrong later (the device disappears, the
audio server dies, a file stops decoding) is reported by :meth:`Source.failure`,
which the engine's feature thread polls.

Life cycle: ``open()`` (resolve the device or file, learn rate and channels;
raises :class:`DeviceError`/:class:`AudioFileError`), ``start(ring)``,
``stop()`` (idempotent; closes streams and joins helper threads).
"""
from __future__ import annotations

import collections
import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from ..model.errors import AudioFileError, DeviceError, ParameterError
from ..model.validate import (
    check_audio_header,
    check_input_file,
    decoder_message,
    find_sample_fault,
    valid_audio_device,
)
from .devices import import_sounddevice, list_monitor_sources
from .ringbuffer import RingBuffer

#: Channels captured at most from a device (PulseAudio's "pulse" device offers 32).
MAX_CAPTURE_CHANNELS = 2


class Source:
    """Base class: something that fills a :class:`RingBuffer` with audio.

    Attributes set by :meth:`open`: ``sample_rate`` (Hz), ``channels``,
    ``description`` (human-readable, e.g. ``"microphone 'USB Audio' (48000 Hz, 2 ch)"``).
    """

    kind = "source"
    #: Seconds without a callback after which a live stream counts as lost.
    stall_timeout_s = 3.0

    def __init__(self) -> None:
        self.sample_rate = 0
        self.channels = 0
        self.description = self.kind
        self.callback_overruns = 0
        """Callbacks whose status flags reported an input overflow / output underflow."""
        self.status_events = 0
        """Callbacks with any status flag set."""
        self.marks: collections.deque = collections.deque()
        """Discontinuities ``(ring_position, time_s)``: audio at ring frame ``ring_position``
        onwards starts at source time ``time_s`` (a seek).  Appended by the producer,
        popped by the engine."""
        self._ring: RingBuffer | None = None
        self._failure: str | None = None
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._started = False
        self.last_callback_time = 0.0

    # --- life cycle ------------------------------------------------------
    def open(self) -> None:
        """Resolve the device or file; sets ``sample_rate``, ``channels``, ``description``."""
        raise NotImplementedError

    def start(self, ring: RingBuffer) -> None:
        """Begin writing audio into ``ring``."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop and close everything this source opened (safe to call twice, from any thread)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self._close()

    def _close(self) -> None:
        raise NotImplementedError

    # --- state polled by the engine -------------------------------------
    @property
    def exhausted(self) -> bool:
        """True when no more audio will ever come (end of a file).  Live sources: False."""
        return False

    @property
    def realtime(self) -> bool:
        """Whether audio arrives paced by a clock (False only for ``--fast`` files)."""
        return True

    def failure(self) -> str | None:
        """A readable message when the source broke (device lost, server gone, decode error)."""
        if self._failure is not None:
            return self._failure
        if (self._started and not self._stopped and self.stall_timeout_s
                and self.last_callback_time
                and time.monotonic() - self.last_callback_time > self.stall_timeout_s):
            return (f"no audio arrived from {self.description} for "
                    f"{self.stall_timeout_s:g} s (device unplugged or audio server stalled?)")
        return None


# --- PortAudio capture (microphone and system audio) ------------------------
@contextlib.contextmanager
def _environment(**values: str | None):
    """Temporarily set environment variables (PULSE_SOURCE/PULSE_SINK) around a stream open."""
    old = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            if v is not None:
                os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if values[k] is None:
                continue
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _portaudio_names(sd, kind: str) -> list[str]:
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    try:
        return [f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices()) if d[key] > 0]
    except sd.PortAudioError:
        return []


def _pulse_source_names() -> list[str]:
    """Names of all PulseAudio/PipeWire sources (empty when no server or no pactl)."""
    pactl = shutil.which("pactl")
    if pactl is None or not sys.platform.startswith("linux"):
        return []
    try:
        proc = subprocess.run([pactl, "list", "short", "sources"], capture_output=True,
                              text=True, timeout=5, check=False)
    except (subprocess.TimeoutExpired, OSError):
        return []
    return [line.split("\t")[1] for line in proc.stdout.splitlines()
            if len(line.split("\t")) > 1] if proc.returncode == 0 else []


def _pulse_portaudio_device(sd) -> int:
    """Index of PortAudio's ``pulse`` device (the ALSA PulseAudio plugin)."""
    try:
        for i, d in enumerate(sd.query_devices()):
            if d["name"] == "pulse" and d["max_input_channels"] > 0:
                return i
    except sd.PortAudioError:
        pass
    raise DeviceError(
        "PortAudio has no 'pulse' device, so PulseAudio/PipeWire sources cannot be opened; "
        "make sure the audio server runs and install the ALSA plugin "
        "('sudo apt-get install libasound2-plugins' or 'pipewire-alsa')")


def _parse_sample_spec(spec: str) -> tuple[int, int]:
    """``"s16le 2ch 44100Hz"`` -> (44100, 2); (0, 0) when unreadable."""
    rate = channels = 0
    for part in spec.split():
        if part.endswith("Hz") and part[:-2].isdigit():
            rate = int(part[:-2])
        elif part.endswith("ch") and part[:-2].isdigit():
            channels = int(part[:-2])
    return rate, channels


class _CaptureSource(Source):
    """A PortAudio input stream writing into the ring buffer.

    The stream delivers fixed blocks of :attr:`block_s` seconds.  PortAudio's
    ``latency="low"`` alone let the PulseAudio device call back ~430 times a second
    with ~90 frames each, which cost 6 % of a core in callbacks alone; 20 ms blocks
    cost 1.5 % (measured here through a PulseAudio monitor at 44.1 kHz stereo).  A
    result is due every 500 ms, so 20 ms more capture latency is invisible on the plane.
    """

    block_s = 0.02
    """Seconds of audio per capture callback."""

    def __init__(self) -> None:
        super().__init__()
        self._device: int | str | None = None
        self._pulse_source: str | None = None
        self._stream = None

    def start(self, ring: RingBuffer) -> None:
        sd = import_sounddevice()
        self._ring = ring
        try:
            with _environment(PULSE_SOURCE=self._pulse_source):
                self._stream = sd.InputStream(
                    device=self._device, samplerate=self.sample_rate, channels=self.channels,
                    dtype="float32", latency="low", callback=self._callback,
                    blocksize=max(1, int(round(self.block_s * self.sample_rate))),
                    finished_callback=self._on_finished)
                self._started = True
                self.last_callback_time = time.monotonic()
                self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.stop()
            raise DeviceError(f"could not open {self.description}: {exc}") from None

    def _callback(self, indata, frames, time_info, status) -> None:
        # Audio thread: copy and count, nothing else.
        now = time.monotonic()
        if status:
            self.status_events += 1
            if status.input_overflow:
                self.callback_overruns += 1
        self.last_callback_time = now
        self._ring.write(indata, now)

    def _on_finished(self) -> None:
        if not self._stopped and self._failure is None:
            self._failure = (f"the audio stream from {self.description} ended unexpectedly "
                             "(device unplugged or audio server stopped)")

    def _close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.abort()
            with contextlib.suppress(Exception):
                stream.close()


class MicSource(_CaptureSource):
    """A microphone or any other PortAudio input.

    Parameters
    ----------
    device : int, str or None
        PortAudio index, a unique part of a device name (see ``emotrack devices``),
        or on Linux the name of a PulseAudio/PipeWire source (opened through the
        ``pulse`` device with ``PULSE_SOURCE``).  None: the default input.

    The sample rate and channel count (at most 2) come from the device; the
    engine resamples to the model rate on the way.
    """

    kind = "microphone"

    def __init__(self, device: int | str | None = None) -> None:
        super().__init__()
        self.requested = valid_audio_device(device, name="input device")

    def open(self) -> None:
        sd = import_sounddevice()
        device = self.requested  # an index (int) or a name, see valid_audio_device
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            if isinstance(device, str) and device in _pulse_source_names():
                self._open_pulse_source(sd, device)
                return
            choices = "; ".join(_portaudio_names(sd, "input")) or "none found"
            what = "the default input" if device is None else f"input device {device!r}"
            raise DeviceError(f"{what} is not available ({exc}). Inputs: {choices}. "
                              "List them with 'emotrack devices'") from None
        self._device = info["index"] if "index" in info else device
        self.sample_rate = int(info["default_samplerate"])
        self.channels = max(1, min(int(info["max_input_channels"]), MAX_CAPTURE_CHANNELS))
        self.description = (f"microphone '{info['name']}' ({self.sample_rate} Hz, "
                            f"{self.channels} ch)")

    def _open_pulse_source(self, sd, name: str) -> None:
        rate, channels = 0, 0
        self._device = _pulse_portaudio_device(sd)
        self._pulse_source = name
        info = sd.query_devices(self._device)
        self.sample_rate = rate or int(info["default_samplerate"])
        self.channels = max(1, min(channels or MAX_CAPTURE_CHANNELS, MAX_CAPTURE_CHANNELS))
        self.description = f"audio source '{name}' ({self.sample_rate} Hz, {self.channels} ch)"


class SystemAudioSource(_CaptureSource):
    """What the computer plays ("system audio").

    Linux: a PulseAudio/PipeWire monitor source (``monitor`` = its name, e.g.
    ``alsa_output.pci-0000_00_1f.3.analog-stereo.monitor``; None = the default
    sink's monitor).  Windows: a WASAPI loopback input, where the installed
    PortAudio offers one.  macOS: a virtual loopback device such as BlackHole.
    Anything else raises :class:`DeviceError` saying what to install or choose.
    """

    kind = "system audio"

    def __init__(self, monitor: str | None = None) -> None:
        super().__init__()
        self.requested = monitor

    def open(self) -> None:
        sd = import_sounddevice()
        if sys.platform.startswith("linux"):
            self._open_linux(sd)
        elif sys.platform == "win32":
            self._open_named_input(sd, ("loopback",), host_api="wasapi", advice=(
                "the installed PortAudio offers no WASAPI loopback input (that needs a "
                "PortAudio build newer than 19.7). Enable 'Stereo Mix' under Sound settings > "
                "Recording, or install a virtual cable such as VB-CABLE, and choose it with "
                "'--source mic --input NAME'"))
        elif sys.platform == "darwin":
            self._open_named_input(sd, ("blackhole", "soundflower", "loopback"), advice=(
                "macOS cannot record what it plays without a virtual audio device: install "
                "BlackHole ('brew install blackhole-2ch'), create a Multi-Output Device with it "
                "in Audio MIDI Setup, play through that, then run with '--source system'"))
        else:
            raise DeviceError(f"system audio capture is not supported on {sys.platform}; "
                              "use '--source mic' with a loopback input device")

    def _open_linux(self, sd) -> None:
        monitors = list_monitor_sources()  # DeviceError when no server answers
        names = [m.name for m in monitors]
        name = self.requested
        if name is None:
            name = _default_monitor(names)
            if name is None:
                raise DeviceError("the audio server has no monitor source to capture system "
                                  "audio from; add an output device or a null sink")
        elif name not in names:
            matches = [n for n in names if name in n]
            if len(matches) != 1:
                raise DeviceError(
                    f"monitor source {name!r} not found"
                    f"{' (ambiguous)' if matches else ''}; available: "
                    f"{', '.join(names) or 'none'} (see 'emotrack devices')")
            name = matches[0]
        rate, channels = _parse_sample_spec(
            next(m.sample_spec for m in monitors if m.name == name))
        self._device = _pulse_portaudio_device(sd)
        self._pulse_source = name
        info = sd.query_devices(self._device)
        self.sample_rate = rate or int(info["default_samplerate"])
        self.channels = max(1, min(channels or MAX_CAPTURE_CHANNELS, MAX_CAPTURE_CHANNELS))
        self.description = (f"system audio '{name}' ({self.sample_rate} Hz, "
                            f"{self.channels} ch)")

    def _open_named_input(self, sd, keywords: tuple[str, ...], *, advice: str,
                          host_api: str | None = None) -> None:
        apis = sd.query_hostapis()
        candidates = []
        for i, d in enumerate(sd.query_devices()):
            name = d["name"].lower()
            if d["max_input_channels"] <= 0 or not any(k in name for k in keywords):
                continue
            if host_api and host_api not in apis[d["hostapi"]]["name"].lower():
                continue
            if self.requested and self.requested.lower() not in name:
                continue
            candidates.append((i, d))
        if not candidates:
            raise DeviceError(advice)
        index, info = candidates[0]
        self._device = index
        self.sample_rate = int(info["default_samplerate"])
        self.channels = max(1, min(int(info["max_input_channels"]), MAX_CAPTURE_CHANNELS))
        self.description = f"system audio '{info['name']}' ({self.sample_rate} Hz)"


def _default_monitor(names: list[str]) -> str | None:
    """The default sink's monitor, else the first monitor."""
    pactl = shutil.which("pactl")
    if pactl:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            proc = subprocess.run([pactl, "get-default-sink"], capture_output=True, text=True,
                                  timeout=5, check=False)
            candidate = proc.stdout.strip() + ".monitor"
            if proc.returncode == 0 and candidate in names:
                return candidate
    return names[0] if names else None


# --- file player ------------------------------------------------------------
class FileSource(Source):
    """Plays a file and analyses exactly the samples it plays.

    A decoder thread reads the file with soundfile in blocks (never the whole
    file) into a short queue.  The *pump* (the output stream's callback, or a
    pacing thread with ``playback=False``) takes the next samples from that
    queue, writes them to the output buffer and the same samples into the
    analysis ring buffer, so the plot follows what is heard.

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads (WAV, FLAC, OGG, MP3 with libsndfile >= 1.1).
    playback : bool
        Play through the output device (``device``).  False: no output device is
        touched (``--no-playback``).
    realtime : bool
        With ``playback=False``: pace the analysis at real time (True) or run
        as fast as the engine consumes (False, ``--fast``).  Ignored when playing.
    device : int, str or None
        Output device for playback (None: default output).
    silent_fallback : bool
        When the output cannot be opened (no sound card, no audio server, an unknown
        ``device``), analyse at real-time pace without sound, as ``playback=False``
        does, and say why in :attr:`playback_problem`, instead of raising
        :class:`DeviceError` from :meth:`start`.
    """

    kind = "file"
    block_frames = 4096
    queue_blocks = 16
    #: The pump wakes the decoder when the queue has fallen to this many blocks; the decoder
    #: then fills it up in one go.  Waking it for every block taken (10 times a second)
    #: cost 0.4 % of a core in wake-ups alone, three times its decoding (issue 21).
    refill_blocks = 8
    pump_block_s = 0.02
    #: Output buffer of the player in seconds: large enough never to underrun on a busy
    #: machine; the analysis leads what is heard by about this much (under a 500 ms frame).
    output_latency_s = 0.15

    def __init__(self, path: str | Path, *, playback: bool = True, realtime: bool = True,
                 device: int | str | None = None, silent_fallback: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.playback = bool(playback)
        self._realtime = bool(realtime) or self.playback
        self.device = valid_audio_device(device, name="output device")
        self.silent_fallback = bool(silent_fallback)
        self.playback_problem: str | None = None
        """Why playback was asked for but no sound plays (``silent_fallback``); None otherwise."""
        self._file = None
        self._queue: collections.deque = collections.deque()
        self._generation = 0
        self._seek_to: float | None = None
        self._decoder_done = False
        self._paused = False
        self._cur: np.ndarray | None = None
        self._cur_gen = -1
        self._cur_pos = 0
        self._cur_start = 0
        self._playing_gen = -1
        self._position_frames = 0
        self._emptied = False
        self._decode_failure: str | None = None  # set by the decoder, reported after the drain
        from ..model.audio_io import decoder_name
        from ..model.decoder_chatter import DecoderChatter

        self.chatter = DecoderChatter(decoder_name(self.path))
        """What the decoder printed (kept off the terminal); ``chatter.note()`` is one sentence."""
        self.playback_underruns = 0
        """Pump calls that found no decoded audio ready before the end of the file."""
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stream = None
        self._quit = threading.Event()

    # --- open / start / stop --------------------------------------------
    def open(self) -> None:
        import soundfile as sf

        check_input_file(self.path)
        try:
            with self.chatter.capture():
                self._file = sf.SoundFile(os.fsencode(self.path))  # bytes: any file name
        except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
            raise AudioFileError(f"cannot decode '{self.path}': {decoder_message(exc)}; "
                                 "convert it to WAV, FLAC, OGG or MP3") from None
        try:
            header = check_audio_header(self.path, sample_rate=self._file.samplerate,
                                        channels=self._file.channels, frames=self._file.frames)
        except AudioFileError:
            self._file.close()
            self._file = None
            raise
        if header.frames == 0:
            self._file.close()
            self._file = None
            raise AudioFileError(f"'{self.path}' contains no audio")
        self.sample_rate = header.sample_rate
        self.channels = header.channels
        self._describe()

    def _describe(self) -> None:
        mode = ("playing" if self.playback else
                "no sound: no audio output, real-time pace" if self.playback_problem else
                "not playing, real-time pace" if self._realtime else "not playing, fast")
        self.description = (f"file '{self.path.name}' ({self.sample_rate} Hz, "
                            f"{self.channels} ch, {mode})")

    @property
    def duration_s(self) -> float:
        """Length of the file in seconds."""
        return self._file.frames / self.sample_rate if self._file is not None else 0.0

    @property
    def position_s(self) -> float:
        """Position of the last sample handed to playback/analysis, in seconds."""
        return self._position_frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def realtime(self) -> bool:
        return self._realtime

    def start(self, ring: RingBuffer) -> None:
        if self._file is None:
            self.open()
        self._ring = ring
        self.marks.append((0, 0.0))
        self._threads.append(threading.Thread(target=self._decode_loop,
                                              name="emotrack-decoder", daemon=True))
        self._threads[0].start()
        self._started = True
        self.last_callback_time = time.monotonic()
        deadline = time.monotonic() + 1.0  # let the decoder get ahead before audio starts
        while (len(self._queue) < 2 and not self._decoder_done and self._failure is None
               and time.monotonic() < deadline):
            time.sleep(0.002)
        if self.playback:
            problem = self._open_output()
            if problem is not None and not self.silent_fallback:
                self.stop()
                raise DeviceError(f"{problem}; choose another with --output NAME|INDEX "
                                  "(see 'emotrack devices') or use --no-playback")
            if problem is not None:  # analyse what would have been played, at its pace
                self.playback, self._realtime, self.playback_problem = False, True, problem
                self._describe()
        if not self.playback:
            pump = threading.Thread(target=self._pump_loop, name="emotrack-pump", daemon=True)
            self._threads.append(pump)
            pump.start()

    def _open_output(self) -> str | None:
        """Open and start the output stream; None, or why it cannot be opened."""
        which = "the default audio output" if self.device is None else f"audio output {self.device!r}"
        try:
            sd = import_sounddevice()
        except DeviceError as exc:
            return f"could not open {which} for playback: {exc}"
        stream = None
        try:
            stream = sd.OutputStream(
                device=self.device, samplerate=self.sample_rate, channels=self.channels,
                dtype="float32", latency=self.output_latency_s, callback=self._callback,
                finished_callback=self._on_finished)
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
            reason = " ".join(str(exc).split())  # PortAudio's host errors span lines
            if not _portaudio_names(sd, "output"):
                reason = "no audio output device found: no sound card and no audio server"
            return f"could not open {which} for playback ({reason})"
        self._stream = stream
        return None

    def _close(self) -> None:
        self._quit.set()
        self._wake.set()
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                if self._emptied:
                    # End of file: let the buffered tail play out (the callback now outputs
                    # silence).  Pa_StopStream alone drops it with ALSA's pulse plugin.
                    time.sleep(min(float(stream.latency), 0.5) + 0.05)
                    stream.stop()
                else:
                    stream.abort()
            with contextlib.suppress(Exception):
                stream.close()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(1.0)
        if self._file is not None:
            with contextlib.suppress(Exception):
                self._file.close()

    # --- controls ---------------------------------------------------------
    def pause(self) -> None:
        """Stop playback and analysis where they are (time does not advance)."""
        self._paused = True

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        self._paused = False

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds``; the analysis restarts there (warm-up again).

        Raises
        ------
        ParameterError
            ``seconds`` is outside ``[0, duration_s]``.
        """
        s = float(seconds)
        if not 0.0 <= s <= self.duration_s:
            raise ParameterError(f"seek position must be within 0..{self.duration_s:.1f} s, "
                                 f"got {seconds!r}")
        self._seek_to = s
        self._position_frames = int(round(s * self.sample_rate))
        self._wake.set()

    # --- state -------------------------------------------------------------
    @property
    def exhausted(self) -> bool:
        # A pending decode failure is reported through failure(), never as a clean end.
        return self._emptied and self._decode_failure is None

    def _on_finished(self) -> None:
        # self._stream is None for an output that failed to start (silent_fallback)
        if not self._stopped and self._failure is None and self._stream is not None:
            self._failure = ("the audio output stream ended unexpectedly "
                             "(device unplugged or audio server stopped)")

    def failure(self) -> str | None:
        if self._failure is not None:
            return self._failure
        if self._decode_failure is not None and self._emptied:
            # reported only once every block decoded before the failure reached the analysis
            return self._decode_failure
        if self.playback and not self._paused and not self._emptied:
            return super().failure()
        return None

    # --- decoder thread -----------------------------------------------------
    def _decode_loop(self) -> None:
        f = self._file
        try:
            while not self._quit.is_set():
                target = self._seek_to
                if target is not None:
                    self._seek_to = None
                    with self.chatter.capture():
                        f.seek(min(int(round(target * self.sample_rate)), f.frames))
                    self._generation += 1
                    self._queue.clear()
                    self._decoder_done = False
                    self._emptied = False
                if self._decoder_done or len(self._queue) >= self.queue_blocks:
                    # the pump sets _wake when the queue runs low, seek() and stop() at once
                    self._wake.wait(0.5)
                    self._wake.clear()
                    continue
                start = f.tell()
                with self.chatter.capture():
                    block = f.read(self.block_frames, dtype="float32", always_2d=True)
                if len(block) == 0:
                    self._decoder_done = True
                    continue
                fault = find_sample_fault(block)
                if fault is not None:
                    # The same verdict as `emotrack analyze`: the file is broken and the run
                    # ends (results already computed are kept), instead of playing it.
                    self._decode_failure = (
                        f"decoding '{self.path.name}' failed: "
                        f"{fault.describe(sample_rate=self.sample_rate, offset=start)}; "
                        "clean or re-export the audio")
                    self._decoder_done = True
                    return
                self._queue.append((self._generation, start, block))
        except Exception as exc:  # noqa: BLE001 - any decoder failure ends the run cleanly
            self._decode_failure = f"decoding '{self.path.name}' failed: {decoder_message(exc)}"
            self._decoder_done = True

    # --- the pump: shared by the output callback and the no-playback thread ---
    def _fill(self, out: np.ndarray, now: float, *, count_underrun: bool) -> int:
        """Copy the next samples into ``out`` and into the analysis ring; returns frames copied.

        The ring gets them in one write, after ``out`` is filled: one delivery, one block, so
        :attr:`RingBuffer.last_write_frames` is the block size the engine sleeps by (a block
        may span two decoded blocks)."""
        n = len(out)
        pos = 0
        gen = self._generation
        if self._cur is not None and self._cur_gen != gen:
            self._cur = None
        while pos < n:
            if self._cur is None:
                try:
                    item_gen, start, block = self._queue.popleft()
                except IndexError:
                    break
                if item_gen != gen:
                    continue
                if item_gen != self._playing_gen:
                    self._playing_gen = item_gen
                    if item_gen > 0:
                        self.marks.append((self._ring.frames_written + pos, start / self.sample_rate))
                self._cur, self._cur_gen, self._cur_pos, self._cur_start = block, item_gen, 0, start
                if len(self._queue) <= self.refill_blocks:
                    self._wake.set()
            take = min(n - pos, len(self._cur) - self._cur_pos)
            out[pos:pos + take] = self._cur[self._cur_pos:self._cur_pos + take]
            pos += take
            self._cur_pos += take
            self._position_frames = self._cur_start + self._cur_pos
            if self._cur_pos >= len(self._cur):
                self._cur = None
        if pos:
            self._ring.write(out[:pos], now)
        if pos < n:
            out[pos:] = 0.0
            if self._decoder_done and not self._queue and self._seek_to is None:
                self._emptied = True
            elif count_underrun:
                self.playback_underruns += 1
        return pos

    def _callback(self, outdata, frames, time_info, status) -> None:
        # Audio thread: copy and count, nothing else.
        now = time.monotonic()
        self.last_callback_time = now
        if status:
            self.status_events += 1
            if status.output_underflow:
                self.callback_overruns += 1
        if self._paused:
            outdata.fill(0.0)
            return
        self._fill(outdata, now, count_underrun=True)

    def _pump_loop(self) -> None:
        """No playback: hand blocks to the analysis at real-time pace or as fast as possible."""
        block = max(1, int(round(self.pump_block_s * self.sample_rate)))
        scratch = np.zeros((block, self.channels), np.float32)
        next_t = time.monotonic()
        while not self._quit.is_set() and not self._emptied:
            if self._paused:
                self._quit.wait(0.01)
                next_t = time.monotonic()
                continue
            if self._realtime:
                delay = next_t - time.monotonic()
                if delay > 0 and self._quit.wait(delay):
                    break
                next_t += block / self.sample_rate
            elif self._ring.free < block:
                self._quit.wait(0.001)
                continue
            now = time.monotonic()
            self.last_callback_time = now
            got = self._fill(scratch, now, count_underrun=self._realtime)
            if got == 0 and not self._realtime and not self._emptied:
                self._quit.wait(0.001)  # decoder is behind: let it catch up
