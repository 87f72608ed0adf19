"""PPO for adaptive cooperative perception (seed 003, Sec. IV), CleanRL style.

Schulman et al., "Proximal Policy Optimization Algorithms", arXiv:1707.06347 (clipped
surrogate), with generalised advantage estimation (Schulman et al., ICLR 2016) and the
implementation details of CleanRL's ``ppo_continuous_action.py`` (Huang et al. 2022:
orthogonal init, per-minibatch advantage normalisation, global gradient clipping).

One *epoch* (seed Sec. IV: "500 training epochs, each consisting of 10 episodes") is one
batched rollout of E episodes of K slots in :class:`~policies.rl.cav_gym.CavBatchEnv`,
followed by ``update_epochs`` passes of minibatch Adam on the PPO loss.

Parameters live in a ``dict[str, Tensor]`` evaluated with ``torch.func.functional_call``, so
:func:`ppo_loss` is a pure function of them and meta learning (:mod:`policies.meta`) can adapt
them. The policy is :class:`~policies.rl.ppo_net.GaussianActorCritic`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from policies.rl.cav_gym import CavBatchEnv
from policies.rl.ppo_net import (
    GaussianActorCritic,
    Params,
    gaussian_entropy,
    gaussian_log_prob,
    params_of,
    stack_params,
)
from policies.rl.ppo_params import PPOParams


def initial_mean(hp: PPOParams) -> float:
    """Mean-head bias giving every pair P(x > threshold) = ``ppo.initial_cp_probability``.

    x ~ N(b, sigma0^2) with sigma0 = exp(log_std_init), so b = threshold + sigma0 Phi^-1(p0);
    p0 = 1/2 gives b = threshold (a policy indifferent between SP and CP).
    """
    return (hp.action_threshold
            + math.exp(hp.log_std_init) * NormalDist().inv_cdf(hp.initial_cp_probability))


def make_policy(obs_dim: int, n_pairs: int, hp: PPOParams,
                generator: torch.Generator) -> GaussianActorCritic:
    """Build the actor-critic with weights drawn from ``generator``.

    The mean head starts at :func:`initial_mean` (``ppo.initial_cp_probability``, see
    :class:`PPOParams`); the draws from ``generator`` do not depend on it.
    """
    return GaussianActorCritic(obs_dim, n_pairs, hp.policy_hidden, hp.value_hidden,
                               hp.log_std_init, (hp.log_std_min, hp.log_std_max), generator,
                               initial_mean(hp))


def fresh_params(obs_dim: int, n_pairs: int, hp: PPOParams, runs: int,
                 generator: torch.Generator) -> Params:
    """R independently initialised parameter sets of the actor-critic, stacked."""
    return stack_params([params_of(make_policy(obs_dim, n_pairs, hp, generator))
                         for _ in range(runs)])


@dataclass(frozen=True, slots=True)
class RolloutBatch:
    """Transitions of one epoch: (R, T, ...) for R stacked runs, or (T, ...) for one run."""

    obs: Tensor
    actions: Tensor
    logprobs: Tensor
    advantages: Tensor
    returns: Tensor

    def __len__(self) -> int:
        """Transitions per run (T)."""
        return int(self.logprobs.shape[-1])

    def subset(self, idx: Tensor) -> RolloutBatch:
        """Transitions ``idx`` of every run."""
        if self.logprobs.dim() == 1:
            return RolloutBatch(self.obs[idx], self.actions[idx], self.logprobs[idx],
                                self.advantages[idx], self.returns[idx])
        return RolloutBatch(self.obs[:, idx], self.actions[:, idx], self.logprobs[:, idx],
                            self.advantages[:, idx], self.returns[:, idx])

    def run(self, r: int) -> RolloutBatch:
        """The (T, ...) batch of run ``r`` of a stacked batch."""
        return RolloutBatch(self.obs[r], self.actions[r], self.logprobs[r],
                            self.advantages[r], self.returns[r])


@dataclass(frozen=True, slots=True)
class EpochStats:
    """Per-run logs of one epoch, arrays of shape (R,); seed Fig. 6 plots reward and entropy."""

    reward: np.ndarray  # mean over the run's episodes of the total (raw) episode reward
    entropy: np.ndarray  # mean differential entropy of the pairs' Gaussians, visited states
    cp_fraction: np.ndarray  # share of (slot, pair) decisions that ran CP


def compute_gae(rewards: Tensor, values: Tensor, gamma: float,
                lam: float) -> tuple[Tensor, Tensor]:
    """GAE over (K, ...) arrays of synchronous episodes that all end after slot K-1.

    The last slot is terminal (finite horizon K), so nothing is bootstrapped past it.

    Returns:
        ``(advantages, returns)``, shaped like ``rewards``.
    """
    adv = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    next_value = torch.zeros_like(rewards[0])
    for k in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[k] + gamma * next_value - values[k]
        last = delta + gamma * lam * last
        adv[k] = last
        next_value = values[k]
    return adv, adv + values


@torch.no_grad()
def collect_rollout(module: nn.Module, params: Params, env: CavBatchEnv, mu_mhz: np.ndarray,
                    hp: PPOParams, generator: torch.Generator
                    ) -> tuple[RolloutBatch, EpochStats]:
    """Run E episodes per run, all R runs in one lock-step batch of R * E episodes.

    Args:
        module: The actor-critic architecture.
        params: Stacked parameters of R runs (leading axis R).
        env: Batch environment (its Generator drives the world of all runs).
        mu_mhz: (R, E, K) radio pattern of each episode of each run.
        hp: PPO hyper-parameters.
        generator: torch Generator for the Gaussian samples.

    Returns:
        The (R, K * E, ...) batch and per-run statistics.
    """
    runs, eps, _ = mu_mhz.shape
    obs_np = env.reset(mu_mhz.reshape(runs * eps, -1))
    obs_l, act_l, logp_l, val_l, rew_l, ent_l, cp_l = [], [], [], [], [], [], []
    done = False
    while not done:
        obs = torch.from_numpy(obs_np).reshape(runs, eps, -1)
        mean, log_std, value = functional_call(module, params, (obs,))
        x = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=generator)
        cp = (x > hp.action_threshold).reshape(runs * eps, -1).numpy()
        obs_np, reward, done, info = env.step(cp)
        obs_l.append(obs)
        act_l.append(x)
        logp_l.append(gaussian_log_prob(x, mean, log_std))
        val_l.append(value)
        rew_l.append(torch.from_numpy(reward).reshape(runs, eps))
        ent_l.append(gaussian_entropy(log_std).mean(dim=(-2, -1)))
        cp_l.append(info.effective_mode.reshape(runs, -1).mean(axis=1))
    rewards = torch.stack(rew_l).to(torch.float32)  # (K, R, E)
    adv, ret = compute_gae(rewards * hp.reward_scale, torch.stack(val_l), hp.gamma,
                           hp.gae_lambda)

    def flat(xs: list[Tensor] | Tensor) -> Tensor:  # (K, R, E, ...) -> (R, K * E, ...)
        t = torch.stack(list(xs)) if isinstance(xs, list) else xs
        return t.transpose(0, 1).reshape(runs, -1, *t.shape[3:])

    batch = RolloutBatch(flat(obs_l), flat(act_l), flat(logp_l), flat(adv), flat(ret))
    stats = EpochStats(rewards.sum(dim=0).mean(dim=1).numpy().astype(float),
                       torch.stack(ent_l).mean(dim=0).numpy().astype(float),
                       np.mean(cp_l, axis=0))
    return batch, stats


def ppo_loss(module: nn.Module, params: Params, batch: RolloutBatch,
             hp: PPOParams | None = None) -> Tensor:
    """PPO loss: -clipped surrogate + vf_coef * value MSE / 2 - ent_coef * mean entropy.

    A pure function of ``params`` (evaluated with ``torch.func.functional_call``). For one run
    (batch (T, ...)) it is the usual scalar loss; for R stacked runs (batch (R, T, ...)) it is
    the sum of the R runs' losses, whose gradient w.r.t. each run's slice is that run's own.
    """
    hp = hp or PPOParams()
    mean, log_std, value = functional_call(module, params, (batch.obs,))
    ratio = torch.exp(gaussian_log_prob(batch.actions, mean, log_std) - batch.logprobs)
    adv = batch.advantages
    if hp.norm_adv and len(batch) > 1:
        adv = (adv - adv.mean(dim=-1, keepdim=True)) / (adv.std(dim=-1, keepdim=True) + 1e-8)
    clipped = ratio.clamp(1.0 - hp.clip_coef, 1.0 + hp.clip_coef)
    surrogate = torch.min(ratio * adv, clipped * adv).mean(dim=-1)
    value_loss = 0.5 * ((value - batch.returns) ** 2).mean(dim=-1)
    entropy = gaussian_entropy(log_std).mean(dim=(-2, -1))
    return (-surrogate + hp.vf_coef * value_loss - hp.ent_coef * entropy).sum()


def clip_grad_norm_per_run(params: Params, max_norm: float) -> Tensor:
    """Scale each run's gradient (leading axis R) to global norm <= ``max_norm``.

    Returns:
        The (R,) norms before clipping.
    """
    grads = [p.grad for p in params.values() if p.grad is not None]
    sq = torch.stack([g.pow(2).reshape(g.shape[0], -1).sum(dim=1) for g in grads]).sum(dim=0)
    norms = sq.sqrt()
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.reshape(-1, *([1] * (g.dim() - 1))))
    return norms


class PPOTrainer:
    """R independent PPO runs with stacked parameters; Adam is element-wise, so one optimiser
    over the stacked tensors equals R separate optimisers.

    Args:
        module: Architecture (its own parameters are not trained).
        params: Stacked initial parameters (leading axis R); copied.
        hp: Hyper-parameters.
        generator: torch Generator for action samples and minibatch shuffles.
    """

    def __init__(self, module: nn.Module, params: Params, hp: PPOParams,
                 generator: torch.Generator) -> None:
        self.module = module
        self.params: Params = {n: t.detach().clone().requires_grad_(True)
                               for n, t in params.items()}
        self.hp = hp
        self.generator = generator
        self.optimizer = torch.optim.Adam(self.params.values(), lr=hp.learning_rate, eps=1e-5)

    @property
    def runs(self) -> int:
        """Number of stacked runs R."""
        return int(next(iter(self.params.values())).shape[0])

    def update(self, batch: RolloutBatch) -> float:
        """``update_epochs`` passes of shuffled minibatch Adam steps; returns the last loss."""
        n = len(batch)
        size = max(1, n // self.hp.num_minibatches)
        loss = torch.zeros(())
        for _ in range(self.hp.update_epochs):
            perm = torch.randperm(n, generator=self.generator)
            for start in range(0, n - size + 1, size):
                loss = ppo_loss(self.module, self.params,
                                batch.subset(perm[start:start + size]), self.hp)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                clip_grad_norm_per_run(self.params, self.hp.max_grad_norm)
                self.optimizer.step()
        return float(loss.detach()) / self.runs

    def train_epoch(self, env: CavBatchEnv, mu_mhz: np.ndarray) -> EpochStats:
        """Collect one epoch ((R, E, K) patterns) with the current policies, then update."""
        batch, stats = collect_rollout(self.module, self.params, env, mu_mhz, self.hp,
                                       self.generator)
        self.update(batch)
        return stats

    def snapshot(self) -> Params:
        """Detached copy of the current stacked parameters."""
        return {n: t.detach().clone() for n, t in self.params.items()}
