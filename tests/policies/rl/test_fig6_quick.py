"""Smoke test of the Fig. 6 reproduction (seed 003 Sec. IV) in quick mode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runs.reproduce.fig6 import SCHEMES, _smooth, reproduce_fig6, summarise


def test_quick_mode_writes_its_files(tmp_path: Path) -> None:
    summary = reproduce_fig6(tmp_path, quick=True, seeds=2, rng_seed=1, progress=False)
    assert (tmp_path / "fig6.png").stat().st_size > 10_000
    frame = pd.read_csv(tmp_path / "fig6.csv")
    assert list(frame.columns) == ["epoch", "scheme", "seed", "reward", "entropy"]
    assert set(SCHEMES) <= set(frame["scheme"])
    assert frame.groupby("scheme").size().nunique() == 1  # every scheme: epochs x seeds rows
    assert np.isfinite(frame[["reward", "entropy"]].to_numpy()).all()
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk["mode"] == "quick" and set(SCHEMES) <= set(on_disk["schemes"])
    assert summary["schemes"]["PPO-ML"]["reward_final"] == on_disk["schemes"]["PPO-ML"][
        "reward_final"]


def test_smoothing_and_convergence_epoch() -> None:
    assert np.allclose(_smooth(np.array([1.0, 3.0, 5.0, 7.0]), 2), [1.0, 2.0, 4.0, 6.0])
    ramp = np.linspace(0.0, 100.0, 101)[:, None].repeat(2, axis=1)
    flat = np.full((101, 2), 100.0)
    curves = {"PPO-random": (ramp, flat), "PPO-TL": (ramp * 0.5, flat),
              "PPO-ML": (flat, flat * 0.5)}
    s = summarise(curves, oracle=0.0)
    # Random's final (last 10 epochs) is 95.5, so 90% of it is 85.95; smoothing window 2.
    assert s["threshold_90pct_random_final"] == pytest.approx(0.9 * 95.5)
    assert s["schemes"]["PPO-ML"]["epochs_to_90pct_random_final"] == 1
    assert s["schemes"]["PPO-random"]["epochs_to_90pct_random_final"] == 88
    assert s["schemes"]["PPO-TL"]["epochs_to_90pct_random_final"] is None
    assert s["claims"]["ML converges faster than TL"]
