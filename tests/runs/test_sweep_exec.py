"""Sweep execution: identical results whatever the workers or backend, failures recorded and
retried without sinking the sweep, resume after a killed worker or Ctrl-C."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import runs.sweep_backends as backends
from runs.cli import main
from runs.sweep import plan_sweep, run_sweep
from runs.sweep_backends import FAIL_ENV
from runs.sweep_folder import SweepError, read_json, run_folder

TINY_SET = ["scenario.duration_s=12", "users.count=4", "scenario.service=none"]
GRID = {"users.count": [3, 5]}


def _plan(n_seeds: int = 2):
    return plan_sweep("campus-video", GRID, n_seeds, TINY_SET)


def _run_files(folder: Path) -> dict[str, bytes]:
    runs = folder / "runs"
    return {
        p.relative_to(runs).as_posix(): p.read_bytes()
        for p in sorted(runs.rglob("*"))
        if p.is_file()
    }


def _results(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "results.parquet").set_index("run_id")


def _assert_same_results(a: Path, b: Path) -> None:
    files_a, files_b = _run_files(a), _run_files(b)
    assert files_a and files_a.keys() == files_b.keys()
    for name in files_a:
        assert files_a[name] == files_b[name], name
    pd.testing.assert_frame_equal(_results(a), _results(b))


def _hidden(folder: Path) -> list[Path]:
    return list((folder / "runs").glob(".*"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The sweep of ``_plan()`` run by one worker: what every other way must reproduce."""
    folder = tmp_path_factory.mktemp("reference") / "sweep"
    assert run_sweep(_plan(), folder, workers=1).ok == 4
    return folder


def test_one_and_two_workers_give_identical_results(tmp_path, reference):
    plan = _plan()
    two = run_sweep(plan, tmp_path / "two", workers=2)
    assert two.ok == 4 and not two.failed
    _assert_same_results(reference, tmp_path / "two")
    table = _results(reference)
    assert {"users.count", "seed", "status", "messages.sent", "mean_throughput_mbps"} <= set(
        table.columns
    )
    assert (table["status"] == "ok").all()
    assert sorted(table["seed"].unique()) == plan.seeds
    manifest = read_json(reference / "sweep.json")
    assert manifest["grid"] == GRID and [r["run_id"] for r in manifest["runs"]] == list(table.index)


def test_a_failing_run_is_recorded_retried_and_does_not_sink_the_sweep(tmp_path, monkeypatch):
    plan = _plan()
    bad = plan.runs[1].run_id
    monkeypatch.setenv(FAIL_ENV, f"{bad}:raise")
    outcome = run_sweep(plan, tmp_path / "s", workers=2, retries=1)
    assert outcome.failed == [bad] and outcome.ok == 3
    failures = read_json(tmp_path / "s" / "failures.json")
    assert [(f["run_id"], f["attempt"], f["kind"]) for f in failures] == [
        (bad, 1, "exception"),
        (bad, 2, "exception"),
    ]
    assert "injected failure" in failures[0]["error"] and "Traceback" in failures[0]["traceback"]
    table = _results(tmp_path / "s")
    assert table.loc[bad, "status"] == "failed" and "injected" in table.loc[bad, "error"]
    assert (table.drop(index=bad)["status"] == "ok").all()
    assert not run_folder(tmp_path / "s", bad).exists() and not _hidden(tmp_path / "s")


def test_a_killed_worker_is_blamed_on_its_own_run_and_retried(tmp_path, monkeypatch, reference):
    plan = _plan()
    victim = plan.runs[1].run_id  # runs in flight beside runs[0] with two workers
    monkeypatch.setenv(FAIL_ENV, f"{victim}:exit:1")
    outcome = run_sweep(plan, tmp_path / "s", workers=2, retries=1)
    assert outcome.ok == 4 and not outcome.failed
    failures = read_json(tmp_path / "s" / "failures.json")
    assert [(f["run_id"], f["kind"]) for f in failures] == [(victim, "worker-died")]
    _assert_same_results(reference, tmp_path / "s")


def test_resume_after_a_killed_worker_runs_only_what_is_missing(tmp_path, monkeypatch):
    plan, folder = _plan(), tmp_path / "s"
    victim = plan.runs[2].run_id
    monkeypatch.setenv(FAIL_ENV, f"{victim}:exit")
    first = run_sweep(plan, folder, workers=2, retries=0)
    assert first.failed == [victim] and first.ok == 3
    assert not run_folder(folder, victim).exists() and not _hidden(folder)
    kept = {
        r.run_id: run_folder(folder, r.run_id).stat().st_ino
        for r in plan.runs
        if r.run_id != victim
    }
    monkeypatch.delenv(FAIL_ENV)
    with pytest.raises(SweepError, match="--resume"):
        run_sweep(plan, folder, workers=2)
    second = run_sweep(plan, folder, workers=2, resume=True)
    assert second.ok == 4 and second.skipped == 3 and not second.failed
    assert {k: run_folder(folder, k).stat().st_ino for k in kept} == kept  # untouched
    assert (_results(folder)["status"] == "ok").all()
    with pytest.raises(SweepError, match="different sweep"):
        run_sweep(_plan(n_seeds=3), folder, resume=True)


def test_resume_reruns_stale_runs_and_drops_half_written_temporaries(tmp_path):
    plan, folder = _plan(n_seeds=1), tmp_path / "s"
    run_sweep(plan, folder, workers=1)
    stale = run_folder(folder, plan.runs[0].run_id)
    summary = read_json(stale / "summary.json")
    (stale / "summary.json").write_text('{"config_digest": "not-this-config"}')
    (folder / "runs" / f".{plan.runs[1].run_id}.half").mkdir()
    outcome = run_sweep(plan, folder, workers=1, resume=True)
    assert outcome.skipped == 1 and outcome.ok == 2
    assert read_json(stale / "summary.json") == summary and not _hidden(folder)


def _interrupt_after_first_run(monkeypatch) -> None:
    real = backends.execute

    def execute(tasks, backend, retries, on_event, inflight=None):
        def event(kind, task, result):
            on_event(kind, task, result)
            if kind == "ok":
                raise KeyboardInterrupt

        return real(tasks, backend, retries, event, inflight)

    monkeypatch.setattr(backends, "execute", execute)


def test_ctrl_c_leaves_a_resumable_sweep(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "s"
    argv = [
        "sweep",
        "campus-video",
        *[a for s in TINY_SET for a in ("--set", s)],
        "--grid",
        "users.count=3,5",
        "--seeds",
        "2",
        "--workers",
        "2",
        "--out",
        str(folder),
        "--quiet",
    ]
    _interrupt_after_first_run(monkeypatch)
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err and str(folder) in err
    status = _results(folder)["status"]
    assert (status == "ok").sum() >= 1 and (status == "pending").sum() >= 1
    assert not _hidden(folder)
    for run_id in status.index[status == "pending"]:
        assert not run_folder(folder, run_id).exists()
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    assert (_results(folder)["status"] == "ok").all()


def test_missing_ray_exits_2_before_writing(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    out = tmp_path / "s"
    argv = [
        "sweep",
        "campus-video",
        "--grid",
        "users.count=3",
        "--backend",
        "ray",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install" in err and "\n" not in err and not out.exists()


@pytest.mark.ray
def test_ray_backend_gives_the_same_results_as_local_workers(tmp_path, monkeypatch, reference):
    pytest.importorskip("ray")
    plan = _plan()
    monkeypatch.setenv(FAIL_ENV, f"{plan.runs[0].run_id}:exit:1,{plan.runs[3].run_id}:raise:1")
    outcome = run_sweep(plan, tmp_path / "ray", backend="ray", workers=2, retries=1)
    assert outcome.ok == 4 and not outcome.failed
    kinds = {f["run_id"]: f["kind"] for f in read_json(tmp_path / "ray" / "failures.json")}
    assert kinds == {plan.runs[0].run_id: "worker-died", plan.runs[3].run_id: "exception"}
    _assert_same_results(reference, tmp_path / "ray")
