"""Meta training through the twins stays finite across pair counts (issue 13 item 5, part)."""

from __future__ import annotations

import math

import pytest
import torch

from runs.reproduce.fig6 import run_scheme, scenario_for

torch.set_num_threads(1)


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
