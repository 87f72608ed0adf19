"""Sweep planning: grid parsing and expansion, seeds, validation before anything runs, and
equality with ``mesa.batch_run`` on the same points."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.config import ConfigError
from runs.cli import main
from runs.sweep import (
    _split_top_level,
    batch_parameters,
    expand_grid,
    parse_grid,
    plan_sweep,
    run_sweep,
    sweep_seeds,
)
from runs.sweep_folder import SweepError, check_folder, open_folder, read_json, run_folder

# The bare world (no service) keeps these tests about the sweep machinery, fast, and independent
# of the services' own development.
TINY = {"scenario.duration_s": 12.0, "users.count": 4, "scenario.service": "none"}
TINY_SET = [f"{k}={v}" for k, v in TINY.items()]


def test_grid_values_are_toml_literals_split_on_top_level_commas():
    grid = parse_grid(
        ["users.count=3, 5", "scenario.scheme=proposed,wo-da", "users.speed_max_kmh=10.5,20"]
    )
    assert grid == {
        "users.count": [3, 5],
        "scenario.scheme": ["proposed", "wo-da"],
        "users.speed_max_kmh": [10.5, 20],
    }
    assert _split_top_level('[1, 2],[3],"a,b"') == ["[1, 2]", "[3]", '"a,b"']


@pytest.mark.parametrize(
    ("items", "key"),
    [
        (["users.count=3,3"], "users.count"),
        (["users.count=3,,5"], "users.count"),
        (["users.count=3", "users.count=5"], "users.count"),
        (["scenario.seed=1,2"], "scenario.seed"),
        (["users=3"], "users"),
        (["users.count"], "users.count"),
    ],
)
def test_bad_grids_name_their_key(items, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        parse_grid(items)


@given(st.lists(st.integers(1, 4), min_size=0, max_size=4))
def test_expansion_is_the_cartesian_product_first_key_slowest(sizes):
    grid = {f"s.k{i}": list(range(n)) for i, n in enumerate(sizes)}
    points = expand_grid(grid)
    assert len(points) == math.prod(sizes)
    assert len({tuple(p.items()) for p in points}) == len(points)
    for key, values in grid.items():
        counts = pd.Series([p[key] for p in points]).value_counts()
        assert set(counts.index) == set(values) and counts.nunique() == 1
    positions = [tuple(grid[k].index(p[k]) for k in grid) for p in points]
    assert positions == sorted(positions)  # lexicographic: the first key changes slowest


def test_plan_resolves_every_run_with_seeds_from_the_scenario_seed():
    plan = plan_sweep("campus-video", {"users.count": [3, 4]}, 3, TINY_SET, seed=100)
    assert plan.seeds == sweep_seeds(100, 3) == [100, 101, 102]
    assert len(plan.runs) == 6
    assert len({r.run_id for r in plan.runs}) == 6 and len({r.digest for r in plan.runs}) == 6
    for run in plan.runs:
        assert run.config["users"]["count"] == run.params["users.count"]
        assert run.config["scenario"]["seed"] == run.seed
        assert run.config["scenario"]["duration_s"] == 12.0
    again = plan_sweep("campus-video", {"users.count": [3, 4]}, 3, TINY_SET, seed=100)
    assert again.manifest() == plan.manifest() and again.key() == plan.key()


def test_manifest_keeps_the_grid_order_that_numbers_the_points(tmp_path):
    grid = {"users.count": [3, 4], "scenario.scheme": ["proposed", "wo-da"]}
    plan = plan_sweep("campus-video", grid, 1, TINY_SET)
    assert open_folder(tmp_path, plan) == set()
    manifest = read_json(tmp_path / "sweep.json")
    assert list(manifest["grid"]) == ["users.count", "scenario.scheme"]
    assert [r["params"] for r in manifest["runs"]][:2] == [
        {"users.count": 3, "scenario.scheme": "proposed"},
        {"users.count": 3, "scenario.scheme": "wo-da"},
    ]
    check_folder(tmp_path, plan, resume=True)
    swapped = plan_sweep("campus-video", dict(reversed(grid.items())), 1, TINY_SET)
    assert swapped.key() != plan.key()
    with pytest.raises(SweepError, match="grid differs"):
        check_folder(tmp_path, swapped, resume=True)


def test_plan_validates_every_point_and_names_the_key():
    with pytest.raises(ConfigError, match=r"^users\.count: .*out of range.*grid point"):
        plan_sweep("campus-video", {"users.count": [3, -1]}, 1, TINY_SET)
    with pytest.raises(ConfigError, match=r"^users\.nope: unknown key"):
        plan_sweep("campus-video", {"users.nope": [1]}, 1, TINY_SET)


@pytest.mark.parametrize(
    "extra",
    [
        ["--grid", "users.count=3,-1"],
        ["--grid", "users.nope=1,2"],
        ["--grid", "nosuch.key=1"],
        ["--grid", "scenario.seed=1,2"],
        ["--grid", "users.count=3", "--seeds", "0"],
        ["--grid", "users.count=3", "--workers", "0"],
        ["--grid", "scenario.pathloss=uma"],
    ],
)
def test_cli_bad_grid_exits_2_with_one_line_and_no_folder(extra, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = [
        "sweep",
        "campus-video",
        *[a for s in TINY_SET for a in ("--set", s)],
        *extra,
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("twinslice: error:") and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_batch_parameters_maps_dotted_keys_to_network_model_keywords():
    params = batch_parameters(
        {"users.count": [3, 4], "scenario.scheme": ["wo-da"]},
        base={"scenario.duration_s": 12.0, "area.size": [1, 2]},
        scenario="campus-video",
    )
    assert params == {
        "scenario": ["campus-video"],
        "scenario__duration_s": [12.0],
        "area__size": [[1, 2]],
        "users__count": [3, 4],
        "scenario__scheme": ["wo-da"],
    }


def test_mesa_batch_run_gives_the_same_numbers_as_the_sweep(tmp_path):
    from mesa import batch_run

    from model.network_model import NetworkModel

    grid = {"users.count": [3, 5]}
    plan = plan_sweep("campus-video", grid, 2, TINY_SET)
    outcome = run_sweep(plan, tmp_path / "sweep", workers=1)
    assert outcome.ok == 4
    rows = batch_run(
        NetworkModel,
        parameters=batch_parameters(grid, TINY, "campus-video"),
        rng=plan.seeds,
        max_steps=10_000,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 4
    results = pd.read_parquet(tmp_path / "sweep" / "results.parquet").set_index("run_id")
    for row in rows:
        run = next(
            r
            for r in plan.runs
            if r.seed == row["rng"] and r.params["users.count"] == row["users__count"]
        )
        final = pd.read_parquet(run_folder(tmp_path / "sweep", run.run_id) / "model.parquet")
        final = final.iloc[-1]
        assert row["Step"] == final["step"]
        for column in final.index.drop("step"):
            assert row[column] == pytest.approx(final[column], rel=0, abs=0, nan_ok=True), column
        assert row["msgs_sent"] == results.loc[run.run_id, "messages.sent"]
        assert row["time_s"] == results.loc[run.run_id, "time_s"]
