"""Every JSON and JSON-lines file of ``analyze`` and ``listen`` is standard JSON (no NaN/Infinity)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from emotrack.model.json_strict import dumps, finite_or_none
from emotrack.realtime import cli
from emotrack.realtime.outputs.sets import JsonlWriter
from emotrack.realtime.results import TrackResult


def strict_loads(text: str):
    """``json.loads`` that refuses NaN, Infinity and -Infinity (as RFC 8259 parsers do)."""
    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _walk_numbers(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk_numbers(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_numbers(v)
    elif isinstance(value, float):
        yield value


@pytest.fixture
def wav(tmp_path):
    sr = 16000
    x = 0.2 * np.random.default_rng(3).standard_normal(int(3.0 * sr)).astype(np.float32)
    path = tmp_path / "in" / "noise.wav"
    path.parent.mkdir()
    sf.write(path, x, sr)
    return path


@pytest.fixture
def nan_facts_checkpoint(tmp_path):
    """A working checkpoint whose training facts hold NaN and Inf (as the bundled rnn's do)."""
    from emotrack.model.checkpoint import (create_untrained_checkpoint, load_checkpoint,
                                           save_checkpoint)

    base = load_checkpoint(create_untrained_checkpoint(tmp_path / "base.safetensors", "cae",
                                                       channels=[4, 4, 4, 4]))
    return save_checkpoint(tmp_path / "nan-facts.safetensors", model_name=base.model_name,
                           hparams=base.hparams, state_dict=base.state_dict, spec=base.spec,
                           norm_mean=base.norm_mean, norm_std=base.norm_std,
                           facts={"val_r": float("nan"), "ratio": [1.0, float("inf")],
                                  "low": float("-inf"), "trained": False})


def test_finite_or_none_reaches_nested_numpy_values():
    value = {"a": np.float32("nan"), "b": (np.float64(1.5), np.array([np.inf, 2.0])),
             "c": [{"d": -math.inf}], "e": np.int64(3), "f": "NaN"}
    assert finite_or_none(value) == {"a": None, "b": [1.5, [None, 2.0]], "c": [{"d": None}],
                                     "e": 3, "f": "NaN"}
    assert strict_loads(dumps(value)) == finite_or_none(value)


@pytest.mark.parametrize("checkpoint", ["bundled", "nan-facts"])
def test_analyze_json_is_strict_json(checkpoint, wav, nan_facts_checkpoint, tmp_path, capsys):
    argv = ["analyze", str(wav), "--out", str(tmp_path / "out"), "--format", "json", "--quiet"]
    if checkpoint == "nan-facts":
        argv += ["--checkpoint", str(nan_facts_checkpoint)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    docs = list((tmp_path / "out").rglob("*.json"))
    assert len(docs) == 1
    doc = strict_loads(docs[0].read_text(encoding="utf-8"))
    assert len(doc["frames"]) == 6
    assert all(math.isfinite(x) for x in _walk_numbers(doc))
    if checkpoint == "nan-facts":
        facts = doc["model"]["facts"]
        assert facts["val_r"] is None and facts["ratio"] == [1.0, None] and facts["low"] is None


@pytest.mark.parametrize("to_stdout", [False, True])
def test_listen_jsonl_is_strict_json(to_stdout, wav, tmp_path, fake_listen_model, capsys):
    target = "-" if to_stdout else str(tmp_path / "r.jsonl")
    assert cli.main(["listen", str(wav), "--no-playback", "--fast", "--jsonl", target]) == 0
    out = capsys.readouterr().out
    text = out if to_stdout else (tmp_path / "r.jsonl").read_text(encoding="utf-8")
    rows = [strict_loads(line) for line in text.splitlines()]
    assert len(rows) == 6
    assert all(math.isfinite(x) for r in rows for x in _walk_numbers(r))


def test_jsonl_writer_turns_non_finite_numbers_into_null(tmp_path):
    """Trackers refuse non-finite results; should one slip through, the line stays standard JSON."""
    path = tmp_path / "r.jsonl"
    w = JsonlWriter(path, ("a tag",))
    w.write(TrackResult(frame_index=0, time_s=0.5, arousal=math.nan, valence=math.inf,
                        warming_up=False, t_last_sample=1.0, t_ready=math.nan,
                        level_db=-math.inf, extras=(math.nan,)))
    w.close()
    row = strict_loads(path.read_text())
    assert row["arousal"] is None and row["valence"] is None and row["latency_ms"] is None
    assert row["tags"] == {"a tag": None}
