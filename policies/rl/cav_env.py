"""CAV cooperative perception: parameters, physics and the one-slot step (seed 003, Sec. IV).

The case study of seed 003 (Sec. IV): N CAV pairs and HDVs in a moving cluster under one RSU;
in every slot each pair picks stand-alone (SP) or cooperative perception (CP); the reward is
the total computing efficiency gain (SP energy saved by CP). The system model and its
constants are those of Qu et al., IEEE TWC 2024, as summarised in
``shared/models/cav-cooperative-perception.md`` ("the model file" below).

Everything here is numpy over a batch of E independent episodes (rows) and N pairs (columns):
:class:`CavState` is the state of E episodes, :func:`cav_slot` advances all of them one slot.
The Gymnasium wrapper and the batch environment used for training live in
:mod:`policies.rl.cav_gym`; the exact bandwidth allocator in :mod:`policies.rl.cav_allocator`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from policies.rl.cav_allocator import allocate_bandwidth
from policies.rl.cav_params import CavParams

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

FEATURES_PER_PAIR = 6  # B(k), O_i, d_i, mean O of others, mean d of others, previous mode


# ---------------------------------------------------------------- workload and energy ----
def sp_cycles(p: CavParams) -> float:
    """delta: CPU cycles per object of one CAV in SP (model file: d1 + d3 + (1 - rho) d4)."""
    return (
        p.feature_extraction_cycles
        + p.early_exit_cycles
        + (1.0 - p.early_exit_ratio_sp) * p.full_inference_cycles
    )


def cp_receiver_cycles(p: CavParams) -> float:
    """delta_hat: cycles per object at the CP receiver (d1 + d2 + d3 + (1 - rho_cp) d4)."""
    return (
        p.feature_extraction_cycles
        + p.fusion_cycles
        + p.early_exit_cycles
        + (1.0 - p.early_exit_ratio_cp) * p.full_inference_cycles
    )


def cp_pair_cycles(p: CavParams) -> float:
    """delta_tilde: cycles per object of the whole pair in CP (delta_hat + d1)."""
    return cp_receiver_cycles(p) + p.feature_extraction_cycles


def gain_threshold_phi(p: CavParams) -> float:
    """phi = sqrt(2 delta^3 / (delta_hat^2 delta_tilde)); CP gains iff t_c >= Delta / phi."""
    d, dh, dt = sp_cycles(p), cp_receiver_cycles(p), cp_pair_cycles(p)
    return float(np.sqrt(2.0 * d**3 / (dh**2 * dt)))


def min_compute_time_s(p: CavParams) -> float:
    """Delta / phi: the least t_c at which a CP pair gains (a constraint of every CP pair)."""
    return p.deadline_s / gain_threshold_phi(p)


def spectral_efficiency(distance_m: FloatArray, p: CavParams) -> FloatArray:
    """log2(1 + P g(d) / N) of the V2V link, 3GPP TR 37.885 highway LOS path loss (bit/s/Hz)."""
    path_loss_db = (
        p.pathloss_intercept_db
        + p.pathloss_distance_coef_db * np.log10(distance_m)
        + p.pathloss_frequency_coef_db * np.log10(p.carrier_ghz)
    )
    snr = 10.0 ** ((p.tx_power_dbm - path_loss_db - p.noise_dbm) / 10.0)
    return np.log2(1.0 + snr)


def v2v_rate_bps(share: FloatArray, bandwidth_mhz: FloatArray, distance_m: FloatArray,
                 p: CavParams) -> FloatArray:
    """r_i = b_i B(k) log2(1 + P g(d_i) / N) in bit/s."""
    return share * bandwidth_mhz * 1e6 * spectral_efficiency(distance_m, p)


def sp_energy(objects: FloatArray, p: CavParams) -> FloatArray:
    """Pair energy in SP: both CAVs at f = O delta / Delta, E = 2 kappa O^3 delta^3 / Delta^2."""
    return 2.0 * p.kappa * objects**3 * sp_cycles(p) ** 3 / p.deadline_s**2


def cp_energy_coef(objects: FloatArray, p: CavParams) -> FloatArray:
    """C_i = kappa O^3 delta_tilde delta_hat^2, so that E_CP = C_i / t_c^2 (J s^2)."""
    return p.kappa * objects**3 * cp_pair_cycles(p) * cp_receiver_cycles(p) ** 2


def cp_energy(objects: FloatArray, compute_time_s: FloatArray, p: CavParams) -> FloatArray:
    """Pair energy in CP: delta_tilde O cycles at f = O delta_hat / t_c."""
    return cp_energy_coef(objects, p) / compute_time_s**2


# ------------------------------------------------------------------------ tasks ----------
def constant_task(mu_mhz: float, p: CavParams) -> FloatArray:
    """Radio pattern mu(0..K-1) equal to ``mu_mhz`` in every slot (tasks 1 and 2)."""
    return np.full(p.slots_per_episode, float(mu_mhz))


def random_task(p: CavParams, rng: np.random.Generator) -> FloatArray:
    """A meta-training task: each mu(k) uniform over ``bandwidth_levels_mhz`` (seed Sec. IV)."""
    return rng.choice(np.asarray(p.bandwidth_levels_mhz, dtype=float), p.slots_per_episode)


def task_pattern(name: str, p: CavParams, rng: np.random.Generator | None = None) -> FloatArray:
    """The mu pattern of a named task: "task1", "task2" or "random" (needs ``rng``)."""
    if name == "task1":
        return constant_task(p.task1_mu_mhz, p)
    if name == "task2":
        return constant_task(p.task2_mu_mhz, p)
    if name == "random":
        if rng is None:
            raise ValueError("task 'random' needs a numpy Generator")
        return random_task(p, rng)
    raise ValueError(f"unknown task {name!r}; expected 'task1', 'task2' or 'random'")


# ------------------------------------------------------------------------ state ----------
@dataclass(frozen=True, slots=True)
class CavState:
    """State of E episodes at the start of slot ``slot`` (arrays are never mutated).

    Attributes:
        slot: k, the index of the current slot (0..K; K means the episode is over).
        mu_mhz: (E, K) the radio pattern of each episode's task.
        bandwidth_mhz: (E,) B(k), observed before the decision.
        object_level: (E, N) index into ``object_levels`` of O_i.
        distance_level: (E, N) index into ``distance_levels_m`` of d_i.
        prev_mode: (E, N) True where the pair ran CP in the previous slot.
    """

    slot: int
    mu_mhz: FloatArray
    bandwidth_mhz: FloatArray
    object_level: IntArray
    distance_level: IntArray
    prev_mode: BoolArray


def objects_of(state: CavState, p: CavParams) -> FloatArray:
    """O_i of every pair, (E, N)."""
    return np.asarray(p.object_levels, dtype=float)[state.object_level]


def distances_of(state: CavState, p: CavParams) -> FloatArray:
    """d_i of every pair in metres, (E, N)."""
    return np.asarray(p.distance_levels_m, dtype=float)[state.distance_level]


def _draw_bandwidth(mu: FloatArray, p: CavParams, rng: np.random.Generator) -> FloatArray:
    """B ~ N(mu, sigma^2), clipped at the floor (a negative radio budget is meaningless)."""
    return np.maximum(rng.normal(mu, p.bandwidth_std_mhz), p.bandwidth_floor_mhz)


def _markov_step(level: IntArray, matrix: FloatArray, rng: np.random.Generator) -> IntArray:
    """One step of independent Markov chains (inverse-CDF sampling of each row)."""
    cdf = np.cumsum(matrix, axis=1)[level]
    u = rng.random(level.shape)
    return np.minimum((u[..., None] >= cdf).sum(axis=-1), matrix.shape[0] - 1)


def initial_state(mu_mhz: FloatArray, p: CavParams, rng: np.random.Generator) -> CavState:
    """Start E episodes: slot 0, B(0) drawn, levels drawn, every pair in SP (the default mode).

    Args:
        mu_mhz: (E, K) radio patterns, one per episode (or (K,) for a single episode).
        p: Parameters.
        rng: Source of randomness.
    """
    mu = np.atleast_2d(np.asarray(mu_mhz, dtype=float))
    if mu.shape[1] != p.slots_per_episode:
        raise ValueError(f"mu pattern has {mu.shape[1]} slots, expected {p.slots_per_episode}")
    e, n = mu.shape[0], p.n_pairs
    levels = len(p.object_levels), len(p.distance_levels_m)
    if p.initial_levels == "uniform":
        obj = rng.integers(0, levels[0], (e, n))
        dist = rng.integers(0, levels[1], (e, n))
    else:
        obj = rng.choice(levels[0], (e, n), p=p.stationary("object"))
        dist = rng.choice(levels[1], (e, n), p=p.stationary("distance"))
    return CavState(0, mu, _draw_bandwidth(mu[:, 0], p, rng), obj.astype(np.int64),
                    dist.astype(np.int64), np.zeros((e, n), dtype=bool))


def observe(state: CavState, p: CavParams) -> NDArray[np.float32]:
    """Normalised observation, (E, N * 6): per pair [B, O_i, d_i, mean O_-i, mean d_-i, prev].

    O and d are mapped linearly onto [-1, 1] over their levels; B by (B - ref) / scale.
    """
    o_lv, d_lv = np.asarray(p.object_levels, float), np.asarray(p.distance_levels_m, float)
    o = (objects_of(state, p) - o_lv.mean()) / (0.5 * np.ptp(o_lv) or 1.0)
    d = (distances_of(state, p) - d_lv.mean()) / (0.5 * np.ptp(d_lv) or 1.0)
    n = p.n_pairs
    others = max(n - 1, 1)
    o_others = (o.sum(axis=1, keepdims=True) - o) / others
    d_others = (d.sum(axis=1, keepdims=True) - d) / others
    b = (state.bandwidth_mhz - p.bandwidth_ref_mhz) / p.bandwidth_scale_mhz
    b = np.broadcast_to(b[:, None], o.shape)
    feats = np.stack([b, o, d, o_others, d_others, state.prev_mode.astype(float)], axis=-1)
    return feats.reshape(o.shape[0], n * FEATURES_PER_PAIR).astype(np.float32)


# ------------------------------------------------------------------------ the slot -------
@dataclass(frozen=True, slots=True)
class SlotInfo:
    """What happened in one slot of E episodes (arrays (E,) or (E, N))."""

    gain: FloatArray
    share: FloatArray
    compute_time_s: FloatArray
    feasible: BoolArray
    effective_mode: BoolArray
    switches: IntArray


def cav_reward(state: CavState, action: BoolArray, p: CavParams) -> tuple[FloatArray, SlotInfo]:
    """Reward of choosing ``action`` (True = CP) in the current slot; deterministic.

    Reward = sum_i G_i - switch_cost * (#pairs whose effective mode changed)
    - infeasible_penalty * [infeasible]. Every CP pair must gain (t_c >= Delta / phi, model
    file): when the band cannot give each CP pair its minimum share a_i / (Delta - Delta/phi),
    the choice is infeasible, every pair is forced to SP (effective mode), the gain is 0 and
    the penalty applies; switches are counted on effective modes in both cases (forcing a CP
    pair to SP is a switch).
    """
    cp = np.asarray(action, dtype=bool).reshape(state.prev_mode.shape)
    objects, dist = objects_of(state, p), distances_of(state, p)
    full_rate = state.bandwidth_mhz[:, None] * 1e6 * spectral_efficiency(dist, p)
    tx_full = objects * p.feature_bits_per_object / full_rate
    coef = cp_energy_coef(objects, p)
    alloc = allocate_bandwidth(tx_full, coef, cp, p.deadline_s, p.compute_cap_fraction,
                               min_compute_time_s(p))
    effective = cp & alloc.feasible[:, None]
    with np.errstate(divide="ignore"):
        raw = sp_energy(objects, p) - coef / alloc.compute_time_s**2
    # The allocator keeps t_c >= Delta / phi, where G_i = 0 exactly: a negative value is
    # floating-point rounding at that bound (~1e-16 E_SP), not a pair running CP at a loss.
    gain = np.where(effective, np.maximum(raw, 0.0), 0.0)
    switches = (effective != state.prev_mode).sum(axis=1)
    reward = (gain.sum(axis=1) - p.switch_cost * switches
              - p.infeasible_penalty * (~alloc.feasible))
    info = SlotInfo(gain, alloc.share, alloc.compute_time_s, alloc.feasible, effective, switches)
    return reward, info


def cav_transition(state: CavState, effective_mode: BoolArray, p: CavParams,
                   rng: np.random.Generator) -> CavState:
    """Advance the exogenous dynamics one slot: B(k+1), O and d Markov steps, prev mode.

    After the last slot (k + 1 = K) B is drawn from mu(K-1) so the terminal state is defined.
    """
    k_next = state.slot + 1
    mu_next = state.mu_mhz[:, min(k_next, p.slots_per_episode - 1)]
    return replace(
        state,
        slot=k_next,
        bandwidth_mhz=_draw_bandwidth(mu_next, p, rng),
        object_level=_markov_step(state.object_level, p.matrix("object"), rng),
        distance_level=_markov_step(state.distance_level, p.matrix("distance"), rng),
        prev_mode=np.asarray(effective_mode, dtype=bool).copy(),
    )


def cav_slot(state: CavState, action: BoolArray, p: CavParams,
             rng: np.random.Generator) -> tuple[FloatArray, CavState, SlotInfo]:
    """One slot of E episodes: reward of ``action`` (E, N) bools, then the next state.

    Usable on its own (e.g. by an edge twin emulating its PLVN): state in, state out.

    Returns:
        ``(reward (E,), next_state, info)``.
    """
    if state.slot >= p.slots_per_episode:
        raise ValueError(f"episode is over (slot {state.slot} of {p.slots_per_episode})")
    reward, info = cav_reward(state, action, p)
    return reward, cav_transition(state, info.effective_mode, p, rng), info


def greedy_action(state: CavState, p: CavParams) -> BoolArray:
    """Myopic oracle: per episode, the decision vector with the best reward in this slot.

    Enumerates all 2^N decision vectors (a benchmark for small N, not a learner; it ignores
    the future cost of switching).
    """
    n = p.n_pairs
    codes = np.arange(2**n)
    actions = ((codes[:, None] >> np.arange(n)) & 1).astype(bool)  # (2^N, N)
    e = state.prev_mode.shape[0]
    rewards = np.stack([cav_reward(state, np.broadcast_to(a, (e, n)), p)[0] for a in actions])
    return actions[np.argmax(rewards, axis=0)]
