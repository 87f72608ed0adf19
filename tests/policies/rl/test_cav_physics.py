"""CAV environment physics against hand calculations (seed 003 Sec. IV, model file)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.rl.cav_env import (
    CavState,
    cav_reward,
    cav_slot,
    cp_energy,
    cp_pair_cycles,
    cp_receiver_cycles,
    gain_threshold_phi,
    greedy_action,
    initial_state,
    sp_cycles,
    sp_energy,
    spectral_efficiency,
    task_pattern,
    v2v_rate_bps,
)
from policies.rl.cav_params import CavParams

P = CavParams()
KAPPA, DELTA = 1e-28, 0.1
# Hand calculation from the model file's constants.
D1, D2, D3, D4 = 4.009e6, 33.3, 3.085e5, 7.667e7
SP_CYC = D1 + D3 + 0.7 * D4  # 57,986,500
CP_RX = D1 + D2 + D3 + 0.4 * D4  # 34,985,533.3
CP_PAIR = CP_RX + D1


def _state(objects: list[list[int]], dist: list[list[float]], bw: list[float],
           prev: list[list[bool]] | None = None) -> CavState:
    o_idx = np.array([[P.object_levels.index(o) for o in row] for row in objects])
    d_idx = np.array([[P.distance_levels_m.index(d) for d in row] for row in dist])
    e, n = o_idx.shape
    prev_arr = np.zeros((e, n), bool) if prev is None else np.array(prev)
    mu = np.full((e, P.slots_per_episode), 5.0)
    return CavState(0, mu, np.array(bw, float), o_idx, d_idx, prev_arr)


def test_cycle_counts_match_the_model_file() -> None:
    assert sp_cycles(P) == pytest.approx(57_986_500.0, rel=1e-12)
    assert cp_receiver_cycles(P) == pytest.approx(CP_RX, rel=1e-12)
    assert cp_pair_cycles(P) == pytest.approx(CP_PAIR, rel=1e-12)


def test_phi_is_about_2_86() -> None:
    phi = math.sqrt(2 * SP_CYC**3 / (CP_RX**2 * CP_PAIR))
    assert gain_threshold_phi(P) == pytest.approx(phi, rel=1e-12)
    assert round(phi, 2) == 2.86


def test_sp_energy_by_hand() -> None:
    # Two CAVs, each 6 objects * delta cycles at f = 6 delta / Delta: 2 kappa c f^2.
    f = 6 * SP_CYC / DELTA
    hand = 2 * KAPPA * (6 * SP_CYC) * f**2
    assert sp_energy(np.array(6.0), P) == pytest.approx(hand, rel=1e-12)
    assert hand == pytest.approx(0.8423, rel=1e-3)


def test_cp_energy_by_hand() -> None:
    t_c = 0.06
    f = 8 * CP_RX / t_c
    hand = KAPPA * (8 * CP_PAIR) * f**2
    assert cp_energy(np.array(8.0), np.array(t_c), P) == pytest.approx(hand, rel=1e-12)


@pytest.mark.parametrize("objects", [4.0, 6.0, 8.0])
def test_gain_is_zero_at_delta_over_phi_and_changes_sign(objects: float) -> None:
    t0 = DELTA / gain_threshold_phi(P)
    o = np.array(objects)
    gain = lambda t: float(sp_energy(o, P) - cp_energy(o, np.array(t), P))  # noqa: E731
    assert abs(gain(t0)) <= 1e-12 * float(sp_energy(o, P))
    assert gain(t0 * 1.01) > 0 > gain(t0 * 0.99)


def test_v2v_rate_by_hand() -> None:
    pl = 32.4 + 20 * math.log10(18.0) + 20 * math.log10(6.0)
    snr = 10 ** ((23.0 - pl + 104.0) / 10)
    hand = 0.5 * 5e6 * math.log2(1 + snr)
    rate = v2v_rate_bps(np.array(0.5), np.array(5.0), np.array(18.0), P)
    assert rate == pytest.approx(hand, rel=1e-12)
    assert spectral_efficiency(np.array(6.0), P) > spectral_efficiency(np.array(30.0), P)


def test_single_cp_pair_with_ample_radio_sits_at_the_cap() -> None:
    # One pair in CP, 7 MHz, 6 m: minimum share at the cap is < 1, so t_c = 0.75 Delta.
    s = _state([[6, 6, 6]], [[6.0, 6.0, 6.0]], [7.0])
    reward, info = cav_reward(s, np.array([[True, False, False]]), P)
    t_c = 0.75 * DELTA
    hand_gain = 2 * KAPPA * 216 * SP_CYC**3 / DELTA**2 - KAPPA * 216 * CP_PAIR * CP_RX**2 / t_c**2
    assert info.compute_time_s[0, 0] == pytest.approx(t_c, rel=1e-12)
    a = 6 * 295_936 / (7e6 * float(spectral_efficiency(np.array(6.0), P)))
    assert info.share[0, 0] == pytest.approx(a / (0.25 * DELTA), rel=1e-12)
    assert reward[0] == pytest.approx(hand_gain - 0.4, rel=1e-12)  # one switch SP -> CP


def test_infeasible_choice_forces_sp_and_costs_the_penalty() -> None:
    # 0.5 MHz cannot carry 8 objects of features within 100 ms.
    s = _state([[8, 8, 8]], [[30.0, 30.0, 30.0]], [0.5], prev=[[True, False, False]])
    reward, info = cav_reward(s, np.ones((1, 3), bool), P)
    assert not info.feasible[0]
    assert not info.effective_mode.any()
    assert reward[0] == pytest.approx(-10.0 - 0.4)  # forced CP -> SP switch of pair 0
    assert np.all(info.gain == 0.0)


def test_all_sp_reward_is_minus_switching_cost() -> None:
    s = _state([[5, 7, 8]], [[6.0, 12.0, 30.0]], [5.0], prev=[[True, True, False]])
    reward, info = cav_reward(s, np.zeros((1, 3), bool), P)
    assert reward[0] == pytest.approx(-0.8)
    assert info.switches[0] == 2


def test_markov_chains_follow_the_transition_matrix() -> None:
    rng = np.random.default_rng(3)
    mu = np.tile(task_pattern("task1", P), (4000, 1))
    s = initial_state(mu, P, rng)
    counts = np.zeros((5, 5))
    for _ in range(5):
        _, nxt, _ = cav_slot(s, np.zeros_like(s.prev_mode), P, rng)
        np.add.at(counts, (s.object_level.ravel(), nxt.object_level.ravel()), 1)
        s = nxt
    freq = counts / counts.sum(axis=1, keepdims=True)
    assert np.abs(freq - P.matrix("object")).max() < 0.02  # ~12k samples per row


def test_bandwidth_statistics_follow_the_task() -> None:
    rng = np.random.default_rng(4)
    s = initial_state(np.tile(task_pattern("task2", P), (20_000, 1)), P, rng)
    assert s.bandwidth_mhz.mean() == pytest.approx(7.0, abs=0.01)
    assert s.bandwidth_mhz.std() == pytest.approx(0.3, rel=0.03)
    pattern = task_pattern("random", P, rng)
    assert set(np.unique(pattern)) <= {5.0, 6.0, 7.0} and pattern.shape == (75,)


def test_same_seed_same_trajectory_different_seed_differs() -> None:
    def run(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        s = initial_state(np.tile(task_pattern("task1", P), (3, 1)), P, rng)
        out = []
        for _ in range(10):
            r, s, _ = cav_slot(s, greedy_action(s, P), P, rng)
            out.append(r)
        return np.array(out)

    assert np.array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_greedy_action_is_the_best_single_slot_choice() -> None:
    rng = np.random.default_rng(5)
    s = initial_state(np.tile(task_pattern("task1", P), (50, 1)), P, rng)
    best = cav_reward(s, greedy_action(s, P), P)[0]
    for code in range(8):
        a = np.broadcast_to(np.array([(code >> i) & 1 for i in range(3)], bool), (50, 3))
        assert np.all(best >= cav_reward(s, a, P)[0] - 1e-12)


def test_params_reject_bad_values_by_name() -> None:
    with pytest.raises(ValueError, match="deadline_s"):
        CavParams(deadline_s=-1.0)
    with pytest.raises(ValueError, match="object_transition"):
        CavParams(object_transition=(0.5,) * 25)
    with pytest.raises(ValueError, match="initial_levels"):
        CavParams(initial_levels="nope")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), bw=st.floats(2.0, 9.0), p_cp=st.floats(0.0, 1.0))
def test_slot_invariants(seed: int, bw: float, p_cp: float) -> None:
    rng = np.random.default_rng(seed)
    s = initial_state(np.full((8, P.slots_per_episode), bw), P, rng)
    action = rng.random((8, 3)) < p_cp
    reward, info = cav_reward(s, action, P)
    assert np.all(info.share.sum(axis=1) <= 1.0 + 1e-12)
    assert np.all(info.compute_time_s <= 0.75 * DELTA * (1 + 1e-12))
    on = info.effective_mode
    assert np.all(info.compute_time_s[on] > 0) and np.all(info.share[~on] == 0)
    objects = np.asarray(P.object_levels, float)[s.object_level]
    best = sp_energy(objects, P) - cp_energy(objects, np.full_like(objects, 0.075), P)
    assert np.all(info.gain <= best + 1e-12)  # no CP gain beyond the capped t_c
    assert np.all(np.isfinite(reward))


@pytest.mark.parametrize("n", range(1, 9))
def test_feasibility_is_the_sum_rule_and_every_cp_pair_gains(n: int) -> None:
    # Model file: a CP set is feasible iff sum_i a_i / (Delta - Delta / phi) <= 1, with a_i
    # the transmission time at the full band; at the optimum every CP pair has G_i >= 0.
    p = CavParams(n_pairs=n)
    rng = np.random.default_rng(40 + n)
    s = initial_state(np.full((400, p.slots_per_episode), 5.0), p, rng)
    s = CavState(0, s.mu_mhz, rng.uniform(1.0, 8.0, 400), s.object_level, s.distance_level,
                 rng.random((400, n)) < 0.5)
    action = rng.random((400, n)) < 0.7
    reward, info = cav_reward(s, action, p)
    objects = np.asarray(p.object_levels, float)[s.object_level]
    dist = np.asarray(p.distance_levels_m, float)[s.distance_level]
    a = objects * 295_936 / (s.bandwidth_mhz[:, None] * 1e6 * spectral_efficiency(dist, p))
    rule = np.where(action, a, 0.0).sum(axis=1) / (DELTA - DELTA / gain_threshold_phi(p)) <= 1
    assert np.array_equal(info.feasible, rule)
    if n >= 3:
        assert 0 < rule.sum() < rule.size
    on = info.effective_mode
    assert np.array_equal(on, action & rule[:, None])
    assert np.all(info.compute_time_s[on] >= DELTA / gain_threshold_phi(p))
    raw = sp_energy(objects, p) - cp_energy(objects, np.where(on, info.compute_time_s, 1.0), p)
    assert np.all(raw[on] >= -1e-12 * sp_energy(objects, p)[on])  # no pair runs CP at a loss
    assert np.all(info.gain >= 0.0)
    switches = (on != s.prev_mode).sum(axis=1)
    expected = info.gain.sum(axis=1) - 0.4 * switches - 10.0 * ~rule
    assert np.allclose(reward, expected, rtol=1e-12, atol=1e-12)
