"""PPO pieces against theory, and learning on a tiny task (seed 003 Sec. IV)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from policies.rl.cav_env import task_pattern
from policies.rl.cav_gym import CavBatchEnv
from policies.rl.cav_params import CavParams
from policies.rl.ppo import (
    PPOParams,
    PPOTrainer,
    RolloutBatch,
    clip_grad_norm_per_run,
    collect_rollout,
    compute_gae,
    fresh_params,
    make_policy,
    ppo_loss,
)
from policies.rl.ppo_net import (
    gaussian_entropy,
    gaussian_log_prob,
    params_of,
    stack_params,
    unstack_params,
)

torch.set_num_threads(1)
HP = PPOParams()


def _module(seed: int = 0) -> torch.nn.Module:
    return make_policy(18, 3, HP, torch.Generator().manual_seed(seed))


def test_gaussian_entropy_and_log_prob_match_torch_distributions() -> None:
    mean, log_std = torch.randn(5, 3), torch.randn(5, 3)
    x = torch.randn(5, 3)
    ref = torch.distributions.Normal(mean, log_std.exp())
    assert torch.allclose(gaussian_entropy(log_std), ref.entropy(), atol=1e-6)
    assert torch.allclose(gaussian_log_prob(x, mean, log_std), ref.log_prob(x).sum(-1),
                          atol=1e-5)
    # Closed form at sigma = 1: 0.5 log(2 pi e) = 1.4189...
    assert float(gaussian_entropy(torch.zeros(()))) == pytest.approx(
        0.5 * math.log(2 * math.pi * math.e))


def test_gae_reduces_to_td_error_and_to_monte_carlo() -> None:
    g = torch.Generator().manual_seed(1)
    rewards, values = torch.rand(6, 2, generator=g), torch.rand(6, 2, generator=g)
    gamma = 0.9
    adv0, _ = compute_gae(rewards, values, gamma, 0.0)
    nxt = torch.cat([values[1:], torch.zeros(1, 2)])
    assert torch.allclose(adv0, rewards + gamma * nxt - values)
    adv1, ret1 = compute_gae(rewards, values, gamma, 1.0)
    mc = torch.stack([sum(gamma**j * rewards[k + j] for j in range(6 - k)) for k in range(6)])
    assert torch.allclose(ret1, mc, atol=1e-6)
    assert torch.allclose(adv1, mc - values, atol=1e-6)


def test_stacked_loss_is_the_sum_of_independent_runs() -> None:
    module = _module()
    g = torch.Generator().manual_seed(2)
    runs = [params_of(make_policy(18, 3, HP, g)) for _ in range(3)]
    stacked = stack_params(runs)
    batch = RolloutBatch(torch.randn(3, 40, 18, generator=g), torch.randn(3, 40, 3, generator=g),
                         torch.randn(3, 40, generator=g), torch.randn(3, 40, generator=g),
                         torch.randn(3, 40, generator=g))
    total = ppo_loss(module, stacked, batch, HP)
    total.backward()
    for r, params in enumerate(runs):
        single = ppo_loss(module, params, batch.run(r), HP)
        grads = torch.autograd.grad(single, list(params.values()))
        for (name, _), grad in zip(params.items(), grads, strict=True):
            assert torch.allclose(stacked[name].grad[r], grad, atol=1e-5)
    singles = sum(float(ppo_loss(module, p, batch.run(r), HP).detach())
                  for r, p in enumerate(runs))
    assert float(total.detach()) == pytest.approx(singles, rel=1e-5)


def test_loss_depends_on_the_given_params_not_the_module() -> None:
    module, other = _module(0), _module(1)
    params = params_of(other)
    batch = RolloutBatch(torch.randn(10, 18), torch.randn(10, 3), torch.randn(10),
                         torch.randn(10), torch.randn(10))
    with torch.no_grad():
        assert float(ppo_loss(module, params, batch)) == pytest.approx(
            float(ppo_loss(other, params, batch)))


def test_surrogate_is_clipped() -> None:
    # Far-from-behaviour actions: raising the ratio beyond 1 + eps earns no gradient.
    module = _module()
    params = params_of(module)
    hp = PPOParams(vf_coef=0.0, ent_coef=0.0, norm_adv=False)
    obs = torch.randn(8, 18)
    with torch.no_grad():
        mean, log_std, _ = module(obs)
    x = mean + 0.1
    logp_old = gaussian_log_prob(x, mean, log_std) - 1.0  # ratio = e > 1.2
    batch = RolloutBatch(obs, x, logp_old, torch.ones(8), torch.zeros(8))
    loss = ppo_loss(module, params, batch, hp)
    grads = torch.autograd.grad(loss, [params["mean_head.weight"]])
    assert float(loss.detach()) == pytest.approx(-1.2, rel=1e-6)
    assert torch.all(grads[0] == 0)


def test_per_run_gradient_clipping() -> None:
    params = {"w": torch.zeros(3, 4, requires_grad=True)}
    params["w"].grad = torch.tensor([[3.0, 4.0, 0, 0], [0.1, 0, 0, 0], [0, 0, 0, 10.0]])
    norms = clip_grad_norm_per_run(params, 1.0)
    assert torch.allclose(norms, torch.tensor([5.0, 0.1, 10.0]))
    after = params["w"].grad.norm(dim=1)
    assert torch.allclose(after, torch.tensor([1.0, 0.1, 1.0]), atol=1e-5)


def test_rollout_shapes_and_entropy_of_fresh_policy() -> None:
    p = CavParams(slots_per_episode=6)
    module = _module()
    g = torch.Generator().manual_seed(3)
    params = fresh_params(18, 3, HP, 2, g)
    mu = np.tile(task_pattern("task1", p), (2, 4, 1))
    batch, stats = collect_rollout(module, params, CavBatchEnv(p, np.random.default_rng(0)),
                                   mu, HP, g)
    assert batch.obs.shape == (2, 24, 18) and batch.actions.shape == (2, 24, 3)
    assert stats.reward.shape == (2,)
    # Fresh policy: log sigma ~ log_std_init = 0, entropy ~ 0.5 log(2 pi e).
    assert np.allclose(stats.entropy, 0.5 * math.log(2 * math.pi * math.e), atol=0.05)
    assert np.all((stats.cp_fraction > 0.2) & (stats.cp_fraction < 0.8))


def test_ppo_improves_on_task_1() -> None:
    p = CavParams(slots_per_episode=30)
    g = torch.Generator().manual_seed(0)
    module = make_policy(18, 3, HP, g)
    trainer = PPOTrainer(module, fresh_params(18, 3, HP, 2, g), HP, g)
    env = CavBatchEnv(p, np.random.default_rng(0))
    mu = np.tile(task_pattern("task1", p), (2, 8, 1))
    curve = np.array([trainer.train_epoch(env, mu).reward for _ in range(40)])  # (40, 2)
    first, last = curve[:3].mean(axis=0), curve[-3:].mean(axis=0)
    # A random policy earns ~4 J per 30-slot episode on task 1 (mostly lost to switching
    # costs); the myopic oracle earns ~37 J. PPO must clearly beat random play.
    assert np.all(last > first + 12.0), curve


def test_unstack_roundtrip() -> None:
    module = _module()
    p1, p2 = params_of(module), params_of(_module(5))
    stacked = stack_params([p1, p2])
    back = unstack_params(stacked, 1)
    assert all(torch.equal(back[n], p2[n]) for n in p2)


def test_training_is_deterministic_given_the_seeds() -> None:
    p = CavParams(slots_per_episode=5)

    def run(seed: int) -> np.ndarray:
        g = torch.Generator().manual_seed(seed)
        module = make_policy(18, 3, HP, g)
        trainer = PPOTrainer(module, fresh_params(18, 3, HP, 2, g), HP, g)
        env = CavBatchEnv(p, np.random.default_rng(seed))
        mu = np.tile(task_pattern("task1", p), (2, 3, 1))
        return np.array([trainer.train_epoch(env, mu).reward for _ in range(3)])

    assert np.array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(5))
