"""Whether Qt can open a window here, decided before Qt starts.

Without a display Qt does not raise: it prints a few lines and aborts the process
(exit 134).  :func:`display_problem` reads what Qt reads to choose its platform
plugin (``QT_QPA_PLATFORM``, ``DISPLAY``, ``WAYLAND_DISPLAY``) so ``emotrack gui``
can end with one line saying what to do instead.  A variable that is set is not
enough: the X or Wayland socket it names must accept a connection (a stale
``DISPLAY=:99`` with no server also makes Qt abort), and a ``QT_QPA_PLATFORM``
must name a plugin Qt has.  No Qt here.
"""
from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from importlib.util import find_spec
from pathlib import Path

#: Seconds to wait for a display server to accept a connection.
CONNECT_TIMEOUT_S = 2.0
#: Platform plugins of Qt 6 on Linux (used when PyQt6's plugin folder cannot be listed).
KNOWN_PLUGINS = ("xcb", "wayland", "offscreen", "minimal", "minimalegl", "eglfs", "linuxfb",
                 "vnc", "vkkhrdisplay")

#: What to do without a display, in every message of this module.
ADVICE = ("run 'emotrack listen' for headless tracking (e.g. 'emotrack listen FILE --no-playback'), "
          "set QT_QPA_PLATFORM=offscreen to run the app without a window, or start an X server "
          "(e.g. 'xvfb-run emotrack gui') or a Wayland session")


def display_problem(environ: Mapping[str, str] | None = None, *,
                    platform: str | None = None, probe: bool | None = None) -> str | None:
    """Why Qt could not open a window, or None when it can (as far as the environment says).

    Parameters
    ----------
    environ : mapping, optional
        The environment to judge (default: ``os.environ``).
    platform : str, optional
        ``sys.platform`` to judge for (default: this one).  macOS and Windows always
        have a display; elsewhere Qt uses X11 (``xcb``, needs ``DISPLAY``) or Wayland
        (needs ``WAYLAND_DISPLAY``) unless ``QT_QPA_PLATFORM`` names another plugin
        (``offscreen``, ``eglfs``, ``vnc`` ...), which needs neither.
    probe : bool, optional
        Also check that the display named answers (its socket accepts a connection) and
        that ``QT_QPA_PLATFORM`` names a plugin Qt has.  Default: only when judging
        this process's own environment.

    Returns
    -------
    str or None
        A one-line message that says what to do.
    """
    probe = environ is None if probe is None else probe
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform in ("darwin", "win32", "cygwin"):
        return None
    has = {"xcb": bool(env.get("DISPLAY")), "wayland": bool(env.get("WAYLAND_DISPLAY"))}
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if not requested:
        if has["xcb"] or has["wayland"]:
            return _unanswered(env, [f for f in ("wayland", "xcb") if has[f]]) if probe else None
        return f"no display to open the desktop app on (DISPLAY and WAYLAND_DISPLAY are not set): {ADVICE}"
    # "wayland;xcb" is a list Qt tries in turn; "offscreen:size=..." carries plugin options.
    plugins = [p.split(":", 1)[0].strip() for p in requested.split(";") if p.strip()]
    if probe:
        known = _plugins()
        unknown = [p for p in plugins if ("wayland" if p.startswith("wayland") else p) not in known]
        if unknown and len(unknown) == len(plugins):
            return (f"QT_QPA_PLATFORM={requested!r} names no platform plugin Qt has (it has "
                    f"{', '.join(sorted(known))}): {ADVICE}")
    families = []
    for plugin in plugins:
        family = "wayland" if plugin.startswith("wayland") else plugin
        if family not in has:
            return None
        if has[family]:
            families.append(family)
    if families:
        return _unanswered(env, families) if probe else None
    unset = list(dict.fromkeys("WAYLAND_DISPLAY" if p.startswith("wayland") else "DISPLAY"
                               for p in plugins))
    return (f"QT_QPA_PLATFORM={requested!r} needs a display, but {' and '.join(unset)} "
            f"{'is' if len(unset) == 1 else 'are'} not set: {ADVICE}")


def _plugins() -> set[str]:
    """Names of the platform plugins PyQt6 ships (without importing Qt)."""
    spec = find_spec("PyQt6")
    folder = (Path(next(iter(spec.submodule_search_locations))) / "Qt6" / "plugins" / "platforms"
              if spec is not None and spec.submodule_search_locations else None)
    try:
        names = {p.name[len("libq"):].split(".")[0] for p in folder.iterdir()
                 if p.name.startswith("libq")} if folder is not None else set()
    except OSError:
        names = set()
    return names or set(KNOWN_PLUGINS)


def _unanswered(env: Mapping[str, str], families: list[str]) -> str | None:
    """None when one of the displays of ``families`` accepts a connection, else why not."""
    tried = []
    for family in families:
        if family == "xcb":
            where = _x_socket(env.get("DISPLAY", ""))
            name = f"DISPLAY={env.get('DISPLAY', '')!r}"
        else:
            where = _wayland_socket(env)
            name = f"WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY', '')!r}"
        if any(_answers(w) for w in where):
            return None
        tried.append(name)
    return (f"{' and '.join(tried)} {'is' if len(tried) == 1 else 'are'} set but no display "
            f"server answers there: {ADVICE}")


def _x_socket(display: str) -> list:
    """Where the X server of ``display`` may listen: Unix socket paths (the abstract one
    first, as libxcb tries) or (host, port); empty when ``display`` cannot be parsed."""
    host, sep, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not sep or not number.isdigit():
        return []
    if host.startswith("/"):  # launchd-style "/path/to/socket:0"
        return [host]
    if host in ("", "unix") or host.startswith("unix/"):
        path = f"/tmp/.X11-unix/X{int(number)}"
        return ["\0" + path, path]
    return [(host, 6000 + int(number))]


def _wayland_socket(env: Mapping[str, str]) -> list:
    name = env.get("WAYLAND_DISPLAY", "")
    if name.startswith("/"):
        return [name]
    runtime = env.get("XDG_RUNTIME_DIR", "")
    return [os.path.join(runtime, name)] if runtime and name else []


def _answers(where) -> bool:
    """Whether a connection to ``where`` (a Unix socket path, or (host, port)) opens in time."""
    family = socket.AF_UNIX if isinstance(where, str) else socket.AF_INET
    try:
        if isinstance(where, tuple):
            socket.create_connection(where, timeout=CONNECT_TIMEOUT_S).close()
            return True
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(where)
        return True
    except (OSError, ValueError):
        return False
