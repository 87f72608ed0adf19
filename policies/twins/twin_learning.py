"""Learning steps of the digital twins on the PPO perception model (seed 003, Sec. II, III.C).

* Emulation (Sec. III.B: "models of the PLVN for network emulation"): the edge twin runs the
  CAV environment (:mod:`policies.rl.cav_env`) with the PLVN's radio pattern mu(k) estimated
  from the reported B(k), to generate synthetic trajectories.
* Hybrid data (Sec. III.C.2): true transitions reported by the PLVN under the twin's latest
  individual model, merged with synthetic ones, feed one online adaptation step (PPO epochs).
* Meta-training participation (Fig. 5a): emulate, adapt, emulate again, return the
  adaptation-loss gradient (MAML / FOMAML) or the Reptile direction
  (:class:`policies.meta.MetaLearner`).
* Performance monitoring (Sec. II): the per-slot regret of the PLVN's decisions against the
  myopic best decision, evaluated with the twin's reward model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from policies.meta import MetaParams
from policies.rl.cav_env import CavState, cav_reward, greedy_action, observe
from policies.rl.cav_gym import CavBatchEnv
from policies.rl.cav_params import CavParams
from policies.rl.meta_ppo import ppo_task_update
from policies.rl.ppo import PPOParams, RolloutBatch, collect_rollout
from policies.twins.twin_payloads import Params, Trajectory
from policies.twins.twin_plvn import nearest_level

ACTOR_PREFIXES = ("trunk.", "mean_head.", "log_std_head.")


def detached(params: Params) -> Params:
    """Detached clones of a parameter dict."""
    return {k: v.detach().clone() for k, v in params.items()}


def actor_params(params: Params) -> Params:
    """The policy part of an actor-critic (what a PLVN needs for inference)."""
    return {k: v.detach().clone() for k, v in params.items() if k.startswith(ACTOR_PREFIXES)}


def emulation_cav(cav: CavParams, slots: int) -> CavParams:
    """The CAV environment with emulated episodes of ``slots`` slots."""
    return replace(cav, slots_per_episode=int(slots))


def estimate_mu_pattern(bandwidth_mhz: Sequence[float], levels: tuple[float, ...],
                        slots: int) -> np.ndarray:
    """mu(0..slots-1) estimated from the latest reported B(k), each snapped to a level.

    Keeps the PLVN's recent radio pattern in order (tiled when fewer values were reported);
    without any report the middle level is assumed.
    """
    recent = np.asarray(bandwidth_mhz, dtype=float)[-slots:]
    if recent.size == 0:
        lv = np.sort(np.asarray(levels, dtype=float))
        return np.full(slots, lv[len(lv) // 2])
    return np.resize(nearest_level(recent, levels), slots)


def emulated_batch(module: nn.Module, params: Params, cav_em: CavParams, mu: np.ndarray,
                   episodes: int, hp: PPOParams, rng: np.random.Generator,
                   gen: torch.Generator) -> tuple[RolloutBatch, float]:
    """Synthetic trajectories of ``episodes`` emulated episodes under ``params``.

    Returns:
        The (T, ...) batch and the mean total reward of an emulated episode.
    """
    env = CavBatchEnv(cav_em, rng)
    pattern = np.broadcast_to(np.asarray(mu, dtype=float), (1, episodes, cav_em.slots_per_episode))
    batch, stats = collect_rollout(module, params, env, pattern.copy(), hp, gen)
    return batch.run(0), float(stats.reward[0])


def states_of(traj: Trajectory, rows: np.ndarray) -> CavState:
    """The reported states of slots ``rows`` as a batch of E = len(rows) one-slot episodes."""
    return CavState(0, np.zeros((len(rows), 1)), traj.bandwidth_mhz[rows],
                    traj.object_level[rows], traj.distance_level[rows], traj.prev_mode[rows])


def _final_state(traj: Trajectory) -> CavState:
    return CavState(0, np.zeros((1, 1)), np.array([traj.final_bandwidth_mhz]),
                    traj.final_object_level[None], traj.final_distance_level[None],
                    traj.final_prev_mode[None])


def gae_bootstrap(rewards: Tensor, values: Tensor, last_value: float, gamma: float,
                  lam: float, done: np.ndarray | None = None) -> tuple[Tensor, Tensor]:
    """GAE over one stretch of a task, bootstrapped with the value after it.

    ``done[k]`` marks a slot after which the PLVN's episode ended: nothing is bootstrapped
    across it (the finite horizon of an episodic PLVN).
    """
    adv = torch.zeros_like(rewards)
    running = torch.zeros(())
    next_value = torch.tensor(float(last_value))
    for k in range(rewards.shape[0] - 1, -1, -1):
        if done is not None and done[k]:
            next_value, running = torch.zeros(()), torch.zeros(())
        delta = rewards[k] + gamma * next_value - values[k]
        running = delta + gamma * lam * running
        adv[k] = running
        next_value = values[k]
    return adv, adv + values


def version_rows(traj: Trajectory, version: int) -> np.ndarray:
    """Slots of the trajectory in which individual model ``version`` acted."""
    return np.flatnonzero(traj.model_version == version)


@torch.no_grad()
def true_batch(module: nn.Module, params: Params, traj: Trajectory, version: int,
               cav: CavParams, hp: PPOParams) -> RolloutBatch | None:
    """PPO batch of the true transitions made under individual model ``version``.

    The PLVN reported its behaviour log-probabilities; values come from the twin's critic.
    Versions only grow, so the selected slots are one contiguous stretch.
    """
    rows = version_rows(traj, version)
    if rows.size == 0:
        return None
    obs = torch.from_numpy(observe(states_of(traj, rows), cav))
    _, _, values = functional_call(module, params, (obs,))
    after = rows[-1] + 1
    nxt = _final_state(traj) if after >= len(traj) else states_of(traj, np.array([after]))
    _, _, last = functional_call(module, params, (torch.from_numpy(observe(nxt, cav)),))
    rewards = torch.from_numpy(traj.reward[rows] * hp.reward_scale).to(torch.float32)
    done = None if traj.done is None else np.asarray(traj.done)[rows]
    adv, ret = gae_bootstrap(rewards, values, float(last[0]), hp.gamma, hp.gae_lambda, done)
    actions = torch.from_numpy(np.ascontiguousarray(traj.action[rows], dtype=np.float32))
    logp = torch.from_numpy(np.ascontiguousarray(traj.logprob[rows], dtype=np.float32))
    return RolloutBatch(obs, actions, logp, adv, ret)


def merge_batches(batches: Sequence[RolloutBatch]) -> RolloutBatch:
    """One (T, ...) batch of several."""
    return RolloutBatch(*(torch.cat([getattr(b, f) for b in batches]) for f in
                          ("obs", "actions", "logprobs", "advantages", "returns")))


def stacked_batch(batch: RolloutBatch) -> RolloutBatch:
    """A (T, ...) batch as the (1, T, ...) batch of one stacked run."""
    return RolloutBatch(*(getattr(batch, f).unsqueeze(0) for f in
                          ("obs", "actions", "logprobs", "advantages", "returns")))


def meta_task_update(module: nn.Module, meta_params: Params, meta: MetaParams,
                     sample: Callable[[Params], RolloutBatch], hp: PPOParams
                     ) -> tuple[Params, float]:
    """One individual learner's part of a meta iteration: :func:`policies.rl.meta_ppo.
    ppo_task_update`, the project's one meta-training step (kept here under its old name)."""
    return ppo_task_update(module, meta_params, meta, sample, hp)


def mean_regret(traj: Trajectory, version: int, cav: CavParams) -> float | None:
    """Mean per-slot reward the PLVN missed under model ``version`` versus the myopic best.

    None when the model did not act in this trajectory.
    """
    rows = version_rows(traj, version)
    if rows.size == 0:
        return None
    state = states_of(traj, rows)
    best, _ = cav_reward(state, greedy_action(state, cav), cav)
    return float(np.mean(best - traj.reward[rows]))
