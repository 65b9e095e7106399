"""The PNG report puts nothing over the data (issue 20, item 3): legends and quadrant labels
outside the plane and the curves, end markers whole at the edge, one named scale, the
uncertainty band only with an sd, silent frames without values as gaps.

Checked in the figure's own layout: the bounding boxes matplotlib computes for each artist."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emotrack.model.audio_io import AudioInfo
from emotrack.model.scale import DisplayScale
from emotrack.model.tracker import TrackerFrames
from emotrack.realtime.analysis import AnalysisResult
from emotrack.realtime.outputs.plots import QUADRANTS, draw_report, uncertainty_band


def scale() -> DisplayScale:
    q = np.sinh(np.linspace(-2.5, 2.5, 101)) / 20.0
    return DisplayScale("frames of test music", q, q * 0.8)


def corner_result(*, sd: bool, with_scale: bool = True, n: int = 120) -> AnalysisResult:
    """A track that visits every corner of the plane (as calm, sad and metal music do), ends on
    the edge (valence at the 0th percentile), and has silent frames without values."""
    k = np.arange(n)
    ends = 0.5  # raw values beyond the scale's range: percentiles 0 and 100
    arousal = ends * np.sign(np.sin(2 * np.pi * k / 40) + 0.01)
    valence = ends * np.sign(np.cos(2 * np.pi * k / 40) + 0.01)
    valence[-5:] = -ends  # the end marker sits on the left edge
    values = np.column_stack([arousal, valence]).astype(np.float32)
    silent = np.zeros(n, bool)
    silent[50:56] = True
    values[silent] = np.nan  # a silent frame carries no values
    warming = k < 6
    frames = TrackerFrames(index=k.astype(np.int64), values=values, warming_up=warming,
                           silent=silent, level_db=np.where(silent, -90.0, -20.0).astype(np.float32),
                           sd=np.full((n, 2), 0.03, np.float32) if sd else None)
    info = AudioInfo(Path("corners.wav"), 16000, 1, n * 0.5, "WAV")
    return AnalysisResult(info=info, mode="causal", frames=frames, model={"name": "test"},
                          scale=scale() if with_scale else None)


def boxes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return r, fig.ax_plane.get_window_extent(r), fig.ax_time.get_window_extent(r)


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5


@pytest.mark.parametrize("sd", [True, False])
def test_legends_and_quadrant_labels_lie_outside_the_plane_and_the_curves(sd):
    fig = draw_report(corner_result(sd=sd))
    r, plane, curves = boxes(fig)
    assert fig.ax_plane.get_legend() is None and fig.ax_time.get_legend() is None
    legend = fig.ax_legend.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    assert {"start", "end", "mean", "arousal", "valence", "warming up"} <= set(labels)
    assert ("\u00b1 1 sd (raw scale)" in labels) == sd
    lb = legend.get_window_extent(r)
    assert not overlaps(lb, plane) and not overlaps(lb, curves)
    quadrant = [t for t in fig.ax_plane.texts if t.get_text() in QUADRANTS.values()]
    assert len(quadrant) == 4
    for t in quadrant:
        tb = t.get_window_extent(r)
        assert not overlaps(tb, plane), t.get_text()
        assert not overlaps(tb, curves)
        assert fig.bbox.contains(tb.x0, tb.y0) and fig.bbox.contains(tb.x1, tb.y1)  # not cut off


def test_markers_on_the_edge_are_whole_and_the_scale_is_named_alike():
    fig = draw_report(corner_result(sd=True))
    r, plane, _ = boxes(fig)
    marks = {line.get_label(): line for line in fig.ax_plane.get_lines()
             if line.get_label() in ("start", "end", "mean")}
    assert set(marks) == {"start", "end", "mean"}
    end = marks["end"]
    assert end.get_xdata()[0] == pytest.approx(-1.0)  # on the edge of the plane
    eb = end.get_window_extent(r)
    assert plane.x0 <= eb.x0 and eb.x1 <= plane.x1 and plane.y0 <= eb.y0 and eb.y1 <= plane.y1
    ticks = [t.get_text() for t in fig.ax_plane.get_xticklabels()]
    assert ticks == ["0", "25", "50", "75", "100"]
    assert ticks == [t.get_text() for t in fig.ax_plane.get_yticklabels()]
    assert ticks == [t.get_text() for t in fig.ax_time.get_yticklabels()]
    assert fig.ax_time.get_ylabel() == "percentile"
    assert fig.ax_plane.get_xlabel().startswith("valence percentile")
    raw = draw_report(corner_result(sd=False, with_scale=False))
    assert raw.ax_time.get_ylabel() == "raw value"
    assert [t.get_text() for t in raw.ax_plane.get_xticklabels()] == ["-1", "-0.5", "0", "0.5", "1"]


def test_the_band_maps_sd_through_the_display_scale_and_leaves_silence_out():
    res = corner_result(sd=True)
    band = uncertainty_band(res)
    assert band.shape == (len(res.frames), 2, 2)
    assert np.isnan(band[res.silent]).all() and np.isfinite(band[~res.silent]).all()
    # 0.5 is beyond the scale's top: raw +- sd lands at 100 above and below it (asymmetric)
    top = int(np.flatnonzero(res.values[:, 0] > 0)[0])
    lo, hi = band[top, :, 0]
    assert hi == pytest.approx(1.0) and lo == pytest.approx(1.0)
    mid = res.values.copy()
    mid[:, :] = 0.05
    res_mid = corner_result(sd=True)
    object.__setattr__(res_mid.frames, "values", mid)
    lo, hi = uncertainty_band(res_mid)[0, :, 0]
    centre = float(scale().plane(np.array([[0.05, 0.05]]))[0, 0])
    assert lo < centre < hi and abs((hi - centre) - (centre - lo)) > 0.01
    assert uncertainty_band(corner_result(sd=False)) is None
    fig = draw_report(corner_result(sd=False))
    assert not [c for c in fig.ax_time.collections if "Poly" in type(c).__name__]
