"""The DAs' group-level emulator (seed 000 Fig. 4): capacity, buffer physics, compute split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.scheduling.emulator import (
    GroupEmulator,
    proportional_compute,
    rollout_returns,
    scale_to_capacity,
    shares_from_actions,
)
from policies.scheduling.params import EmulatorParams, SchedulerParams


def saturating(b0):
    return lambda b: 1.0 + 4.0 * (1.0 - np.exp(-np.asarray(b, float) / b0))


def make(labels, params=None, em=None, seed=0, budget_hz=6e6, budget_cycles=3e9, **kw):
    labels = np.asarray(labels)
    return GroupEmulator(
        labels,
        labels % 2,
        [saturating(0.5e6 * (1 + i % 3)) for i in range(labels.size)],
        budget_hz,
        budget_cycles,
        params or SchedulerParams(share_levels=(0.0, 0.5, 1.0)),
        em or EmulatorParams(episode_slots=5),
        np.random.default_rng(seed),
        **kw,
    )


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6))
def test_scaled_shares_never_exceed_capacity(levels):
    shares, excess = scale_to_capacity(np.column_stack([levels, levels[::-1]]))
    assert np.all(shares.sum(axis=0) <= 1 + 1e-12)
    assert np.allclose(excess, np.maximum(np.sum(levels) - 1.0, 0.0))
    if sum(levels) <= 1:
        assert np.allclose(shares[:, 0], levels)  # feasible requests are left untouched


def test_branch_layouts():
    assert shares_from_actions(np.array([0, 2]), (0.0, 0.5, 1.0), 2, True).tolist() == [
        [0.0, 0.0],
        [1.0, 1.0],
    ]
    split = shares_from_actions(np.array([0, 2, 1, 1]), (0.0, 0.5, 1.0), 2, False)
    assert split.tolist() == [[0.0, 1.0], [0.5, 0.5]]
    env = make([0, 0, 1], SchedulerParams(share_levels=(0.0, 1.0), joint_compute_share=False))
    assert (env.n_branches, env.n_actions, env.state_dim) == (4, 2, 10)


@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=8),
    st.lists(st.one_of(st.just(0.0), st.floats(1.0, 5e8)), min_size=8, max_size=8),
    st.lists(st.floats(0.0, 1e9), min_size=4, max_size=4),
)
def test_proportional_compute_conserves_each_groups_cycles(labels, loads, group_cycles):
    labels = np.asarray(labels)
    loads, group_cycles = np.asarray(loads[: labels.size]), np.asarray(group_cycles)
    cycles, kappa = proportional_compute(labels, group_cycles, loads)
    for g in np.unique(labels):
        m = labels == g
        assert cycles[m].sum() == pytest.approx(group_cycles[g], rel=1e-9, abs=1e-6)
        if loads[m].sum() > 0:
            assert kappa[g] == pytest.approx(min(1.0, group_cycles[g] / loads[m].sum()))
            loaded = m & (loads > 0)
            # Every loaded user of the group gets the same fraction kappa of its load.
            assert np.allclose(np.minimum(1.0, cycles[loaded] / loads[loaded]), kappa[g])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=3, max_size=8), st.integers(0, 2**32 - 1))
def test_capacity_holds_for_any_actions(labels, seed):
    labels = sorted(set(labels)) + labels  # every group non-empty, labels 0..G-1 dense
    labels = np.unique(labels, return_inverse=True)[1]
    env = make(labels, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        env.step(rng.integers(env.n_actions, size=env.n_branches))
        info = env.last_info
        assert info["bandwidth_hz"].sum() <= 6e6 * (1 + 1e-12)
        assert info["cycles_per_s"].sum() <= 3e9 * (1 + 1e-9)
        assert np.all((1.0 <= info["qoe"]) & (info["qoe"] <= 5.0))


def test_one_user_buffer_follows_the_playback_equation():
    em = EmulatorParams(request_rate_per_min=0.0, stall_penalty=0.4, episode_slots=50)
    env = make([0], SchedulerParams(share_levels=(0.0, 0.2, 1.0)), em, budget_cycles=1e12)
    for level in (2, 1, 0, 0, 1, 2):
        b0, bitrate = env.buffer_s.copy(), env.bitrate_bps.copy()
        bandwidth = 6e6 * (0.0, 0.2, 1.0)[level]
        gained = 2.0 * bandwidth / bitrate  # seconds of video: SE * bandwidth / bitrate * 1 s
        _, reward, _, _ = env.step(np.array([level]))
        stall = max(0.0, 1.0 - b0[0] - gained[0])
        assert env.buffer_s[0] == pytest.approx(min(60.0, b0[0] + gained[0] - 1.0 + stall))
        assert env.last_info["rebuffer_s"][0] == pytest.approx(stall)
        qoe = saturating(0.5e6)(np.array([bandwidth]))[0] - 0.4 * stall
        assert reward == pytest.approx(np.clip(qoe, 1, 5))


def test_compute_shortage_scales_effective_bandwidth():
    em = EmulatorParams(request_rate_per_min=0.0, stall_penalty=0.0, initial_buffer_max_s=0.0)
    env = make([0], SchedulerParams(share_levels=(0.0, 1.0)), em, budget_cycles=1e6)
    kappa = min(1.0, 1e6 / env.loads_cps[0])
    _, reward, _, _ = env.step(np.array([1]))
    assert reward == pytest.approx(saturating(0.5e6)(np.array([6e6 * kappa]))[0])


def test_same_seed_same_trajectory_and_truncation():
    def trace(seed):
        env = make([0, 1, 1], seed=seed)
        obs = [env.reset()]
        flags = []
        for a in ([1, 1], [2, 0], [0, 2], [1, 1], [2, 2]):
            o, _, term, trunc = env.step(np.array(a))
            obs.append(o)
            flags.append((term, trunc))
        return np.array(obs), flags

    (a, fa), (b, _), (c, _) = trace(3), trace(3), trace(4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert fa == [(False, False)] * 4 + [(False, True)]


def test_rollout_reports_mean_reward_per_slot():
    env = make([0, 1], em=EmulatorParams(episode_slots=3, stall_penalty=0.0))
    out = rollout_returns(env, lambda obs: np.array([0, 0]), 2)
    # Nothing allocated: every user sits at its QoE model's floor qoe(0) = 1.
    assert np.allclose(out, 1.0)
