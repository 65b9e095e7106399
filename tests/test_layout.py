"""The package layout (issue 20 item 8): realtime/ reads as its parts, and commands/ has no import cycle."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REALTIME = REPO / "realtime"


def test_output_writers_live_in_one_sub_package():
    writers = {"atomic_files", "outputs", "track_outputs", "live_outputs", "trajectory_files",
               "output_names", "output_checks", "schema", "plots"}
    flat = {p.stem for p in REALTIME.glob("*.py")}
    assert not (flat & writers), f"writers back in realtime/: {sorted(flat & writers)}"
    pkg = {p.stem for p in (REALTIME / "outputs").glob("*.py")}
    assert {"schema", "sets", "track", "live", "trajectory_files", "names", "checks",
            "atomic_files", "plots"} <= pkg


def _relative_imports(path: Path, package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports (``from .x import`` anywhere in the file)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(a.name for a in node.names)
    return out


def test_commands_have_no_import_cycle():
    pkg = REALTIME / "commands"
    graph = {p.stem: _relative_imports(p, "commands") for p in pkg.glob("*.py")}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    cycles = [m for m in graph if reaches(m, m, set())]
    assert not cycles, f"import cycle through {sorted(cycles)}"
