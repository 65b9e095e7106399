"""Mood words with confidence (issue 18.4, DESIGN contract 7): a word only where the point's 80 %
interval lies inside its region; otherwise what is known."""
from __future__ import annotations

import numpy as np
import pytest

from emotrack.model.scale import DisplayScale
from emotrack.realtime.mood import CONFIDENCE_Z, NEUTRAL_RADIUS, mood_word, mood_words


def box(v: float, a: float, sv: float, sa: float):
    """The confidence box of a display-plane point with display-plane half-widths."""
    return ((v - sv, v + sv), (a - sa, a + sa))


@pytest.mark.parametrize("v, a, sv, sa, word", [
    (0.7, 0.6, 0.05, 0.05, "happy"),                       # well inside happy's sector
    (0.7, 0.6, 0.9, 0.05, "energetic; valence unclear"),  # valence could be either side
    (0.3, -0.8, 0.5, 0.1, "calm; valence unclear"),
    (-0.8, 0.1, 0.05, 0.5, "unpleasant; arousal unclear"),
    (0.3, 0.3, 0.6, 0.55, "unclear"),                       # both intervals cross the centre
    (0.55, 0.55, 0.3, 0.3, "energetic, pleasant"),          # happy or excited: the quadrant is known
    (0.03, -0.02, 0.04, 0.04, "neutral"),                   # the whole box near the centre
    (0.12, 0.0, 0.06, 0.02, "pleasant; arousal unclear"),   # partly neutral, partly pleased
])
def test_word_only_where_the_interval_is_inside_the_region(v, a, sv, sa, word):
    assert mood_word(v, a, interval=box(v, a, sv, sa)) == word


def test_without_uncertainty_the_nearest_word_and_silence_has_none():
    assert mood_word(0.7, 0.6) == "happy" == mood_word(0.7, 0.6, interval=None)
    assert mood_word(0.7, 0.6, silent=True, interval=box(0.7, 0.6, 0.01, 0.01)) == ""
    assert mood_word(float("nan"), float("nan")) == ""


def test_sd_is_mapped_through_the_display_scale():
    rng = np.random.default_rng(1)
    scale = DisplayScale.from_values(rng.normal(0.0, 0.1, (2000, 2)), "reference")
    # raw (arousal, valence) = (+0.25, +0.25): far above the reference's median on both axes
    values = np.array([[0.25, 0.25], [0.25, 0.25], [0.25, 0.0], [np.nan, np.nan]], np.float32)
    sd = np.array([[0.02, 0.02], [0.02, 0.5], [0.02, 0.02], [np.nan, np.nan]], np.float32)
    silent = np.array([False, False, False, True])
    words = mood_words(values, scale=scale, sd=sd, silent=silent)
    assert words[0] in ("happy", "excited")         # confident: a circumplex word
    assert words[1] == "energetic; valence unclear"  # valence +-0.64 raw spans the reference
    assert words[2] in ("alarmed", "excited", "energetic; valence unclear")
    assert words[3] == ""
    nearest = mood_words(values, scale=scale, silent=silent)  # no sd: the nearest word
    assert nearest[1] == nearest[0] != "" and nearest[3] == ""
    # the interval is +-1.28 sd: at 1.2 sd from the median on both axes the word is not sure
    assert CONFIDENCE_Z == pytest.approx(1.2816, abs=1e-4) and NEUTRAL_RADIUS == 0.15


def test_a_side_halfwidth_replaces_the_interval_where_the_tracker_knows_one():
    """A musicnn head's calibrated side half-width (words.side_halfwidth) decides when a side is
    known, not 1.28 sd: the sd says where the rating may lie, the half-width when its side is
    known. inf: that side is never named; silence still has no word."""
    rng = np.random.default_rng(1)
    scale = DisplayScale.from_values(rng.normal(0.0, 0.1, (2000, 2)), "reference")
    values = np.array([[0.2, -0.2], [0.2, 0.02], [np.nan, np.nan]], np.float32)
    sd = np.full((3, 2), 0.3, np.float32)  # +-0.38 raw: every interval spans the median
    silent = np.array([False, False, True])
    assert mood_words(values, scale=scale, sd=sd, silent=silent)[:2] == ["unclear", "unclear"]
    words = mood_words(values, scale=scale, sd=sd, silent=silent, side_halfwidth=np.array([0.1, 0.1]))
    assert words == ["energetic, unpleasant", "energetic; valence unclear", ""]
    words = mood_words(values, scale=scale, sd=sd, silent=silent, side_halfwidth=np.array([0.1, np.inf]))
    assert words[:2] == ["energetic; valence unclear"] * 2
