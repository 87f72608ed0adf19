"""The edge twin's own emulation model and its drift detection (seed 003 III.B, III.C.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from model.network_model import NetworkModel
from policies.rl.cav_env import cav_transition, initial_state
from policies.rl.cav_params import CavParams
from policies.twins.emulator import EmulatorEstimate, model_error
from policies.twins.twin_payloads import Trajectory
from runs.reproduce.fig6 import run_scheme, scenario_for

torch.set_num_threads(1)
CAV = CavParams()


def _trajectory(cav: CavParams, slots: int, rng: np.random.Generator) -> Trajectory:
    """A continuing all-SP stretch of the world's exogenous chains (no slot index)."""
    state = initial_state(np.full((1, cav.slots_per_episode), 6.0), cav, rng)
    o, d, b = [], [], []
    for _ in range(slots):
        o.append(state.object_level[0].copy())
        d.append(state.distance_level[0].copy())
        b.append(float(state.bandwidth_mhz[0]))
        state = cav_transition(state, np.zeros((1, cav.n_pairs), bool), cav, rng)
        state = state if state.slot < cav.slots_per_episode else state.__class__(
            0, state.mu_mhz, state.bandwidth_mhz, state.object_level, state.distance_level,
            state.prev_mode)
    n = cav.n_pairs
    return Trajectory(np.array(b), np.array(o), np.array(d), np.zeros((slots, n), bool),
                      np.full((slots, n), np.nan, np.float32), np.full(slots, np.nan, np.float32),
                      np.zeros(slots), np.full(slots, -1), float(state.bandwidth_mhz[0]),
                      state.object_level[0].copy(), state.distance_level[0].copy(),
                      np.zeros(n, bool))


def test_without_data_the_model_is_the_prior_not_the_world() -> None:
    est = EmulatorEstimate(CAV, 1.0, 0.5, 300, 6.0)
    assert np.allclose(est.matrix("object"), 0.2) and np.allclose(est.matrix("distance"), 0.2)
    em = est.emulation_params(15, 0.5)
    assert em.object_transition != CAV.object_transition and em.bandwidth_std_mhz == 0.5


def test_estimated_chains_approach_the_world_as_reports_accumulate() -> None:
    rng = np.random.default_rng(0)
    est = EmulatorEstimate(CAV, 1.0, 0.5, 300, 6.0)
    errors = []
    for _ in range(40):
        est.learn(_trajectory(CAV, 50, rng))
        errors.append(model_error(est, CAV, np.zeros(1), 0.3, np.zeros(1))["object_matrix_err"])
    assert errors[-1] < 0.06 < errors[0]
    assert np.mean(errors[-10:]) < 0.5 * np.mean(errors[:5])


def test_radio_sigma_and_mu_k_are_estimated_from_slot_indices() -> None:
    rng = np.random.default_rng(1)
    k = np.tile(np.arange(75), 20)
    mu_true = rng.choice([5.0, 6.0, 7.0], 75)
    b = mu_true[k] + rng.normal(0.0, 0.3, k.size)
    est = EmulatorEstimate(CAV, 1.0, 0.5, 300, 6.0)
    mu, sigma, sd = est.radio(b, k, 75)
    assert np.abs(mu - mu_true).mean() < 0.1 and sigma == pytest.approx(0.3, abs=0.03)
    assert (sd > sigma).all()


@pytest.mark.parametrize("kind", ["none", "markov", "radio"])
def test_drift_is_detected_after_the_world_changes_and_not_before(kind: str) -> None:
    # Task-1 PLVN of Fig. 6 (quick size: 2 episodes of 75 slots per report); drift at 1500 s.
    drift_at = 1500.0
    cfg = scenario_for("scratch", 0, True, {"meta.online_adaptation_steps": 16,
                                            "plvn.drift_kind": kind,
                                            "plvn.drift_at_s": drift_at})
    emu = pd.DataFrame(run_scheme(cfg).emulator)
    before = emu[emu["time_s"] <= drift_at]
    assert (before["emulator_drifts"] == 0).all()
    assert emu["emulator_drifts"].iloc[-1] == (0 if kind == "none" else 1)
    if kind != "none":  # found within two reports of the change
        first = emu[emu["emulator_drifts"] > 0]["time_s"].iloc[0]
        assert drift_at < first <= drift_at + 2 * 150.0


def test_network_model_markov_drift_is_found_by_the_twins_after_it_happens() -> None:
    drift_at = 150.0
    model = NetworkModel("highway-cav", scenario__duration_s=300.0,
                         plvn__drift_kind="markov", plvn__drift_at_s=drift_at,
                         twin_ops__report_period_s=20.0)
    model.run_for(int(300.0 / model.slot_s))
    log = model.extensions.tables()["twins"]
    drifts = log[log["event"] == "emulator_drift"]
    assert len(drifts) >= 1 and (drifts["time_s"] > drift_at).all()
