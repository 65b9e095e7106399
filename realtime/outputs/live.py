"""The files and OSC sender of one ``emotrack listen`` run, from creation to the final rename.

Every path was checked beforehand (:mod:`.checks`).  Files grow as
``NAME.part.EXT``, flushed after each row and readable while the run lasts
(``tail -f o.part.csv``), and replace ``NAME.EXT`` when the run ends, however it
ends once it has started (the end of the file, ``--duration``, Ctrl-C, SIGTERM,
an error after the start: rows already computed are kept).  A run that never
starts removes only the part files it created; a killed run (SIGKILL) leaves
``NAME.EXT`` as it was and its rows in ``NAME.part.EXT``.
"""
from __future__ import annotations

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
        self._writers: list = []

    def open(self, extra_names: tuple[str, ...] = ()) -> None:
        """Create the part files (exclusively) and their writers (``extra_names``: the tracker's)."""
        try:
            for f in self.files.values():
                f.create()
            for option, writer in (("--csv", CsvWriter), ("--jsonl", JsonlWriter)):
                if option in self.files:
                    f = self.files[option]
                    self._writers.append(writer(f.part, extra_names, label=f.target))
            if "--jsonl" not in self.files and self._jsonl_stdout:
                self._writers.append(JsonlWriter("-", extra_names))
        except BaseException:
            self.discard()
            raise
        if self.osc is not None:
            self._writers.append(self.osc)

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
        for w in self._writers:
            w.write(result)

    def commit(self) -> None:
        """Close everything and move each part file over its target."""
        self._close()
        for f in self.files.values():
            f.commit()

    def discard(self) -> None:
        """Close everything and delete the part files; every target stays as it was."""
        self._close()
        for f in self.files.values():
            f.discard()

    def _close(self) -> None:
        for w in self._writers:
            w.close()
        self._writers.clear()
        if self.osc is not None:
            self.osc.close()
