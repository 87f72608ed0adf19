"""Meta training through the twins stays finite and beats all-SP across pair counts (issue 13,
item 5)."""

from __future__ import annotations

import math

import pytest
import torch

from policies.twins.twin_params import TwinOpsParams
from runs.reproduce.fig6 import (
    build_rig,
    meta_model,
    offline_meta_training,
    policy_slot_reward,
    run_scheme,
    scenario_for,
)

torch.set_num_threads(1)
OPS = TwinOpsParams()


@pytest.mark.parametrize("pairs", [1, 5, 8])
def test_meta_rounds_stay_finite_at_the_twin_defaults(pairs: int) -> None:
    # The twins' own defaults (emulation_slots 15, 8 episodes, I = tasks_per_round); issue 13
    # saw the meta loss reach 6e13 at 5 pairs before the inner clip (meta.inner_max_grad_norm).
    cfg = scenario_for("meta", 0, True, {
        "vehicles.cav_pairs": pairs, "vehicles.clusters": 5, "meta.offline_iterations": 4,
        "meta.online_adaptation_steps": 1, "twin_ops.emulation_slots": 15,
        "twin_ops.emulation_episodes": 8})
    run = run_scheme(cfg)
    assert len(run.meta_losses) == 4
    assert all(math.isfinite(x) and abs(x) < 1e3 for x in run.meta_losses)


@pytest.mark.parametrize("pairs", [1, 2, 3, 5, 8])
def test_meta_model_beats_all_sp_on_its_own_tasks(pairs: int) -> None:
    # Production defaults: the fig6 offline stage (20 task PLVNs, meta.offline_iterations =
    # 100 rounds or fewer if the adaptation loss converges, I = 3, MAML, meta_lr 1e-2) with the
    # twins' own emulation budget (twin_ops: 15-slot episodes, 8 at a time). Only the pair
    # count varies. Measured (seed 0, docs/twins.md): the meta model earns 0.73 / 1.28 / 0.92 /
    # 1.24 / 0.93 per slot at 1 / 2 / 3 / 5 / 8 pairs, all-SP 0; at meta_lr 1e-3 it lost at 5
    # and 8 pairs (-1.2 / -2.9).
    cfg = scenario_for("meta", 0, False, {
        "vehicles.cav_pairs": pairs, "twin_ops.emulation_slots": OPS.emulation_slots,
        "twin_ops.emulation_episodes": OPS.emulation_episodes})
    rig = build_rig(cfg)
    start = meta_model(rig)
    rounds = offline_meta_training(rig)
    losses = [float(r["loss"]) for r in rig.cloud.round_log]
    # Convergence (seed Sec. II) can stop training only once two loss windows exist.
    assert rounds >= min(cfg.meta.offline_iterations, 2 * cfg.meta.convergence_window)
    assert len(losses) == rounds
    assert all(math.isfinite(x) and abs(x) < 1e3 for x in losses)
    params = meta_model(rig)
    assert all(bool(torch.isfinite(v).all()) for v in params.values())

    own = range(cfg.vehicles.clusters)  # the meta-training task PLVNs, each its own mu pattern
    all_sp = policy_slot_reward(rig, None, own, 10, "eval")
    trained = policy_slot_reward(rig, params, own, 10, "eval")
    untrained = policy_slot_reward(rig, start, own, 10, "eval")  # same worlds, same draws
    assert all_sp == 0.0  # SP gains nothing and never switches: 0 by construction
    # Strictly above all-SP by a margin (the smallest of 15 measured runs, 3 seeds x 5 pair
    # counts, was 0.20 per slot), and above the network meta training started from.
    assert trained > all_sp + 0.1, (trained, untrained, rounds)
    assert trained > untrained, (trained, untrained, rounds)
