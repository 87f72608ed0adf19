"""The one meta-training step of PPO (seed 003 Sec. II, footnote 1): policies.rl.meta_ppo."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from policies.meta import MetaLearner, MetaParams
from policies.rl.cav_env import random_task
from policies.rl.cav_params import CavParams
from policies.rl.meta_ppo import ppo_task_update
from policies.rl.ppo import PPOParams, make_policy
from policies.rl.ppo_net import params_of
from policies.twins.twin_learning import emulated_batch

torch.set_num_threads(1)
HP = PPOParams()


def _setup(pairs: int = 3, slots: int = 15):
    cav = CavParams(n_pairs=pairs, slots_per_episode=slots)
    module = make_policy(6 * pairs, pairs, HP, torch.Generator().manual_seed(0))
    return cav, module, params_of(module)


def _sampler(module, cav, mu, seed: int, episodes: int = 8):
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)

    def sample(params):
        return emulated_batch(module, params, cav, mu, episodes, HP, rng, gen)[0]

    return sample


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
def test_every_algorithm_returns_a_finite_update_of_the_meta_shape(algorithm: str) -> None:
    cav, module, meta = _setup()
    mu = random_task(cav, np.random.default_rng(1))
    update, loss = ppo_task_update(module, meta, MetaParams(algorithm=algorithm),
                                   _sampler(module, cav, mu, 2), HP)
    assert set(update) == set(meta) and math.isfinite(loss)
    assert all(update[n].shape == meta[n].shape and torch.isfinite(update[n]).all()
               for n in meta)
    assert any(update[n].abs().sum() > 0 for n in meta)


def test_reptile_direction_is_bounded_by_the_inner_clip() -> None:
    # One inner step of size inner_lr on a gradient clipped to inner_max_grad_norm.
    cav, module, meta = _setup()
    mu = random_task(cav, np.random.default_rng(1))
    cfg = MetaParams(algorithm="reptile")
    update, _ = ppo_task_update(module, meta, cfg, _sampler(module, cav, mu, 3), HP)
    norm = float(torch.sqrt(sum((u**2).sum() for u in update.values())))
    assert norm <= cfg.inner_lr * cfg.inner_max_grad_norm * (1 + 1e-5)


def test_fomaml_and_maml_differ_only_by_second_order_terms() -> None:
    # Same data streams: the first-order and exact gradients agree in sign on most entries.
    cav, module, meta = _setup()
    mu = random_task(cav, np.random.default_rng(1))
    g1, _ = ppo_task_update(module, meta, MetaParams(algorithm="maml"),
                            _sampler(module, cav, mu, 4), HP)
    g2, _ = ppo_task_update(module, meta, MetaParams(algorithm="fomaml"),
                            _sampler(module, cav, mu, 4), HP)
    a = torch.cat([g1[n].ravel() for n in meta])
    b = torch.cat([g2[n].ravel() for n in meta])
    assert float(torch.nn.functional.cosine_similarity(a, b, dim=0)) > 0.5


def test_cloud_learner_is_built_from_the_one_meta_section() -> None:
    cfg = MetaParams(algorithm="reptile", max_grad_norm=2.0, inner_max_grad_norm=0.3)
    _, module, _ = _setup()
    learner = MetaLearner.from_params(module, cfg)
    assert (learner.algorithm, learner.max_grad_norm, learner.inner_max_grad_norm) == (
        "reptile", 2.0, 0.3)


def test_params_validate() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        MetaParams(algorithm="sgd")
    with pytest.raises(ValueError, match="init"):
        MetaParams(init="warm")
    with pytest.raises(ValueError, match="tasks_per_round"):
        MetaParams(tasks_per_round=0)


@pytest.mark.parametrize("p0", [0.5, 0.1])
def test_initial_cp_probability_sets_the_fresh_policy_and_not_its_entropy(p0: float) -> None:
    # ppo.initial_cp_probability biases the mean head only: the initial P(CP) of every pair is
    # p0 and the entropy stays that of log_std_init (seed Sec. IV: SP is the default mode).
    hp = PPOParams(initial_cp_probability=p0)
    cav = CavParams(n_pairs=4, slots_per_episode=10)
    g = torch.Generator().manual_seed(1)
    module = make_policy(24, 4, hp, g)
    params = params_of(module)
    if p0 == 0.5:  # the unbiased prior is exactly the previous initialisation
        assert bool((params["mean_head.bias"] == 0.0).all())
    mu = random_task(cav, np.random.default_rng(2))
    batch, _ = emulated_batch(module, params, cav, mu, 50, hp, np.random.default_rng(0), g)
    x = batch.actions  # (500 slots, 4 pairs) Gaussian samples, CP iff > threshold
    share = float((x > hp.action_threshold).float().mean())
    assert abs(share - p0) < 4.0 * math.sqrt(p0 * (1 - p0) / x.numel())  # 2000 decisions
    _, log_std, _ = module(batch.obs)
    assert torch.allclose(log_std, torch.full_like(log_std, hp.log_std_init), atol=0.05)
