"""Output folders (``runs.outdir``): never destroyed, checked before the work, renamed into place;
``--force`` replaces only a folder twinslice wrote; the summary, the estimate, build hygiene."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from runs import outdir, resources
from runs.cli import main
from runs.outdir import MARKER, OutDirError, stage

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--set",
    "scenario.duration_s=5",
    "--set",
    "users.count=2",
    "--set",
    "scenario.service=none",
]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- the helper ---------------------------------------------------------------------------------
def test_a_new_folder_appears_only_on_commit_with_its_marker(tmp_path):
    target = tmp_path / "a" / "b" / "out"
    staging = stage(target, "test")
    assert not target.exists() and staging.path.parent == target.parent
    assert staging.path.name.startswith(".out.twinslice-tmp-")
    (staging.path / "result.txt").write_text("42\n")
    assert staging.commit() == target
    assert _names(target) == [MARKER, "result.txt"] and outdir.is_output_folder(target)
    assert _names(target.parent) == ["out"]  # no temporary left beside it


def test_abort_removes_the_temporary_and_the_parents_it_made(tmp_path):
    (tmp_path / "keep").mkdir()
    staging = stage(tmp_path / "keep" / "x" / "y" / "out", "test")
    staging.abort()
    assert _names(tmp_path) == ["keep"] and _names(tmp_path / "keep") == []


def test_an_exception_inside_the_staging_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), stage(tmp_path / "out", "test") as staging:
        (staging.path / "half.txt").write_text("half")
        raise KeyboardInterrupt
    assert _names(tmp_path) == []


def test_an_empty_folder_is_used_and_stays_the_same_folder(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    inode = target.stat().st_ino
    with stage(target, "test") as staging:
        assert staging.path.parent == target  # the temporary is inside it
        (staging.path / "r.txt").write_text("1")
        staging.commit()
    assert target.stat().st_ino == inode and _names(target) == [MARKER, "r.txt"]


@pytest.mark.parametrize("replace", [False, True])
def test_a_marked_folder_is_replaced_only_when_asked(tmp_path, replace):
    target = tmp_path / "out"
    with stage(target, "test") as first:
        (first.path / "old.txt").write_text("old")
        first.commit()
    if not replace:
        with pytest.raises(OutDirError, match="--force"):
            stage(target, "test")
        assert _names(target) == [MARKER, "old.txt"]
        return
    with stage(target, "test", replace=True) as second:
        (second.path / "new.txt").write_text("new")
        assert _names(target) == [MARKER, "old.txt"]  # untouched until the commit
        second.commit()
    assert _names(target) == [MARKER, "new.txt"] and _names(tmp_path) == ["out"]


def test_a_folder_that_filled_up_during_the_run_is_not_replaced(tmp_path):
    target = tmp_path / "out"
    staging = stage(target, "test")
    (staging.path / "r.txt").write_text("results")
    target.mkdir()
    (target / "mine.txt").write_text("the user's")
    with pytest.raises(OutDirError, match="they are in"):
        staging.commit()
    assert _names(target) == ["mine.txt"]
    assert (staging.path / "r.txt").read_text() == "results"  # the outputs are not lost


def _a_file(t: Path) -> Path:
    (t / "f").write_text("x")
    return t / "f"


def _user_folder(t: Path) -> Path:
    (t / "d").mkdir()
    (t / "d" / "x").write_text("x")
    return t / "d"


@pytest.mark.parametrize(
    "make",
    [
        _a_file,
        lambda t: _a_file(t) / "sub",
        _user_folder,
        lambda t: Path("/proc/x/y"),
        lambda t: Path("/"),
    ],
    ids=["file", "through-file", "user-folder", "proc", "root"],
)
def test_refusals_touch_nothing(tmp_path, make):
    target = make(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    for replace in (False, True):
        with pytest.raises(OutDirError):
            stage(target, "test", replace=replace)
    assert sorted(tmp_path.rglob("*")) == before


def test_the_marker_is_deterministic():
    assert outdir.marker_text("run") == outdir.marker_text("run")
    assert "twinslice output folder" in outdir.marker_text("run")


def test_default_folder_names_stay_under_runs_out():
    class Cfg:
        class scenario:  # noqa: N801
            name = "../../etc/passwd"

        seed = 1

        @staticmethod
        def digest():
            return "abc"

    path = outdir.default_run_dir(Cfg)
    assert path.parent == outdir.DEFAULT_OUT and "/" not in path.name and ".." not in path.name


# -- the commands -------------------------------------------------------------------------------
def test_run_force_replaces_only_a_marked_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", *TINY, "--quiet", "--out", str(out)]) == 0
    assert (out / MARKER).is_file() and (out / "summary.json").is_file()
    (out / "extra.txt").write_text("left by the user in a twinslice folder")
    capsys.readouterr()
    assert main(["run", *TINY, "--quiet", "--out", str(out)]) == 2  # no --force
    assert "--force" in capsys.readouterr().err and (out / "extra.txt").exists()
    assert main(["run", *TINY, "--quiet", "--force", "--out", str(out)]) == 0
    assert not (out / "extra.txt").exists() and (out / "summary.json").is_file()
    assert _names(tmp_path) == ["out"]
    (out / MARKER).unlink()  # no longer twinslice's: --force does not help
    assert main(["run", *TINY, "--quiet", "--force", "--out", str(out)]) == 2
    assert (out / "summary.json").is_file()


def test_run_into_an_empty_folder_and_the_summary(tmp_path, capsys):
    out = tmp_path / "empty"
    out.mkdir()
    assert main(["run", *TINY, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == f"wrote {out}"
    assert json.loads(lines[1])["users"] == 2  # the machine-readable line stays
    summary = "\n".join(lines[2:])
    assert "wall time" in summary and "messages" in summary and lines[-1].endswith(str(out))
    assert "estimate for" in captured.err  # printed before the run
    assert (out / "summary.json").is_file()


def test_the_summary_of_a_video_run_names_qoe_ela_and_nash_gap(tmp_path):
    from runs.report import run_summary_lines

    summary = {
        "scenario": "campus-video",
        "users": 20,
        "time_s": 1800.0,
        "slots": 1800,
        "seed": 2024,
        "scheme": "proposed",
        "qoe": {"p10": 1.5, "p50": 3.2, "p90": 4.1, "mean": 3.0},
        "ela_ratio": {"p50": 0.9, "mean": 0.8},
        "slicing": {
            "windows_sliced": 5,
            "mechanism": "game",
            "mean_nash_gap": 2e-7,
            "max_nash_gap": 5e-7,
            "converged_share": 1.0,
        },
        "messages": {"sent": 8448, "delivered": 8442, "bytes": 2946976},
        "mean_throughput_mbps": 1.97,
        "handovers": 424,
    }
    text = "\n".join(run_summary_lines(summary, tmp_path, 95.0))
    for words in (
        "median QoE",
        "3.2",
        "ELA achievable ratio",
        "0.9",
        "Nash gap",
        "5e-07",
        "8,448 sent",
        "2.9 MB",
        "1 min 35 s",
        str(tmp_path),
    ):
        assert words in text, words
    cav = {**summary, "twin_events": {"a": 3}, "meta_rounds": 4, "cache_hit_ratio": 0.5}
    for key in ("qoe", "ela_ratio", "slicing"):
        cav.pop(key)
    text = "\n".join(run_summary_lines(cav, tmp_path, 5.0))
    assert "median QoE" not in text and "meta learning" in text and "cache" in text


def test_sweep_refuses_replaces_with_force_and_resumes(tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = [
        "sweep",
        "campus-video",
        *TINY,
        "--grid",
        "users.count=2,3",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert (out / MARKER).is_file() and (out / "sweep.json").is_file()
    assert _names(tmp_path) == ["sweep"]
    assert main(argv) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0  # in place: nothing re-run
    assert "2 already were" in capsys.readouterr().out
    (out / "note.txt").write_text("x")
    assert main([*argv, "--force"]) == 0
    assert not (out / "note.txt").exists() and (out / "results.parquet").is_file()
    assert _names(tmp_path) == ["sweep"]


# -- the resource estimate -----------------------------------------------------------------------
def test_estimates_grow_with_users_and_duration_and_the_guard_refuses(monkeypatch):
    from model.config import load_scenario

    small = resources.estimate(load_scenario("campus-video", ["users.count=5"]))
    big = resources.estimate(load_scenario("campus-video", ["users.count=500"]))
    long = resources.estimate(load_scenario("campus-video", ["scenario.duration_s=100000"]))
    assert small.memory_mb < big.memory_mb and small.wall_s < big.wall_s
    assert small.wall_s < long.wall_s
    bare = resources.estimate(load_scenario("campus-video", ["scenario.service=none"]))
    assert bare.wall_s < resources.estimate(load_scenario("campus-video")).wall_s
    tight = resources.Estimate("x", 2000.0, 10.0, 1000.0)
    with pytest.raises(resources.ResourceError, match="--force"):
        resources.guard(tight)
    resources.guard(tight, force=True)
    resources.guard(resources.Estimate("x", 2000.0, 10.0, None))  # unknown: not refused


def test_available_memory_falls_back_gracefully(tmp_path, monkeypatch):
    monkeypatch.delenv("TWINSLICE_AVAILABLE_MB", raising=False)
    assert resources._meminfo_available_mb(tmp_path / "nope") is None
    (tmp_path / "meminfo").write_text("MemTotal: 100 kB\nMemAvailable:   2048 kB\n")
    assert resources._meminfo_available_mb(tmp_path / "meminfo") == 2.0
    assert resources._cgroup_free_mb(tmp_path) is None
    value = resources.available_mb()
    assert value is None or value > 0


# -- copies that must stay equal, build hygiene ----------------------------------------------------
def test_fig5_design_keys_copy_matches_the_experiment():
    from runs.reproduce.cli import FIG5_DESIGN_KEYS
    from runs.reproduce.fig5 import DESIGN_KEYS

    assert FIG5_DESIGN_KEYS == DESIGN_KEYS


def test_pyproject_license_and_build_backend_bounds():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["license"] == "MIT"
    requires = " ".join(data["build-system"]["requires"])
    assert (
        re.search(r"setuptools>=(\d+)", requires)
        and int(re.search(r"setuptools>=(\d+)", requires).group(1)) >= 77
    )
    assert re.search(r"setuptools[^,\"]*,<\d+", requires)


def test_no_absolute_paths_outside_the_repository_in_the_code():
    pattern = re.compile(r"/work/|/home/|(?<![\w-])/[\w./-]*shared/models")
    hits = []
    for package in ("policies", "agents", "model", "runs", "visualization"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{number}")
    assert not hits, hits
