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
#: Largest settings file read (the app writes about 1 KB); a bigger one is not read at all.
MAX_SETTINGS_BYTES = 1024 * 1024


def settings_path(environ: dict | None = None) -> str:
    """Where ``QSettings("emotrack", "emotrack")`` keeps its file on Linux and other Unixes."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"),
                                                       ".config")
    return os.path.join(base, "emotrack", "emotrack.conf")


def settings_file_problem(path: str) -> str | None:
    """Why the settings file at ``path`` must not be read or written, or None when it may.

    Looked at without following a link: a symlink (writing would replace its target,
    which as root can be a device node), a FIFO or device (reading would hang or
    never end), a folder, or a file over :data:`MAX_SETTINGS_BYTES` (Qt reads it whole).
    A missing file is no problem (the app creates it).
    """
    import stat

    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_size > MAX_SETTINGS_BYTES:
        return f"is {st.st_size} bytes, more than the {MAX_SETTINGS_BYTES} a settings file may have"
    return None


_PRIVATE: list = []  # temporary folders of settings kept for this session only


def default_qsettings() -> QSettings:
    """The app's QSettings, or session-only settings when its file may not be used.

    Says so in one line on standard error when the file is refused
    (:func:`settings_file_problem`); the refused file is neither read nor written.
    """
    import sys
    import tempfile

    if sys.platform.startswith(("darwin", "win")):
        return QSettings("emotrack", "emotrack")
    path = settings_path()
    problem = settings_file_problem(path)
    if problem is None:
        return QSettings("emotrack", "emotrack")
    print(f"emotrack: warning: settings file '{path}' {problem}: not used; settings of this "
          "session are not saved (remove or replace it)", file=sys.stderr)
    folder = tempfile.TemporaryDirectory(prefix="emotrack-settings-")
    _PRIVATE.append(folder)
    return QSettings(os.path.join(folder.name, "emotrack.conf"), QSettings.Format.IniFormat)


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
        self.q = qsettings if qsettings is not None else default_qsettings()

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
