"""Issue 23, class 9: bounded by what a file or machine is, not by what it claims.

A head whose facts (or display-scale reference) are megabytes is refused before it
reaches every track's JSON; ``--jobs`` is lowered to the cores and memory the machine
has, and says so; ``--cluster`` pointed at a server that is not Ray ends in one line
within seconds (HTTP, or a server that says nothing); ``ray://`` needs ``ray[client]``,
so the ``cluster`` extra asks for it.
"""
from __future__ import annotations

import http.server
import json
import re
import socket
import socketserver
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from emotrack.model.errors import CheckpointError, ParameterError
from emotrack.model.ridge import RidgeHead
from emotrack.model.validate import MAX_FACTS_CHARS
from emotrack.realtime.catalog import run as catalog_run
from emotrack.realtime.catalog.executors import _check_reachable
from conftest import REPO


def _head(facts: dict) -> RidgeHead:
    rng = np.random.default_rng(0)
    return RidgeHead.fit(rng.standard_normal((40, 3)), rng.standard_normal((40, 2)), 1.0, facts=facts)


def _write_head_with_raw_facts(path: Path, facts_text: str) -> Path:
    from safetensors.numpy import save_file

    head = _head({})
    tensors = {"mean": head.mean.astype(np.float32), "std": head.std.astype(np.float32),
               "coef": head.coef.astype(np.float32), "intercept": head.intercept.astype(np.float32),
               "alpha": head.alpha.astype(np.float64)}
    from emotrack.model.ridge import HEAD_FORMAT

    save_file(tensors, str(path), metadata={"format": HEAD_FORMAT,
                                            "format_version": "1",  # a head without an sd model
                                            "facts": facts_text})
    return path


def test_a_head_with_megabytes_of_facts_is_refused_on_load(tmp_path):
    path = _write_head_with_raw_facts(tmp_path / "big.safetensors",
                                      json.dumps({"notes": "x" * (2 * MAX_FACTS_CHARS)}))
    with pytest.raises(CheckpointError, match="more than the 262144 emotrack accepts"):
        RidgeHead.load(path)


def test_a_display_scale_reference_of_megabytes_is_refused(tmp_path):
    from emotrack.model.scale import DisplayScale

    values = np.random.default_rng(1).standard_normal((500, 2))
    scale = DisplayScale.from_values(values, "x" * 5_000_000).to_dict()  # the 50 MB, smaller
    path = _write_head_with_raw_facts(tmp_path / "scale.safetensors",
                                      json.dumps({"display_scale": scale}))
    with pytest.raises(CheckpointError, match="facts|reference"):
        RidgeHead.load(path)
    scale["reference"] = "y" * 2000  # small enough for the facts, too long for a reference
    path = _write_head_with_raw_facts(tmp_path / "ref.safetensors", json.dumps({"display_scale": scale}))
    with pytest.raises(CheckpointError, match="reference must be text of at most 1000"):
        RidgeHead.load(path)


def test_facts_that_load_would_refuse_are_never_written(tmp_path):
    with pytest.raises(ParameterError, match="head facts are"):
        _head({"notes": "x" * (MAX_FACTS_CHARS + 1)}).save(tmp_path / "h.safetensors")
    assert not (tmp_path / "h.safetensors").exists()
    head = _head({"notes": "fine"})
    assert RidgeHead.load(head.save(tmp_path / "ok.safetensors")).facts == {"notes": "fine"}


def test_a_checkpoint_with_megabytes_of_facts_is_refused_on_save(tmp_path):
    from emotrack.model.checkpoint import create_untrained_checkpoint

    with pytest.raises(ParameterError, match="checkpoint facts are"):
        from emotrack.model.checkpoint import load_checkpoint, save_checkpoint

        ckpt = load_checkpoint(create_untrained_checkpoint(tmp_path / "u.safetensors", model_name="baseline"))
        save_checkpoint(tmp_path / "big.safetensors", model_name="baseline", hparams=ckpt.hparams,
                        state_dict=ckpt.state_dict, spec=ckpt.spec, norm_mean=ckpt.norm_mean,
                        norm_std=ckpt.norm_std, facts={"notes": "x" * (MAX_FACTS_CHARS + 1)})
    assert not (tmp_path / "big.safetensors").exists()


# ---- --jobs ------------------------------------------------------------------------------

@pytest.mark.parametrize("cores, available, expected", [
    (2, 64 * 1024 ** 3, 2),            # cores bound it
    (64, 2 * 1024 ** 3, 4),            # memory bounds it: 2 GB / 0.5 GB
    (8, 100 * 1024 ** 2, 1),           # never below one
    (4, None, 4),                      # memory unknown: cores
])
def test_worker_limit_is_cores_and_memory(cores, available, expected):
    limit, why = catalog_run.worker_limit(cores=cores, available=available)
    assert limit == expected and why


def test_jobs_beyond_the_machine_are_lowered_and_said(tmp_path, monkeypatch, capsys):
    from emotrack.realtime.cli import main
    from fixtures_train import write_tone

    monkeypatch.setattr(catalog_run, "worker_limit", lambda **_: (1, "1 CPU core(s)"))
    made = []
    real = catalog_run.LocalProcesses

    def spy(*a, **k):
        made.append(k.get("processes"))
        return real(*a, **k)

    monkeypatch.setattr(catalog_run, "LocalProcesses", spy)
    songs = [write_tone(tmp_path / f"s{i}.wav", 1.0, freq=300.0 + 100 * i) for i in range(3)]
    rc = main(["analyze", *map(str, songs), "--out", str(tmp_path / "out"), "--jobs", "4096",
               "--model", "baseline", "--format", "csv", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "emotrack: warning: --jobs 4096 lowered to 1 (1 CPU core(s))" in err
    assert made == []  # one worker: the tracks ran in this process, no pool of 4096
    assert len(list((tmp_path / "out").glob("*.csv"))) == 3


# ---- --cluster ---------------------------------------------------------------------------

class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = socketserver.TCPServer(("127.0.0.1", 0), _Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_cluster_at_an_http_server_is_one_line_at_once(http_server, scheme, capsys):
    from emotrack.realtime.cli import main

    pytest.importorskip("ray")
    started = time.monotonic()
    rc = main(["analyze", "x.wav", "--out", "/tmp/never-made-by-this-test", "--cluster",
               f"{scheme}127.0.0.1:{http_server}", "--model", "baseline"])
    err = capsys.readouterr().err
    assert rc == 1 and time.monotonic() - started < 60
    line = [ln for ln in err.splitlines() if ln.startswith("emotrack: error:")]
    assert "Traceback" not in err and len(line) == 1, err
    # x.wav does not exist, so no track reaches the cluster: check the probe itself too
    with pytest.raises(ParameterError, match="is not a Ray cluster: it answered b'<!DOCTYPE'|HTTP/1"):
        _check_reachable(f"{scheme}127.0.0.1:{http_server}", timeout_s=2.0)


def test_cluster_at_a_server_that_says_nothing_ends_in_bounded_time():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        started = time.monotonic()
        with pytest.raises(ParameterError, match="it sent nothing in 1 s"):
            _check_reachable(f"127.0.0.1:{listener.getsockname()[1]}", timeout_s=1.0)
        assert time.monotonic() - started < 10
    finally:
        listener.close()


def test_a_grpc_server_is_accepted():
    """What Ray's GCS and client server do first: send an HTTP/2 SETTINGS frame."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        _check_reachable(f"127.0.0.1:{listener.getsockname()[1]}", timeout_s=5.0)
    finally:
        thread.join(5)
        listener.close()


def test_the_cluster_extra_has_ray_client_because_the_docs_offer_ray_urls():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    documented = any("ray://" in (REPO / p).read_text() for p in ("docs/catalog.md", "README.md"))
    assert documented
    assert any(re.match(r"ray\[[^\]]*\bclient\b", dep) for dep in extras["cluster"]), extras["cluster"]
