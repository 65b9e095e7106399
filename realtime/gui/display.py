"""Whether Qt can open a window here, decided before Qt starts.

Without a display Qt does not raise: it prints a few lines and aborts the process
(exit 134).  :func:`display_problem` reads what Qt reads to choose its platform
plugin (``QT_QPA_PLATFORM``, ``DISPLAY``, ``WAYLAND_DISPLAY``) so ``emotrack gui``
can end with one line saying what to do instead.  No Qt here.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping

#: What to do without a display, in every message of this module.
ADVICE = ("run 'emotrack listen' for headless tracking (e.g. 'emotrack listen FILE --no-playback'), "
          "set QT_QPA_PLATFORM=offscreen to run the app without a window, or start an X server "
          "(e.g. 'xvfb-run emotrack gui') or a Wayland session")


def display_problem(environ: Mapping[str, str] | None = None, *,
                    platform: str | None = None) -> str | None:
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

    Returns
    -------
    str or None
        A one-line message that says what to do.
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if platform in ("darwin", "win32", "cygwin"):
        return None
    has = {"xcb": bool(env.get("DISPLAY")), "wayland": bool(env.get("WAYLAND_DISPLAY"))}
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if not requested:
        if has["xcb"] or has["wayland"]:
            return None
        return f"no display to open the desktop app on (DISPLAY and WAYLAND_DISPLAY are not set): {ADVICE}"
    # "wayland;xcb" is a list Qt tries in turn; "offscreen:size=..." carries plugin options.
    plugins = [p.split(":", 1)[0].strip() for p in requested.split(";") if p.strip()]
    for plugin in plugins:
        family = "wayland" if plugin.startswith("wayland") else plugin
        if family not in has or has[family]:
            return None
    unset = list(dict.fromkeys("WAYLAND_DISPLAY" if p.startswith("wayland") else "DISPLAY"
                               for p in plugins))
    return (f"QT_QPA_PLATFORM={requested!r} needs a display, but {' and '.join(unset)} "
            f"{'is' if len(unset) == 1 else 'are'} not set: {ADVICE}")
