"""The desktop app's Open File meets the bad-input suite (issue 8).

Each broken file ends as a readable banner naming it, with the window still up; each
edge case (silence, 8/192 kHz, 6 channels, unicode paths, a 1-sample file) is analysed
to its end.  Real engine and file source (no playback, as fast as possible) with the
``tiny_checkpoint`` model fixture.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import soundfile as sf

from emotrack.realtime.gui.backend import BackendConfig, RealBackend
from fixtures_badinput import BAD_AUDIO_CASES


@pytest.mark.parametrize("case", sorted(BAD_AUDIO_CASES))
def test_open_file_survives_every_bad_input(case, make_window, qtbot, bad_audio_files, tiny_checkpoint):
    kind, what = BAD_AUDIO_CASES[case]
    path = bad_audio_files[case]
    backend = RealBackend(BackendConfig(checkpoint=str(tiny_checkpoint), device="cpu",
                                        playback=False, realtime=False))
    w = make_window(backend, autostart=False)
    opened = w.open_file(str(path))
    if kind == "error":
        # refused at once, or the engine ends with an error message: either way the banner names it
        qtbot.waitUntil(lambda: path.name in w.banner.text(), timeout=15000)
        assert "Traceback" not in w.banner.text()
    else:
        assert opened, f"{what}: {w.banner.text()}"
        qtbot.waitUntil(lambda: w.session.at_end, timeout=30000)
        w.tick()
        audio, sr = sf.read(str(path))  # what decodes (a cut MP3's header overstates its length)
        seconds = len(audio) / sr
        expected = int(seconds * 2)  # 2 Hz; a tail of >= 250 ms adds one partial frame
        assert expected <= len(w.store) <= expected + 1, (case, len(w.store))
        assert path.name not in w.banner.text() or "error" not in w.banner.text().lower()
    assert w.isVisible()
