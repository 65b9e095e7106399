"""The files and OSC sender of one ``emotrack listen`` run, from creation to the final rename.

Every path was checked beforehand (:mod:`.checks`).  Files grow as
``NAME.part.EXT``, flushed after each row and readable while the run lasts
(``tail -f o.part.csv``), and replace ``NAME.EXT`` when the run ends, however it
ends once it has started (the end of the file, ``--duration``, Ctrl-C, SIGTERM,
an error after the start: rows already computed are kept).  A run that never
starts removes only the part files it created; a killed run (SIGKILL) leaves
``NAME.EXT`` as it was and its rows in ``NAME.part.EXT``.

A file whose writes failed (a full disk, ``ulimit -f``) is never moved over its
target: ``NAME.EXT`` stays as it was, and what was written is left in
``NAME.part.EXT`` (:meth:`LiveOutputs.kept_parts` says which).
"""
from __future__ import annotations

from ...model.errors import EmotrackError
from .sets import CsvWriter, JsonlWriter, OscSender
from .checks import OutputTarget


class LiveOutputs:
    """Writers for a run's results; :meth:`open` creates the files, :meth:`commit` puts them in place.

    Parameters
    ----------
    targets : list of OutputTarget
        Checked ``--csv``, ``--jsonl`` and ``--record`` paths.
    jsonl_stdout : bool
        JSON lines go to standard output (``--jsonl -``).
    osc : OscSender or None
    """

    def __init__(self, targets: list[OutputTarget], *, jsonl_stdout: bool,
                 osc: OscSender | None) -> None:
        self.files = {t.option: t.live_file() for t in targets}
        self.osc = osc
        self._jsonl_stdout = jsonl_stdout
        self._writers: list = []  # (option or None, writer)
        self._failed: set[str] = set()
        self.kept_parts: list[str] = []
        """Part files left in place because their writes failed (after :meth:`commit`)."""
        self.close_errors: list[Exception] = []
        """Failures of a file's last flush at :meth:`commit` (that file is kept as a part file)."""

    def open(self, extra_names: tuple[str, ...] = ()) -> None:
        """Create the part files (exclusively) and their writers (``extra_names``: the tracker's)."""
        try:
            for f in self.files.values():
                f.create()
            for option, writer in (("--csv", CsvWriter), ("--jsonl", JsonlWriter)):
                if option in self.files:
                    f = self.files[option]
                    self._writers.append((option, writer(f.part, extra_names, label=f.target)))
            if "--jsonl" not in self.files and self._jsonl_stdout:
                self._writers.append((None, JsonlWriter("-", extra_names)))
        except BaseException:
            self.discard()
            raise
        if self.osc is not None:
            self._writers.append((None, self.osc))

    @property
    def record_part(self) -> str | None:
        """Where the engine writes ``--record`` during the run (None without --record)."""
        f = self.files.get("--record")
        return str(f.part) if f is not None else None

    def describe(self) -> str:
        """``'o.part.csv' (becomes o.csv when the run ends)``, for each file."""
        return ", ".join(f"'{f.part}' (becomes {f.target.name} when the run ends)"
                         for f in self.files.values())

    def write(self, result) -> None:
        """Write one result to every writer; a file whose write fails is marked and re-raised."""
        for option, w in self._writers:
            if option in self._failed:
                continue
            try:
                w.write(result)
            except BaseException:
                if option is not None:
                    self._failed.add(option)
                raise

    def mark_failed(self, option: str) -> None:
        """``option``'s file was not written whole (e.g. the engine's ``--record`` writes failed)."""
        self._failed.add(option)

    def commit(self) -> None:
        """Close everything and move each part file over its target, except those whose
        writes failed: they stay as part files and their targets as they were."""
        self._close()
        for option, f in self.files.items():
            if option in self._failed:
                if f._created:
                    self.kept_parts.append(str(f.part))
                continue
            f.commit()

    def discard(self) -> None:
        """Close everything and delete the part files; every target stays as it was."""
        self._close()
        for f in self.files.values():
            f.discard()

    def _close(self) -> None:
        for option, w in self._writers:
            try:
                w.close()
            except (EmotrackError, OSError) as exc:  # the last flush failed: that file only
                if option is None:
                    raise
                self._failed.add(option)
                self.close_errors.append(exc)
        self._writers.clear()
        if self.osc is not None:
            self.osc.close()
