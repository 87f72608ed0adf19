"""The whole-model benchmark script runs end to end on a tiny campus (its figures are not checked:
tests never assert on wall time), times every DA component it names, reports a run that
exceeds ``--timeout`` instead of hanging, and rejects bad arguments with one line and exit 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "runs" / "benchmarks" / "model.py"
_spec = importlib.util.spec_from_file_location("bench_model", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_benchmark_prints_a_row_and_the_component_shares():
    proc = _run("--users", "10", "--seconds", "5", "--timeout", "600")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = lines.index(next(x for x in lines if x.split()[:3] == ["users", "cells", "edges"]))
    row = lines[head + 1].split()
    assert row[:3] == ["10", "2", "1"]
    for value in (row[3], row[4], row[5]):  # user-slots/s with and without DAs, slowdown
        assert float(value.replace(",", "")) > 0
    share_head = lines.index(next(x for x in lines if x.split()[:2] == ["users", "DCC"]))
    assert lines[share_head].split()[1:] == " ".join(bench.SHARE_COLUMNS).split()
    shares = [float(v) for v in lines[share_head + 1].split()[1:]]
    assert len(shares) == len(bench.SHARE_COLUMNS) and sum(shares) == pytest.approx(100, abs=0.5)
    assert "not found" not in proc.stdout  # every named component function still exists


def test_every_component_function_is_found_and_wrapped():
    _, missing = bench.install_timers()
    try:
        assert missing == []
        from agents.level_two import LevelTwoDA
        from agents.orchestrator import EdgeOrchestrator
        from policies.qoe import agent_core, factors

        assert hasattr(factors.select_factors, "__bench_original__")
        assert agent_core.select_factors is factors.select_factors  # `from m import f` too
        assert hasattr(LevelTwoDA.act, "__bench_original__")
        assert hasattr(EdgeOrchestrator.act, "__bench_original__")
    finally:
        bench.remove_timers()
    assert not hasattr(factors.select_factors, "__bench_original__")
    assert not hasattr(agent_core.select_factors, "__bench_original__")


def test_time_goes_to_the_innermost_component():
    timers = bench._Timers()
    inner = timers.wrap("DCC", lambda: time.sleep(0.02))

    def outer_body() -> None:
        time.sleep(0.01)
        inner()

    timers.wrap("fits", outer_body)()
    assert timers.calls == {**timers.calls, "DCC": 1, "fits": 1}
    assert timers.total["DCC"] >= 0.02
    assert 0.01 <= timers.total["fits"] < timers.total["DCC"]


def test_a_run_over_the_timeout_is_reported_not_awaited():
    proc = _run("--users", "10", "--seconds", "5", "--timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    row = next(x for x in proc.stdout.splitlines() if x.split()[:1] == ["10"])
    assert "> 0.5 s" in row
    assert "note: 10 users with DAs timed out after 0.5 s" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--users", "0"], "error: --users 0: users must be 1..1000000"),
        (["--seconds", "0"], "error: --seconds 0: network time must be 1..1e7 s"),
        (
            ["--timeout", "-1"],
            "error: --timeout -1: must be positive (seconds of wall time per run)",
        ),
        (["--users", "many"], "error: argument --users: invalid int value: 'many'"),
        (["--profile", "/nonexistent/dir"], "error: --profile /nonexistent/dir: not a directory"),
    ],
)
def test_benchmark_rejects_bad_arguments(args: list[str], message: str):
    proc = _run(*args)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [message]
    assert proc.stdout == ""
