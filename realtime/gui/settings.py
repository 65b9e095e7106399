"""What the app remembers between runs (QSettings): source, model, trail, spans, geometry.

A settings file is outside input like a command line: every value read back is
checked with the validators of :mod:`emotrack.model.validate` (type, limits), and
a value that fails (a hand-edited or corrupt file: ``inf``, a list, 5000
characters...) is replaced by the default instead of reaching the window.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from PyQt6.QtCore import QByteArray, QSettings

from ...model.errors import ParameterError
from ...model.validate import MAX_PATH_CHARS, as_choice, as_int, as_path_text, as_text

#: Trail lengths offered (seconds of audio time).
TRAIL_RANGE_S = (2, 600)
DEFAULT_TRAIL_S = 20
#: Time-series spans offered: label -> seconds (None = whole segment).
SERIES_SPANS = {"30 s": 30.0, "1 min": 60.0, "2 min": 120.0, "5 min": 300.0,
                "15 min": 900.0, "all": None}
DEFAULT_SERIES_SPAN = "1 min"
#: Largest saved window geometry / splitter state read back (Qt writes ~100 bytes).
MAX_STATE_BYTES = 64 * 1024


def _folder(value: Any) -> str:
    path = as_path_text(value)
    if not os.path.isdir(path):
        raise ParameterError(f"not a folder: {path!r}")
    return path


class GuiSettings:
    """Typed, validated access to the app's QSettings.

    Parameters
    ----------
    qsettings : QSettings, optional
        Where to store; default ``QSettings("emotrack", "emotrack")`` (the
        platform's usual place).  Tests pass an INI file in a temporary folder.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings("emotrack", "emotrack")

    def _checked(self, key: str, default: Any, check: Callable[[Any], Any]) -> Any:
        """The stored value if ``check`` accepts it, else ``default``."""
        value = self.q.value(key, default)
        if value is default:
            return default
        try:
            return check(value)
        except ParameterError:
            return default

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        ok = isinstance(value, QByteArray) and 0 < value.size() <= MAX_STATE_BYTES
        return value if ok else None

    @property
    def source_key(self) -> str:
        return self._checked("source/last", "",
                             lambda v: as_text(v, max_chars=MAX_PATH_CHARS + 16, allow_empty=True))

    @source_key.setter
    def source_key(self, key: str) -> None:
        self.q.setValue("source/last", key)

    @property
    def model(self) -> str:
        """The tracker chosen in the Model menu last time ("" = none remembered).

        Never a research model (rnn, cae, baseline): a value left by an older version is read
        as "" so the app starts with musicnn, not silently with a research model.
        """
        from ...model.trackers import RESEARCH_TRACKERS, TRACKERS

        kept = tuple(t for t in TRACKERS if t not in RESEARCH_TRACKERS)
        return self._checked("model/name", "", lambda v: as_choice(v, choices=kept))

    @model.setter
    def model(self, name: str) -> None:
        self.q.setValue("model/name", name)

    @property
    def trail_s(self) -> int:
        return self._checked("view/trail_s", DEFAULT_TRAIL_S,
                             lambda v: as_int(v, lo=TRAIL_RANGE_S[0], hi=TRAIL_RANGE_S[1], text=True))

    @trail_s.setter
    def trail_s(self, seconds: int) -> None:
        self.q.setValue("view/trail_s", int(seconds))

    @property
    def series_span(self) -> str:
        return self._checked("view/series_span", DEFAULT_SERIES_SPAN,
                             lambda v: as_choice(v, choices=tuple(SERIES_SPANS)))

    @series_span.setter
    def series_span(self, label: str) -> None:
        self.q.setValue("view/series_span", label)

    @property
    def last_dir(self) -> str:
        return self._checked("files/last_dir", "", _folder)

    @last_dir.setter
    def last_dir(self, path: str) -> None:
        self.q.setValue("files/last_dir", path)

    @property
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    @geometry.setter
    def geometry(self, value: QByteArray) -> None:
        self.q.setValue("window/geometry", value)

    @property
    def splitter(self) -> QByteArray | None:
        return self._bytes("window/splitter")

    @splitter.setter
    def splitter(self, value: QByteArray) -> None:
        self.q.setValue("window/splitter", value)

    def sync(self) -> None:
        self.q.sync()
