"""The desktop app (``emotrack gui``): Russell's plane and arousal/valence curves, live.

Qt (PyQt6 + pyqtgraph) is imported only by the modules of this package that draw;
:mod:`.circumplex`, :mod:`.trajectory` and :mod:`.backend` are plain Python so the
data side can be tested and benchmarked without a display.
"""
