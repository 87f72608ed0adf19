"""The level-one DAs' group-level emulator the BDQN is trained in (seed 000, Sec. III.C.3, Fig. 4).

Seed Fig. 4: the group-level module reads the average group state (buffer length, computing
load, content quality) with the QoE model index, sets each group's resource share, the user-level
module splits it, and "the groups' QoE is fed back to the group-level resource allocation module
for neural network update in the model training stage". This module is that training loop's
environment, emulating the users the DAs represent.

Model (our choices, each a parameter in ``EmulatorParams``):

* Action: one discrete share level per branch; a branch is a group (bandwidth and computing share
  together) or, with ``joint_compute_share=False``, one branch per group and resource. Requested
  shares summing above 1 are scaled down so capacity always holds; ``overshare_penalty`` can
  additionally penalise the excess.
* Computing is split inside a group in proportion to each user's computing load; a shortfall
  scales the user's effective bandwidth by kappa = min(1, cycles / load) (video that is not
  processed at the edge is not delivered).
* Buffer: each slot adds slot * SE * effective_bandwidth / bitrate seconds of video and plays one
  slot; the unplayable rest is rebuffering. New videos arrive per user as a Poisson process
  (seed Sec. IV lambda = 6), each with a uniform content quality Q (bitrate linear in Q over the
  seed's 0.5-3 Mbps) and a computing complexity, and start with an empty buffer.
* Reward: mean over users of clip(qoe_i(effective bandwidth) - stall_penalty * rebuffer_s, 1, 5)
  minus the over-share penalty; ``qoe_i`` are the DAs' QoE models supplied by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from policies.scheduling.grouping import GROUP_FEATURES, encode_group_state
from policies.scheduling.params import EmulatorParams, SchedulerParams
from policies.scheduling.slsqp import evaluate_each

QoEFn = Callable[[np.ndarray], np.ndarray]
# Splits group bandwidth budgets (G,) among users given each group's compute factor (G,).
UserSplit = Callable[[np.ndarray, np.ndarray], np.ndarray]


def shares_from_actions(
    actions: np.ndarray, levels: Sequence[float], n_groups: int, joint: bool
) -> np.ndarray:
    """Requested (bandwidth, computing) shares (G, 2) from per-branch level indices."""
    s = np.asarray(levels, dtype=float)[np.asarray(actions, dtype=np.int64)]
    return np.column_stack([s, s]) if joint else s.reshape(n_groups, 2)


def scale_to_capacity(shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale each resource's shares down so they sum to at most 1.

    Returns:
        The feasible shares (G, 2) and the requested excess above 1 per resource (2,).
    """
    total = shares.sum(axis=0)
    return shares / np.maximum(total, 1.0), np.maximum(total - 1.0, 0.0)


def proportional_compute(
    labels: np.ndarray, group_cycles: np.ndarray, loads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split each group's cycles in proportion to its users' computing loads.

    Returns:
        Per-user cycles/s (n_users,) and per-group compute factor kappa = min(1, C_g / L_g) (G,),
        1 for groups without load.
    """
    group_load = np.bincount(labels, weights=loads, minlength=group_cycles.size)
    safe = np.where(group_load > 0, group_load, 1.0)
    with np.errstate(over="ignore"):  # a denormal load overflows to inf, and min(1, inf) = 1
        kappa = np.where(group_load > 0, np.minimum(1.0, group_cycles / safe), 1.0)
    # Users of a load-free group split its cycles equally (nothing to be proportional to).
    counts = np.bincount(labels, minlength=group_cycles.size)
    frac = np.where(group_load[labels] > 0, loads / safe[labels], 1.0 / counts[labels])
    return group_cycles[labels] * frac, kappa


def allocate_from_actions(
    actions: np.ndarray,
    labels: np.ndarray,
    loads_cps: np.ndarray,
    budget_hz: float,
    budget_cycles: float,
    params: SchedulerParams,
    user_split: UserSplit,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Group share levels -> feasible group shares -> per-user bandwidth and computing.

    Returns:
        Per-user bandwidth (Hz), per-user cycles/s, per-user compute factor kappa, feasible group
        shares (G, 2) and the requested excess above capacity per resource (2,).
    """
    n_groups = len(actions) if params.joint_compute_share else len(actions) // 2
    requested = shares_from_actions(
        actions, params.share_levels, n_groups, params.joint_compute_share
    )
    shares, excess = scale_to_capacity(requested)
    cycles, kappa = proportional_compute(labels, shares[:, 1] * budget_cycles, loads_cps)
    bandwidth = user_split(shares[:, 0] * budget_hz, kappa)
    return bandwidth, cycles, kappa[labels], shares, excess


def equal_user_split(labels: np.ndarray) -> UserSplit:
    """A ``UserSplit`` giving every user of a group the same bandwidth."""
    counts = np.bincount(labels)

    def split(group_bw: np.ndarray, kappa: np.ndarray) -> np.ndarray:
        return group_bw[labels] / counts[labels]

    return split


class GroupEmulator:
    """Group-level environment: state = encoded group averages, action = share level per branch."""

    def __init__(
        self,
        labels: np.ndarray,
        model_index: np.ndarray,
        qoe_fns: Sequence[QoEFn],
        budget_hz: float,
        budget_cycles: float,
        params: SchedulerParams,
        emulator: EmulatorParams,
        rng: np.random.Generator,
        user_split: UserSplit | None = None,
        spectral_efficiency: np.ndarray | None = None,
    ) -> None:
        """Create the emulator.

        Args:
            labels: group of each user (n_users,), values 0..G-1, every group non-empty.
            model_index: QoE model (structure) index of each user (n_users,).
            qoe_fns: each user's QoE model, QoE (in [1, 5]) vs effective bandwidth in Hz.
            budget_hz: edge bandwidth to share.
            budget_cycles: edge computing (cycles/s) to share.
            params: scheduler parameters (share levels, branch layout, spectral efficiency).
            emulator: emulator parameters.
            rng: randomness of user states and video requests.
            user_split: user-level allocator; defaults to an equal split inside each group.
            spectral_efficiency: per-user bit/s/Hz; defaults to the scheduler parameter.
        """
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n_users = self.labels.size
        self.n_groups = int(self.labels.max()) + 1
        if len(qoe_fns) != self.n_users or np.any(np.bincount(self.labels) == 0):
            raise ValueError("need one QoE model per user and no empty group")
        self.model_index = np.asarray(model_index, dtype=float)
        self.qoe_fns = list(qoe_fns)
        self.budget_hz, self.budget_cycles = float(budget_hz), float(budget_cycles)
        self.params, self.em, self.rng = params, emulator, rng
        self.user_split = user_split or equal_user_split(self.labels)
        se: np.ndarray | float = (
            params.spectral_efficiency_bps_hz
            if spectral_efficiency is None
            else spectral_efficiency
        )
        self.spectral_efficiency = np.broadcast_to(np.asarray(se, dtype=float), (self.n_users,))
        self.n_branches = self.n_groups * (1 if params.joint_compute_share else 2)
        self.n_actions = len(params.share_levels)
        self.state_dim = self.n_groups * len(GROUP_FEATURES)
        self.episode_slots = emulator.episode_slots
        self.last_info: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> np.ndarray:
        """Draw fresh user states and return the first observation."""
        self.t = 0
        self.buffer_s = self.rng.uniform(0.0, self.em.initial_buffer_max_s, self.n_users)
        self.quality = self.rng.uniform(0.0, 1.0, self.n_users)
        self.complexity = self.rng.uniform(
            self.em.complexity_min, self.em.complexity_max, self.n_users
        )
        return self.observation()

    @property
    def bitrate_bps(self) -> np.ndarray:
        """Current content bitrate of each user, linear in content quality."""
        return self.em.bitrate_min_bps + self.quality * (
            self.em.bitrate_max_bps - self.em.bitrate_min_bps
        )

    @property
    def loads_cps(self) -> np.ndarray:
        """Current computing load of each user in cycles/s."""
        return self.em.cycles_per_bit * self.bitrate_bps * self.complexity

    def user_states(self) -> np.ndarray:
        """(n_users, 4) states with the columns of ``grouping.USER_STATE_FEATURES``."""
        return np.column_stack([self.buffer_s, self.loads_cps, self.quality, self.model_index])

    def observation(self) -> np.ndarray:
        """Encoded group-level state the BDQN reads."""
        return encode_group_state(
            self.labels,
            self.user_states(),
            self.n_groups,
            self.em.buffer_cap_s,
            self.budget_cycles / self.n_users,
            self.params.max_qoe_structures,
        )

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, float, bool, bool]:
        """Apply per-branch share levels for one slot.

        Returns:
            (next observation, reward, terminated (always False), truncated at episode end).
        """
        bandwidth, cycles, kappa, shares, excess = allocate_from_actions(
            actions,
            self.labels,
            self.loads_cps,
            self.budget_hz,
            self.budget_cycles,
            self.params,
            self.user_split,
        )
        return self._advance(bandwidth, cycles, kappa, shares, excess)

    def step_allocation(
        self, bandwidth_hz: np.ndarray, cycles_per_s: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool]:
        """One slot under a per-user allocation made outside the BDQN (the benchmarks: equal
        split, round robin); a user's compute factor is min(1, cycles / load)."""
        bw, cycles = np.asarray(bandwidth_hz, float), np.asarray(cycles_per_s, float)
        loads = self.loads_cps
        safe = np.where(loads > 0, loads, 1.0)
        kappa = np.where(loads > 0, np.minimum(1.0, cycles / safe), 1.0)
        return self._advance(bw, cycles, kappa, np.zeros((0, 2)), np.zeros(2))

    def _advance(
        self,
        bandwidth: np.ndarray,
        cycles: np.ndarray,
        kappa: np.ndarray,
        shares: np.ndarray,
        excess: np.ndarray,
    ) -> tuple[np.ndarray, float, bool, bool]:
        qoe, rebuffer_s = self._play_slot(bandwidth * kappa)
        reward = float(qoe.mean() - self.em.overshare_penalty * excess.sum())
        self.last_info = {
            "qoe": qoe,
            "rebuffer_s": rebuffer_s,
            "bandwidth_hz": bandwidth,
            "cycles_per_s": cycles,
            "shares": shares,
        }
        self._new_requests()
        self.t += 1
        return self.observation(), reward, False, self.t >= self.episode_slots

    def _play_slot(self, effective_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance buffers by one slot; return each user's slot QoE and rebuffering seconds."""
        slot = self.em.slot_s
        downloaded_s = slot * self.spectral_efficiency * effective_hz / self.bitrate_bps
        available = self.buffer_s + downloaded_s
        played = np.minimum(slot, available)
        rebuffer_s = slot - played
        self.buffer_s = np.minimum(self.em.buffer_cap_s, available - played)
        model_qoe = evaluate_each(self.qoe_fns, effective_hz)
        return np.clip(model_qoe - self.em.stall_penalty * rebuffer_s, 1.0, 5.0), rebuffer_s

    def _new_requests(self) -> None:
        """Poisson video requests: a new video resets the buffer and redraws quality/complexity."""
        p_new = 1.0 - np.exp(-self.em.request_rate_per_min * self.em.slot_s / 60.0)
        new = self.rng.random(self.n_users) < p_new
        k = int(new.sum())
        self.buffer_s[new] = 0.0
        self.quality[new] = self.rng.uniform(0.0, 1.0, k)
        self.complexity[new] = self.rng.uniform(self.em.complexity_min, self.em.complexity_max, k)


def rollout_returns(
    env: GroupEmulator, policy: Callable[[np.ndarray], np.ndarray], episodes: int
) -> np.ndarray:
    """Mean per-slot reward of each of ``episodes`` episodes under ``policy(observation)``."""
    out = np.empty(episodes)
    for e in range(episodes):
        obs, total, done = env.reset(), 0.0, False
        while not done:
            obs, reward, terminated, truncated = env.step(policy(obs))
            total += reward
            done = terminated or truncated
        out[e] = total / env.t
    return out


def rollout_allocations(
    env: GroupEmulator,
    allocate: Callable[[GroupEmulator], tuple[np.ndarray, np.ndarray]],
    episodes: int,
) -> np.ndarray:
    """Mean per-slot reward of each episode when ``allocate(env)`` sets every user's
    (bandwidth, cycles) directly (``GroupEmulator.step_allocation``)."""
    out = np.empty(episodes)
    for e in range(episodes):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated = env.step_allocation(*allocate(env))
            total += reward
            done = terminated or truncated
        out[e] = total / env.t
    return out
