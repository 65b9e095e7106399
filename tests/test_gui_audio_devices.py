"""The desktop app's audio devices: a file without an audio output is analysed in sync
without sound (and the banner says so); ``--input``/``--output`` choose the audio devices,
``--device`` stays the torch device."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
import soundfile as sf

from fixtures_gui import FakeBackend
from emotrack.realtime import cli
from emotrack.realtime.gui.backend import BackendConfig, RealBackend, SourceChoice, SourceListing, input_choice

SR = 22050


@pytest.fixture
def music(tmp_path):
    x = 0.2 * np.random.default_rng(5).standard_normal(int(3.0 * SR)).astype(np.float32)
    path = tmp_path / "song.wav"
    sf.write(path, x, SR)
    return str(path)


def open_and_follow(make_window, qtbot, config: BackendConfig, path: str):
    w = make_window(RealBackend(config), autostart=False)
    assert w.open_file(path), w.banner.text()
    qtbot.waitUntil(lambda: len(w.store) >= 2, timeout=20_000)  # the plot is not empty
    return w


def test_no_audio_output_analyses_the_file_silently_and_says_so(
        no_audio_server, make_window, qtbot, tiny_checkpoint, music):
    w = open_and_follow(make_window, qtbot, BackendConfig(checkpoint=str(tiny_checkpoint),
                                                          device="cpu"), music)
    source = w.session.source
    assert not source.playback and source.realtime  # in sync: real-time pace, as --no-playback
    banner = w.banner.text()
    assert "No sound" in banner and "song.wav" in banner
    assert banner.count("\n") == 0  # one short line (issue 20); how to choose an output is in
    assert "--output" in w.banner.label.toolTip()  # the tooltip: no server, no output to choose
    assert "--device" not in banner + w.banner.label.toolTip()  # --device is the torch device
    assert "Could not open" not in banner


@pytest.mark.audio_server
def test_an_output_the_server_lacks_is_named_in_the_banner(
        pulse_server, make_window, qtbot, tiny_checkpoint, music):
    config = BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu", output="no-such-output-xyz")
    w = open_and_follow(make_window, qtbot, config, music)
    assert "No sound" in w.banner.text() and "no-such-output-xyz" in w.banner.text()
    assert not w.session.source.playback


@pytest.mark.audio_server
def test_a_working_output_plays_without_a_no_sound_message(
        pulse_server, make_window, qtbot, tiny_checkpoint, music):
    config = BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu", output="pulse")
    w = open_and_follow(make_window, qtbot, config, music)
    assert w.session.source.playback and "No sound" not in w.banner.text()


def test_input_opens_that_live_source_at_start(make_window, qtbot):
    backend = FakeBackend(mics=["Fake USB mic", "Other mic"])
    w = make_window(backend, initial_input="fake_sink.monitor")
    qtbot.waitUntil(lambda: w.session.engine is not None, timeout=5000)
    assert w.session.choice == SourceChoice("system", "fake_sink.monitor", "System audio: fake_sink.monitor")


@pytest.mark.parametrize("name, expected", [
    ("Other mic", SourceChoice("mic", "Other mic", "Other mic")),
    ("a.monitor", SourceChoice("system", "a.monitor", "System audio: a.monitor")),
    ("b.monitor", SourceChoice("system", "b.monitor", "System audio: b.monitor")),
    ("3", SourceChoice("mic", "3", "input 3")),
    ("USB", SourceChoice("mic", "USB", "input USB")),
])
def test_input_names_a_listed_source_or_a_microphone(name, expected):
    listing = SourceListing(mics=[SourceChoice("mic", "Other mic", "Other mic")],
                            monitors=[SourceChoice("system", "a.monitor", "System audio: a.monitor")])
    assert input_choice(name, listing) == expected


def test_gui_options_reach_the_app(monkeypatch, music):
    from emotrack.realtime.gui import app

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    seen = {}
    monkeypatch.setattr(app, "run_app", lambda **kwargs: seen.update(kwargs) or 0)
    assert cli.main(["gui", "--input", "virtmic", "--output", "3", "--device", "cpu"]) == 0
    assert seen["initial_input"] == "virtmic" and seen["initial_file"] is None
    assert seen["config"].output == "3" and seen["config"].device == "cpu"
    assert seen["config"].playback


@pytest.mark.parametrize("argv, message, status", [
    (["gui", "--device", "3"], "--input NAME|INDEX", 2),  # refused by the option: a usage error
    (["gui", "FILE", "--input", "virtmic"], "not both", 1),
])
def test_gui_device_mistakes_are_one_line_errors(argv, message, status, music, capsys):
    try:
        code = cli.main([music if a == "FILE" else a for a in argv])
    except SystemExit as stop:
        code = stop.code
    assert code == status
    err = capsys.readouterr().err
    assert err.startswith("emotrack: error:") and message in err and len(err.splitlines()) == 1
