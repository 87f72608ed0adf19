"""Meta training of PPO through policies.meta (seed 003 Sec. II, IV)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from policies.rl.cav_params import CavParams
from policies.rl.meta_ppo import MetaPPOParams, meta_train_ppo
from policies.rl.ppo import PPOParams, make_policy
from policies.rl.ppo_net import params_of

torch.set_num_threads(1)
CAV = CavParams(slots_per_episode=8)
HP = PPOParams()


def _run(algorithm: str, iterations: int = 2, **kw: float) -> tuple[list, list, object]:
    g = torch.Generator().manual_seed(0)
    module = make_policy(18, 3, HP, g)
    init = [params_of(make_policy(18, 3, HP, g)) for _ in range(2)]
    mp = MetaPPOParams(algorithm=algorithm, meta_iterations=iterations, tasks_per_round=2,
                       episodes_per_task=2, inner_epochs=1, **kw)
    out, hist = meta_train_ppo(module, init, CAV, HP, mp, np.random.default_rng(0), g)
    return init, out, hist


@pytest.mark.parametrize("algorithm", ["reptile", "fomaml", "maml"])
def test_every_algorithm_moves_the_meta_model(algorithm: str) -> None:
    init, out, hist = _run(algorithm)
    assert hist.reward.shape == (2, 2) and hist.entropy.shape == (2, 2)
    for before, after in zip(init, out, strict=True):
        assert set(before) == set(after)
        assert any(not torch.allclose(before[n], after[n]) for n in before)


def test_reptile_with_zero_step_keeps_the_meta_model() -> None:
    init, out, _ = _run("reptile", reptile_step=0.0)
    for before, after in zip(init, out, strict=True):
        assert all(torch.equal(before[n].detach(), after[n]) for n in before)


def test_reptile_step_scales_the_update_linearly() -> None:
    # One iteration with the same random streams: the meta step is step * mean direction.
    init, half, _ = _run("reptile", iterations=1, reptile_step=0.5)
    _, full, _ = _run("reptile", iterations=1, reptile_step=1.0)
    for p0, ph, pf in zip(init, half, full, strict=True):
        for n in p0:
            d_half, d_full = ph[n] - p0[n].detach(), pf[n] - p0[n].detach()
            assert torch.allclose(2.0 * d_half, d_full, atol=1e-6)


def test_seeds_are_independent_meta_models() -> None:
    _, out, _ = _run("reptile")
    assert any(not torch.allclose(out[0][n], out[1][n]) for n in out[0])


def test_params_validate() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        MetaPPOParams(algorithm="sgd")
    with pytest.raises(ValueError, match="tasks_per_round"):
        MetaPPOParams(tasks_per_round=0)
