"""What the app remembers between runs (QSettings): source, model, trail, spans, geometry."""
from __future__ import annotations

from PyQt6.QtCore import QByteArray, QSettings

#: Trail lengths offered (seconds of audio time).
TRAIL_RANGE_S = (2, 600)
DEFAULT_TRAIL_S = 20
#: Time-series spans offered: label -> seconds (None = whole segment).
SERIES_SPANS = {"30 s": 30.0, "1 min": 60.0, "2 min": 120.0, "5 min": 300.0,
                "15 min": 900.0, "all": None}
DEFAULT_SERIES_SPAN = "1 min"


class GuiSettings:
    """Typed access to the app's QSettings.

    Parameters
    ----------
    qsettings : QSettings, optional
        Where to store; default ``QSettings("emotrack", "emotrack")`` (the
        platform's usual place).  Tests pass an INI file in a temporary folder.
    """

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings("emotrack", "emotrack")

    def _str(self, key: str, default: str = "") -> str:
        value = self.q.value(key, default)
        return value if isinstance(value, str) else default

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    @property
    def source_key(self) -> str:
        return self._str("source/last")

    @source_key.setter
    def source_key(self, key: str) -> None:
        self.q.setValue("source/last", key)

    @property
    def model(self) -> str:
        """The tracker chosen in the Model menu last time ("" = none remembered)."""
        from ...model.trackers import TRACKERS

        value = self._str("model/name")
        return value if value in TRACKERS else ""

    @model.setter
    def model(self, name: str) -> None:
        self.q.setValue("model/name", name)

    @property
    def trail_s(self) -> int:
        try:
            value = int(self.q.value("view/trail_s", DEFAULT_TRAIL_S))
        except (TypeError, ValueError):
            value = DEFAULT_TRAIL_S
        return min(max(value, TRAIL_RANGE_S[0]), TRAIL_RANGE_S[1])

    @trail_s.setter
    def trail_s(self, seconds: int) -> None:
        self.q.setValue("view/trail_s", int(seconds))

    @property
    def series_span(self) -> str:
        value = self._str("view/series_span", DEFAULT_SERIES_SPAN)
        return value if value in SERIES_SPANS else DEFAULT_SERIES_SPAN

    @series_span.setter
    def series_span(self, label: str) -> None:
        self.q.setValue("view/series_span", label)

    @property
    def last_dir(self) -> str:
        return self._str("files/last_dir")

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
