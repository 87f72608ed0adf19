"""Learner properties of seed 003's meta learning, measured through the twins (issue 13 item 6).

Seed Sec. IV / Fig. 6: a model adapted from the meta model (PPO-ML) reaches a good return on
task 1 faster than one trained from scratch (PPO-random), and adaptation improves on the meta
model. Both are checked on the held-back task 1 (mu = 5 MHz in every slot; the meta model was
trained on random {5, 6, 7} MHz patterns only) with ``twinslice reproduce fig6``'s production
settings (20 task PLVNs, 100 MAML rounds at most, epochs of 10 episodes, true data only), over
independent seeds (``scenario.seed`` + 0..4: meta training, the PLVNs' worlds and both learners
change with it), as paired comparisons. Only the horizon is shorter than the seed's 500
epochs: the first ``HORIZON`` online updates of the edge twin of task 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from model.rng import RandomStreams
from runs.reproduce.fig6 import (
    build_rig,
    greedy_oracle_reward,
    meta_model,
    policy_slot_reward,
    run_scheme,
    scenario_for,
)

torch.set_num_threads(1)
pytestmark = pytest.mark.slow  # 5 seeds x 2 schemes x (meta training + 20 epochs): ~3-5 min
SEEDS = range(5)
HORIZON = 20  # online updates observed per scheme and seed
TARGET_FRACTION = 0.25  # the "given return": a quarter of the myopic oracle's task-1 reward


def _sign_test_p(wins: int, n: int) -> float:
    """One-sided sign test: P(at least ``wins`` of ``n`` fair coin flips)."""
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2.0**n


def _updates_to(curve: np.ndarray, target: float) -> int:
    """Online updates the PLVN's model had when an epoch first earned ``target`` per slot
    (entry e of the curve is the epoch under the model after e updates); HORIZON + 1 if never."""
    hit = np.flatnonzero(curve >= target)
    return int(hit[0]) if hit.size else HORIZON + 1


@pytest.fixture(scope="module")
def runs() -> list[dict[str, Any]]:
    out = []
    for s in SEEDS:
        row: dict[str, Any] = {}
        for init in ("meta", "scratch"):
            cfg = scenario_for(init, s, False, {"meta.online_adaptation_steps": HORIZON})
            rig = build_rig(cfg)
            run = run_scheme(cfg, rig=rig)
            row[init] = (rig, run.reward / cfg.cav.slots_per_episode)
        cfg = row["meta"][0].cfg
        oracle = greedy_oracle_reward(cfg.cav, "task1", 50, RandomStreams(cfg.seed).get("oracle"))
        row["target"] = TARGET_FRACTION * oracle / cfg.cav.slots_per_episode
        out.append(row)
    return out


def test_meta_init_reaches_the_target_return_in_fewer_updates_than_scratch(runs) -> None:
    meta = [_updates_to(r["meta"][1], r["target"]) for r in runs]
    scratch = [_updates_to(r["scratch"][1], r["target"]) for r in runs]
    diffs = np.subtract(scratch, meta)
    wins = int((diffs > 0).sum())
    # Paired over seeds: meta needs fewer updates in every seed (sign test p = 1/32 < 0.05),
    # by at least 5 updates on average.
    assert _sign_test_p(wins, len(runs)) <= 0.05, (meta, scratch)
    assert float(diffs.mean()) >= 5.0, (meta, scratch)


@pytest.mark.xfail(strict=False, reason=(
    "measured 2026-12-03, seeds 0-4, 20 updates (fig6 runs 500): adaptation changed the "
    "held-back task-1 reward per slot by -0.02, +0.43, +0.22, +0.16, +0.01 (meta 0.45, 0.28, "
    "0.46, 0.50, 0.32 before): better in 4 of 5 seeds, sign test p = 0.19 > 0.05"))
def test_adapted_model_beats_the_meta_model_before_adaptation(runs) -> None:
    before, after = [], []
    for r in runs:
        rig = r["meta"][0]
        task1 = rig.names["task1"]
        # Same worlds and decision draws for both models (common random numbers).
        before.append(policy_slot_reward(rig, meta_model(rig), [task1], 20, "heldback"))
        after.append(policy_slot_reward(rig, rig.net.edges[task1].individual, [task1], 20,
                                        "heldback"))
    diffs = np.subtract(after, before)
    wins = int((diffs > 0).sum())
    assert _sign_test_p(wins, len(runs)) <= 0.05, (before, after)
    assert float(diffs.mean()) > 0.0, (before, after)
