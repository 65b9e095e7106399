"""The process environment emotrack needs, checked and fixed before anything heavy is imported.

``emotrack`` runs wherever a user starts it: a read-only install with a read-only
HOME, a shell whose working folder was deleted, ``MPLBACKEND`` set for some other
program, a tight address-space limit.  :func:`prepare_environment` runs first in
:func:`emotrack.realtime.cli.main` (before numba, matplotlib or torch load) and

- gives numba (librosa's JIT) a cache folder it can write, so ``cache=True``
  functions do not fail with "cannot cache function" (``NUMBA_CACHE_DIR``, unless
  the user set it);
- makes matplotlib use its Agg backend (``MPLBACKEND=Agg``): emotrack only writes
  PNG files, which need no GUI backend, and an unknown ``MPLBACKEND`` otherwise
  ends the PNG in a traceback;
- refuses to start in a working folder that no longer exists (torch's oneMKL
  aborts there with a fatal error of its own).

Worker processes inherit the environment it sets.
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import MutableMapping

from ..model.errors import EmotrackError


def prepare_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Check the working folder and set ``NUMBA_CACHE_DIR`` and ``MPLBACKEND`` in ``environ``.

    Parameters
    ----------
    environ : mutable mapping, optional
        Default ``os.environ`` (what this process and its children see).

    Raises
    ------
    EmotrackError
        The working folder was deleted.
    """
    env = os.environ if environ is None else environ
    try:
        os.getcwd()
    except OSError:
        raise EmotrackError("the current folder no longer exists (deleted or unmounted): "
                            "change to an existing folder ('cd') and run emotrack again") from None
    env["MPLBACKEND"] = "Agg"
    if not env.get("NUMBA_CACHE_DIR"):
        folder = numba_cache_dir(env)
        if folder is not None:
            env["NUMBA_CACHE_DIR"] = str(folder)


def numba_cache_dir(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """A folder numba can write its cache to, or None when there is none.

    ``$XDG_CACHE_HOME/emotrack/numba`` (``~/.cache/emotrack/numba``) when it can be
    created and written, else a private folder of this user in the temporary folder
    (``emotrack-numba-UID``, mode 0700, refused when another user owns it: numba's
    cache holds pickles, which nobody else may plant).
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    candidates = [Path(base) / "emotrack" / "numba"]
    try:
        candidates.append(Path(tempfile.gettempdir()) / f"emotrack-numba-{os.getuid()}")
    except (OSError, AttributeError):  # no usable temporary folder / no getuid (Windows)
        pass
    for folder in candidates:
        if _private_writable(folder):
            return folder
    return None


def _private_writable(folder: Path) -> bool:
    """Create ``folder`` (mode 0700) if needed; True when it is a folder of ours we can write."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
        return False
    return os.access(folder, os.W_OK | os.X_OK)
