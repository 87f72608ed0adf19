"""Fig. 6 of seed 003 through the twins (runs.reproduce.fig6), quick mode and helpers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runs.reproduce.fig6 import (
    DESIGN_KEYS,
    SCHEMES,
    SOURCE,
    _smooth,
    reproduce_fig6,
    run_scheme,
    scenario_for,
    summarise,
)


def test_quick_mode_writes_its_files(tmp_path: Path) -> None:
    summary = reproduce_fig6(tmp_path, quick=True, seeds=1, progress=False)
    assert summary["mode"] == "quick"
    assert (tmp_path / "fig6.png").stat().st_size > 10_000
    frame = pd.read_csv(tmp_path / "fig6.csv")
    assert list(frame.columns) == ["epoch", "scheme", "seed", "reward", "entropy"]
    assert set(SCHEMES) | {SOURCE} == set(frame["scheme"])
    assert frame.groupby("scheme").size().nunique() == 1  # every scheme: epochs x seeds rows
    assert np.isfinite(frame[["reward", "entropy"]].to_numpy()).all()
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["mode"] == "quick" and set(SCHEMES) <= set(on_disk["schemes"])
    assert on_disk["algorithms"] == ["maml", "reptile"]
    # the data flow: models and gradients went as messages between the twin cores
    ml = on_disk["messages"]["PPO-ML (maml)"]
    assert ml["meta_update"] >= 2 and ml["model_request"] >= 1 and ml["meta_model"] >= 3
    assert on_disk["messages"]["PPO-TL"]["transfer_request"] >= 1
    assert "meta_update" not in on_disk["messages"]["PPO-random"]
    emu = pd.read_csv(tmp_path / "emulator.csv")
    assert {"object_matrix_err", "mu_err_mhz", "sigma_err_mhz", "drift_z"} <= set(emu.columns)


def test_set_changes_the_study_and_design_keys_are_refused(tmp_path: Path) -> None:
    cfg = scenario_for("meta", 1, True, {"vehicles.cav_pairs": 2, "meta.algorithm": "fomaml"})
    assert (cfg.cav.n_pairs, cfg.meta.init, cfg.meta.algorithm) == (2, "meta", "fomaml")
    assert cfg.seed == scenario_for("meta", 0, True).seed + 1
    with pytest.raises(ValueError, match="fig6 sets it"):
        reproduce_fig6(tmp_path, quick=True, seeds=1, progress=False,
                       overrides={DESIGN_KEYS[0]: "scratch"})


def test_one_algorithm_when_set_and_pairs_follow_vehicles(tmp_path: Path) -> None:
    s = reproduce_fig6(tmp_path, quick=True, seeds=1, progress=False,
                       overrides={"meta.algorithm": "reptile", "vehicles.cav_pairs": 2,
                                  "meta.online_adaptation_steps": 2})
    assert s["algorithms"] == ["reptile"] and s["cav_pairs"] == 2 and s["epochs"] == 2
    assert set(s["schemes"]) == {"PPO-random", "PPO-TL", "PPO-ML (reptile)", SOURCE}


def test_schemes_differ_only_by_the_init_key() -> None:
    runs = {init: run_scheme(scenario_for(init, 0, True, {"meta.online_adaptation_steps": 1}))
            for init in ("scratch", "meta")}
    assert runs["meta"].meta_losses and not runs["scratch"].meta_losses
    assert np.isfinite(runs["meta"].meta_losses).all()


def test_smoothing_and_convergence_epoch() -> None:
    assert np.allclose(_smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])
    ramp = np.linspace(0.0, 100.0, 101)[:, None].repeat(2, axis=1)
    flat = np.full((101, 2), 100.0)
    curves = {"PPO-random": (ramp, flat), "PPO-TL": (ramp * 0.5, flat),
              "PPO-ML (maml)": (flat, flat * 0.5)}
    s = summarise(curves, oracle=0.0)
    # Random's final (last 10 epochs) is 95.5, so 90% of it is 85.95; smoothing window 2.
    assert s["threshold_90pct_random_final"] == pytest.approx(0.9 * 95.5)
    assert s["schemes"]["PPO-ML (maml)"]["epochs_to_90pct_random_final"] == 1
    assert s["schemes"]["PPO-random"]["epochs_to_90pct_random_final"] == 88
    assert s["schemes"]["PPO-TL"]["epochs_to_90pct_random_final"] is None
    assert s["claims"]["PPO-ML (maml) converges faster than TL"]


def test_cli_copy_of_the_design_keys_matches() -> None:
    from runs.reproduce import cli

    assert cli.FIG6_DESIGN_KEYS == DESIGN_KEYS
