"""One tailored orchestration step of an edge server's level-one DAs (seed 000, Fig. 4, Sec. IV).

The whole Fig. 4 pipeline behind one call, so the Mesa agent that hosts it stays thin:
group-level shares from a BDQN on the encoded group state, then a user-level split inside each
group (SLSQP for the proposed scheme, knapsack DP over a bitrate ladder as the discrete variant),
or, for the benchmarks, a BDQN with one branch per user (PDRL-L1) or round robin (w/o DA).
Training runs the same pipeline in the DAs' emulator (``emulator.GroupEmulator``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from policies.scheduling.bdqn import (
    BDQNAgent,
    BDQNConfig,
    BranchingDuelingQNetwork,
    TrainingLog,
    epsilon_greedy,
    load_network,
    save_network,
    train_bdqn,
)
from policies.scheduling.emulator import (
    GroupEmulator,
    QoEFn,
    UserSplit,
    allocate_from_actions,
    equal_user_split,
)
from policies.scheduling.grouping import GROUP_FEATURES, encode_group_state
from policies.scheduling.knapsack import allocate_bitrates
from policies.scheduling.params import EmulatorParams, SchedulerParams
from policies.scheduling.round_robin import round_robin_allocation
from policies.scheduling.slsqp import ela_aware_value, maximise_weighted_utility
from policies.scheduling.waterfill import Tabulated, tabulate, waterfill


@dataclass(frozen=True, slots=True)
class Scheduler:
    """A configured (and, for the BDQN schemes, trained) scheduler.

    Attributes:
        params: scheduler parameters.
        emulator: emulator parameters (the state encoding uses its buffer cap).
        network: the group-level (or, for PDRL, user-level) BDQN; None for round robin.
    """

    params: SchedulerParams
    emulator: EmulatorParams = field(default_factory=EmulatorParams)
    network: BranchingDuelingQNetwork | None = None

    @property
    def n_groups(self) -> int | None:
        """Groups (users for PDRL) the network was built for; None for round robin."""
        if self.network is None:
            return None
        per_group = 1 if self.params.joint_compute_share else 2
        return self.network.config.n_branches // per_group


@dataclass(frozen=True, slots=True)
class Allocation:
    """Per-user decisions of one orchestration step.

    Attributes:
        bandwidth_hz: bandwidth per user; sums to at most the budget.
        cycles_per_s: edge computing per user; sums to at most the budget.
        group_shares: feasible (bandwidth, computing) share per group, (G, 2); (0, 2) for RR.
        next_rr_offset: round-robin rotation offset to pass to the next step.
    """

    bandwidth_hz: np.ndarray
    cycles_per_s: np.ndarray
    group_shares: np.ndarray
    next_rr_offset: int


def branch_labels(params: SchedulerParams, group_labels: np.ndarray) -> np.ndarray:
    """Labels the BDQN branches act on: the groups, or every user alone for PDRL-L1."""
    labels = np.asarray(group_labels, dtype=np.int64)
    return np.arange(labels.size) if params.scheduler == "pdrl" else labels


def network_config(params: SchedulerParams, n_groups: int) -> BDQNConfig:
    """BDQN shape for ``n_groups`` groups (users for PDRL: five layers by default)."""
    return BDQNConfig(
        state_dim=n_groups * len(GROUP_FEATURES),
        n_branches=n_groups * (1 if params.joint_compute_share else 2),
        n_actions=len(params.share_levels),
        n_layers=params.pdrl_layers if params.scheduler == "pdrl" else params.bdqn_layers,
        hidden_width=params.hidden_width,
        branch_width=params.branch_width,
    )


def _scaled(fn: QoEFn, k: float, outer: float = 1.0) -> QoEFn:
    """x -> outer * fn(k * x): the QoE (or derivative) of raw bandwidth at compute factor k."""
    return lambda x: outer * np.asarray(fn(k * np.asarray(x, dtype=float)), dtype=float)


USER_LEVEL_METHODS: tuple[str, ...] = ("slsqp", "knapsack", "equal")


@dataclass(frozen=True, slots=True)
class _UserLevel:
    """A ``UserSplit`` running SLSQP or the knapsack DP inside every group."""

    params: SchedulerParams
    labels: np.ndarray
    qoe_fns: Sequence[QoEFn]
    qoe_grads: Sequence[QoEFn] | None
    ela: np.ndarray | None
    spectral_efficiency: np.ndarray
    method: str
    table: Tabulated | None = None

    def __call__(self, group_bw: np.ndarray, kappa: np.ndarray) -> np.ndarray:
        bandwidth = np.zeros(self.labels.size)
        for g in range(group_bw.size):
            members = np.flatnonzero(self.labels == g)
            if members.size:
                bandwidth[members] = self._split_group(members, group_bw[g], kappa[g])
        return bandwidth

    def _split_group(self, m: np.ndarray, budget: float, k: float) -> np.ndarray:
        p, ela = self.params, None if self.ela is None else self.ela[m]
        if self.method == "knapsack":
            return allocate_bitrates(
                [self.qoe_fns[i] for i in m],
                p.bitrate_ladder_bps,
                budget,
                self.spectral_efficiency[m],
                kappa=k,
                resolution=p.knapsack_resolution,
                ela=ela,
                ela_penalty=p.ela_penalty,
            ).bandwidth
        if self.table is not None and bool(self.table.concave[m].all()):
            return waterfill(self.table, m, budget, k)
        # Users see kappa * b of their raw bandwidth b, so optimise U(kappa * b) (chain rule).
        grads = None if self.qoe_grads is None else [_scaled(self.qoe_grads[i], k, k) for i in m]
        return maximise_weighted_utility(
            [_scaled(self.qoe_fns[i], k) for i in m],
            budget,
            gradients=grads,
            ela=ela,
            ela_penalty=p.ela_penalty,
            maxiter=p.slsqp_maxiter,
            ftol=p.slsqp_ftol,
        ).bandwidth


def user_level_split(
    params: SchedulerParams,
    labels: np.ndarray,
    qoe_fns: Sequence[QoEFn],
    *,
    qoe_grads: Sequence[QoEFn] | None = None,
    ela: np.ndarray | None = None,
    spectral_efficiency: np.ndarray | None = None,
    method: str | None = None,
    budget_hz: float | None = None,
) -> UserSplit:
    """The user-level allocator of ``params.scheduler`` as a ``UserSplit``.

    Args:
        params: scheduler parameters.
        labels: group of each user.
        qoe_fns: each user's QoE vs effective bandwidth (Hz).
        qoe_grads: their derivatives (SLSQP uses central differences when omitted).
        ela: per-user ELA, required by the ELA-aware objective.
        spectral_efficiency: per-user bit/s/Hz for the knapsack ladder costs.
        method: "slsqp", "knapsack" or "equal"; defaults to the scheduler's own (equal for
            PDRL, whose groups are single users, and round robin).
        budget_hz: the most bandwidth any group is split from; with ``user_solver = "auto"``
            SLSQP groups whose users' curves are all concave on [0, budget_hz] are water-filled
            in closed form instead (``waterfill``).

    Raises:
        ValueError: for an unknown method or an ELA-aware objective without ELAs.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if method is None:
        method = {"bdqn-slsqp": "slsqp", "bdqn-knapsack": "knapsack"}.get(params.scheduler, "equal")
    if method not in USER_LEVEL_METHODS:
        raise ValueError(f"method={method!r} not in {USER_LEVEL_METHODS}")
    if method == "equal":
        return equal_user_split(labels)
    if params.user_objective == "ela-aware" and ela is None:
        raise ValueError("user_objective='ela-aware' needs each user's ELA")
    se = params.spectral_efficiency_bps_hz if spectral_efficiency is None else spectral_efficiency
    ela_used = np.asarray(ela, dtype=float) if params.user_objective == "ela-aware" else None
    table = None
    if method == "slsqp" and params.user_solver == "auto" and budget_hz and budget_hz > 0:
        table = _tabulate(qoe_fns, budget_hz, ela_used, params.ela_penalty)
    return _UserLevel(
        params,
        labels,
        qoe_fns,
        qoe_grads,
        ela_used,
        np.broadcast_to(np.asarray(se, dtype=float), labels.shape),
        method,
        table,
    )


def _tabulate(
    fns: Sequence[QoEFn], upper: float, ela: np.ndarray | None, penalty: float
) -> Tabulated:
    """Each user's (ELA-aware) utility on the water-filling grid."""
    if ela is None:
        return tabulate(fns, upper)
    return tabulate(fns, upper, transform=lambda u, i: ela_aware_value(u, ela[i], penalty))


def train_scheduler(
    params: SchedulerParams,
    group_labels: np.ndarray,
    model_index: np.ndarray,
    qoe_fns: Sequence[QoEFn],
    budget_hz: float,
    budget_cycles: float,
    rng: np.random.Generator,
    generator: torch.Generator,
    *,
    emulator: EmulatorParams | None = None,
    ela: np.ndarray | None = None,
    spectral_efficiency: np.ndarray | None = None,
    previous: Scheduler | None = None,
    qoe_grads: Sequence[QoEFn] | None = None,
) -> tuple[Scheduler, TrainingLog]:
    """Train the scheduler's BDQN in the DAs' emulator of these users (nothing for round robin).

    The budget is ``params.train_steps`` emulator transitions (the schedule it implies is
    ``params.schedule()``); a budget breaking the contract of ``params.check`` is refused.

    Args:
        params: scheduler parameters.
        group_labels: group of each user (``grouping.group_by_structure``).
        model_index: QoE model structure index of each user.
        qoe_fns: each user's QoE model (the DAs' models).
        budget_hz: edge bandwidth.
        budget_cycles: edge computing in cycles/s.
        rng: emulator, exploration and replay randomness.
        generator: network initialisation randomness.
        emulator: emulator parameters (defaults if None).
        ela: per-user ELA for the ELA-aware objective.
        spectral_efficiency: per-user bit/s/Hz.
        previous: this unit's scheduler from earlier windows: its network is fine-tuned
            (branches adapted when the groups changed, ``bdqn.warm_start``) instead of fresh
            random weights.
        qoe_grads: QoE derivatives for SLSQP.

    Returns:
        The trained scheduler and its training log (learning curve, updates, target syncs).

    Raises:
        ValueError: if the training schedule breaks the budget contract.
    """
    em = EmulatorParams() if emulator is None else emulator
    if params.scheduler == "round-robin":
        return Scheduler(params, em, None), TrainingLog((), ())
    problem = params.check()
    if problem:
        raise ValueError(problem)
    labels = branch_labels(params, group_labels)
    method = "equal" if params.emulator_user_split == "equal" else None
    split = user_level_split(
        params,
        labels,
        qoe_fns,
        qoe_grads=qoe_grads,
        ela=ela,
        spectral_efficiency=spectral_efficiency,
        method=method,
        budget_hz=budget_hz,
    )
    env = GroupEmulator(
        labels,
        model_index,
        qoe_fns,
        budget_hz,
        budget_cycles,
        params,
        em,
        rng,
        user_split=split,
        spectral_efficiency=spectral_efficiency,
    )
    start = None if previous is None else previous.network
    agent = BDQNAgent(network_config(params, env.n_groups), params, generator, start)
    log = train_bdqn(env, agent, rng)
    return Scheduler(params, em, agent.online), log


def orchestrate(
    scheduler: Scheduler,
    group_labels: np.ndarray,
    user_states: np.ndarray,
    user_qoe_fns: Sequence[QoEFn],
    budget_hz: float,
    budget_cycles: float,
    rng: np.random.Generator,
    *,
    qoe_grads: Sequence[QoEFn] | None = None,
    ela: np.ndarray | None = None,
    spectral_efficiency: np.ndarray | None = None,
    rr_offset: int = 0,
) -> Allocation:
    """Allocate the edge's bandwidth and computing among its users for one slot.

    Args:
        scheduler: the (trained) scheduler.
        group_labels: group of each user (ignored by round robin and PDRL).
        user_states: (n_users, 4) states, columns ``grouping.USER_STATE_FEATURES``; the group
            averages of these form the BDQN state, column 1 (load) splits the computing.
        user_qoe_fns: each user's QoE vs effective bandwidth.
        budget_hz: edge bandwidth this slot.
        budget_cycles: edge computing this slot (cycles/s).
        rng: exploration randomness (used when ``params.eval_epsilon`` > 0).
        qoe_grads: QoE derivatives for SLSQP.
        ela: per-user ELA for the ELA-aware objective.
        spectral_efficiency: per-user bit/s/Hz for the knapsack.
        rr_offset: round-robin rotation offset from the previous step.

    Returns:
        The allocation; capacity holds for both resources.

    Raises:
        ValueError: if a BDQN scheme has no network or more groups than its network.
    """
    params, states = scheduler.params, np.asarray(user_states, dtype=float)
    n_users = states.shape[0]
    if params.scheduler == "round-robin":
        bw, cycles, nxt = round_robin_allocation(
            np.ones(n_users, dtype=bool),
            budget_hz,
            budget_cycles,
            params.resource_block_hz,
            rr_offset,
        )
        return Allocation(bw, cycles, np.zeros((0, 2)), nxt)
    if scheduler.network is None:
        raise ValueError(f"scheduler {params.scheduler!r} needs a trained network")
    labels = branch_labels(params, group_labels)
    n_groups = scheduler.network.config.n_branches // (1 if params.joint_compute_share else 2)
    if labels.size and int(labels.max()) + 1 > n_groups:
        raise ValueError(f"{int(labels.max()) + 1} groups but the BDQN was built for {n_groups}")
    state = encode_group_state(
        labels,
        states,
        n_groups,
        scheduler.emulator.buffer_cap_s,
        budget_cycles / max(n_users, 1),
        params.max_qoe_structures,
    )
    actions = epsilon_greedy(scheduler.network, state, params.eval_epsilon, rng)
    split = user_level_split(
        params,
        labels,
        user_qoe_fns,
        qoe_grads=qoe_grads,
        ela=ela,
        spectral_efficiency=spectral_efficiency,
        budget_hz=budget_hz,
    )
    bw, cycles, _, shares, _ = allocate_from_actions(
        actions, labels, states[:, 1], budget_hz, budget_cycles, params, split
    )
    return Allocation(bw, cycles, shares, rr_offset)


def save_scheduler(scheduler: Scheduler, path: str | Path) -> None:
    """Save a BDQN scheduler: network state_dict, network shape and both parameter sets."""
    if scheduler.network is None:
        raise ValueError("round robin has no network to save")
    extra = {"scheduler": asdict(scheduler.params), "emulator": asdict(scheduler.emulator)}
    save_network(scheduler.network, path, extra)


def load_scheduler(path: str | Path) -> Scheduler:
    """Load a scheduler saved by ``save_scheduler`` (identical decisions to the saved one)."""
    network, extra = load_network(path)
    fields: dict[str, Any] = {k: _tuple(v) for k, v in extra["scheduler"].items()}
    params = SchedulerParams(**fields)
    return Scheduler(params, EmulatorParams(**extra["emulator"]), network)


def _tuple(value: object) -> object:
    """Lists read back from a save file become the tuples the frozen params expect."""
    return tuple(value) if isinstance(value, list) else value
