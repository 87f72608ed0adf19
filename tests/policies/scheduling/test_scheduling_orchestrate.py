"""The whole Fig. 4 step (seed 000 Sec. III.C.3, IV): training, orchestration, benchmarks."""

import ast
import itertools
import pathlib

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import policies.scheduling as scheduling
from policies.scheduling.bdqn import BDQNAgent
from policies.scheduling.orchestrate import branch_labels, network_config
from policies.scheduling import (
    EmulatorParams,
    GroupEmulator,
    SchedulerParams,
    group_by_structure,
    load_scheduler,
    maximise_weighted_utility,
    orchestrate,
    q_values,
    save_scheduler,
    scale_to_capacity,
    shares_from_actions,
    train_scheduler,
    user_level_split,
)

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
SMALL = dict(share_levels=LEVELS, hidden_width=16, branch_width=8, learning_starts=20)


def saturating(b0):
    return lambda b: 1.0 + 4.0 * (1.0 - np.exp(-np.asarray(b, float) / b0))


def saturating_grad(b0):
    return lambda b: 4.0 / b0 * np.exp(-np.asarray(b, float) / b0)


B0 = (0.2e6, 0.4e6, 0.6e6, 1.5e6, 2e6, 2.5e6)
FNS = [saturating(b) for b in B0]
GRADS = [saturating_grad(b) for b in B0]
LABELS = np.array([0, 0, 0, 1, 1, 1])


def states(seed, n=6):
    rng = np.random.default_rng(seed)
    return np.column_stack(
        [rng.uniform(0, 20, n), rng.uniform(1e8, 8e8, n), rng.uniform(0, 1, n), LABELS[:n]]
    )


def untrained(kind, **kw):
    """A scheduler whose network has its random initial weights (no training at all)."""
    params = SchedulerParams(scheduler=kind, **SMALL, **kw)
    if kind == "round-robin":
        return scheduling.Scheduler(params)
    n = int(branch_labels(params, LABELS).max()) + 1
    agent = BDQNAgent(network_config(params, n), params, torch.Generator().manual_seed(0))
    return scheduling.Scheduler(params, EmulatorParams(), agent.online)


@pytest.mark.parametrize("kind", ["bdqn-slsqp", "bdqn-knapsack", "pdrl", "round-robin"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), budget_hz=st.floats(1e5, 3e7), cycles=st.floats(0, 2e10))
def test_every_scheme_respects_capacity(kind, seed, budget_hz, cycles):
    sched = untrained(kind)
    alloc = orchestrate(
        sched,
        LABELS,
        states(seed),
        FNS,
        budget_hz,
        cycles,
        np.random.default_rng(seed),
        qoe_grads=GRADS,
    )
    assert alloc.bandwidth_hz.shape == alloc.cycles_per_s.shape == (6,)
    assert np.all(alloc.bandwidth_hz >= 0) and np.all(alloc.cycles_per_s >= 0)
    assert alloc.bandwidth_hz.sum() <= budget_hz * (1 + 1e-9)
    assert alloc.cycles_per_s.sum() <= cycles * (1 + 1e-9) + 1e-9


@pytest.mark.parametrize("solver", ["slsqp", "auto"])
def test_slsqp_scheme_gives_each_group_its_share_split_optimally(solver):
    sched = untrained("bdqn-slsqp", user_solver=solver)
    s = states(1)
    alloc = orchestrate(sched, LABELS, s, FNS, 6e6, 1e12, np.random.default_rng(0), qoe_grads=GRADS)
    shares = alloc.group_shares
    assert shares.shape == (2, 2) and np.all(shares.sum(axis=0) <= 1 + 1e-12)
    for g in (0, 1):
        m = LABELS == g
        fns = [FNS[i] for i in np.flatnonzero(m)]
        # Ample computing, so kappa = 1: the split is the plain SLSQP optimum of the group.
        ref = maximise_weighted_utility(fns, shares[g, 0] * 6e6)
        if solver == "slsqp":
            assert alloc.bandwidth_hz[m] == pytest.approx(ref.bandwidth, rel=1e-4, abs=1.0)
        else:  # water-filling on tabulated concave curves: the same optimum, to the grid
            got = sum(float(f(np.array([b]))[0]) for f, b in zip(fns, alloc.bandwidth_hz[m]))
            best = sum(float(f(np.array([b]))[0]) for f, b in zip(fns, ref.bandwidth))
            assert got == pytest.approx(best, abs=1e-3)
            assert alloc.bandwidth_hz[m].sum() <= shares[g, 0] * 6e6 * (1 + 1e-9)


def test_pdrl_is_a_five_layer_bdqn_with_one_branch_per_user():
    sched = untrained("pdrl")
    net = sched.network
    trunk = [m for m in net.trunk if isinstance(m, torch.nn.Linear)]
    assert net.config.n_branches == 6 and len(trunk) + 2 == 5 == sched.params.pdrl_layers
    alloc = orchestrate(sched, LABELS, states(2), FNS, 6e6, 3e9, np.random.default_rng(0))
    # Every user is its own group and receives exactly its (scaled) share.
    assert np.allclose(alloc.bandwidth_hz, alloc.group_shares[:, 0] * 6e6)
    assert untrained("bdqn-slsqp").network.config.n_layers == 4


def test_round_robin_rotates_and_is_fair():
    sched = untrained("round-robin")
    offset, total = 0, np.zeros(6)
    for _ in range(6):
        alloc = orchestrate(
            sched, LABELS, states(0), FNS, 1e6, 3e9, np.random.default_rng(0), rr_offset=offset
        )
        offset = alloc.next_rr_offset
        assert np.ptp(alloc.bandwidth_hz) <= 180e3 + 1e-6
        assert np.allclose(alloc.cycles_per_s, 3e9 / 6)
        total += alloc.bandwidth_hz
    assert np.allclose(total, total[0])  # 5 PRBs over 6 users: every user gets 5 over 6 slots


def test_save_load_scheduler_reproduces_decisions(tmp_path):
    ela = np.full(6, 3.5)
    sched = untrained("bdqn-knapsack", joint_compute_share=False, user_objective="ela-aware")
    save_scheduler(sched, tmp_path / "sched.pt")
    loaded = load_scheduler(tmp_path / "sched.pt")
    assert loaded.params == sched.params and loaded.emulator == sched.emulator
    a, b = (
        orchestrate(s, LABELS, states(4), FNS, 8e6, 3e9, np.random.default_rng(0), ela=ela)
        for s in (sched, loaded)
    )
    assert np.array_equal(a.bandwidth_hz, b.bandwidth_hz)
    assert np.array_equal(a.cycles_per_s, b.cycles_per_s)


def test_misuse_raises():
    sched = untrained("bdqn-slsqp")
    with pytest.raises(ValueError, match="groups"):
        orchestrate(sched, np.arange(6), states(0), FNS, 6e6, 3e9, np.random.default_rng(0))
    params = SchedulerParams(user_objective="ela-aware")
    with pytest.raises(ValueError, match="ELA"):
        user_level_split(params, LABELS, FNS)
    with pytest.raises(ValueError, match="network"):
        orchestrate(
            scheduling.Scheduler(SchedulerParams()),
            LABELS,
            states(0),
            FNS,
            6e6,
            3e9,
            np.random.default_rng(0),
        )
    with pytest.raises(ValueError, match="method"):
        user_level_split(SchedulerParams(), LABELS, FNS, method="greedy")
    with pytest.raises(ValueError):
        save_scheduler(untrained("round-robin"), "unused.pt")


@pytest.mark.parametrize("kind", ["bdqn-slsqp", "bdqn-knapsack"])
def test_training_feeds_the_schedulers_own_user_split_back(kind):
    # Fig. 4 training loop with the real user-level allocator inside the emulator.
    # The smallest budget the contract accepts: 520 steps, 501 updates, 5 target syncs.
    params = SchedulerParams(
        scheduler=kind, **SMALL, batch_size=8, train_steps=520, target_update_every=100
    )
    em = EmulatorParams(episode_slots=4)
    sched, log = train_scheduler(
        params,
        LABELS,
        LABELS,
        FNS,
        6e6,
        3e9,
        np.random.default_rng(3),
        torch.Generator().manual_seed(3),
        emulator=em,
        qoe_grads=GRADS,
    )
    assert len(log.episode_returns) == 130 and len(log.losses) == 501
    assert all(4 * 1.0 <= r <= 4 * 5.0 for r in log.episode_returns)
    assert sched.n_groups == 2


# Learning task: no new videos and no stall penalty, so a slot's reward is a closed-form function
# of the joint share action, mean_i qoe_i(share_g(i) * budget / |g|), known for all 25 actions.
LEARN_B0 = (0.1e6, 0.2e6, 0.3e6, 2e6, 3e6, 4e6)
# The production learner: every hyper-parameter and the budget (train_steps) at its default;
# only the action levels and the emulator's equal user split make the values closed-form.
LEARN_PARAMS = dict(share_levels=LEVELS, emulator_user_split="equal")
LEARN_EM = EmulatorParams(episode_slots=10, request_rate_per_min=0.0, stall_penalty=0.0)


def joint_action_values(fns, labels, budget):
    values = {}
    for a in itertools.product(range(len(LEVELS)), repeat=2):
        shares, _ = scale_to_capacity(shares_from_actions(np.array(a), LEVELS, 2, True))
        b = shares[labels, 0] * budget / np.bincount(labels)[labels]
        values[a] = float(np.mean([f(np.array([x]))[0] for f, x in zip(fns, b, strict=True)]))
    return values


def learned_action_value(seed, steps):
    fns = [saturating(b) for b in LEARN_B0]
    grouping = group_by_structure(["fast"] * 3 + ["slow"] * 3)  # groups as in Fig. 4
    labels = grouping.labels
    params = SchedulerParams(**LEARN_PARAMS)
    if steps == 0:
        agent = BDQNAgent(network_config(params, 2), params, torch.Generator().manual_seed(seed))
        sched = scheduling.Scheduler(params, LEARN_EM, agent.online)
    else:
        sched, log = train_scheduler(
            params,
            labels,
            grouping.structure_index[labels],
            fns,
            6e6,
            3e9,
            np.random.default_rng(seed),
            torch.Generator().manual_seed(seed),
            emulator=LEARN_EM,
        )
        assert len(log.losses) == steps - params.learning_starts + 1
    env = GroupEmulator(labels, labels, fns, 6e6, 3e9, params, LEARN_EM, np.random.default_rng(0))
    greedy = tuple(int(x) for x in q_values(sched.network, env.reset()).argmax(axis=1))
    return joint_action_values(fns, labels, 6e6), greedy


def check_learning(seed):
    values, trained = learned_action_value(seed, SchedulerParams().train_steps)
    _, initial = learned_action_value(seed, 0)
    best = max(values.values())
    random_policy = float(np.mean(list(values.values())))  # uniform random actions, exactly
    assert values[trained] > random_policy + 0.5
    # Training never made the policy materially worse: within 5 % of the random-to-best gap of
    # the initial policy's value. A random initial network can land on a near-optimal joint
    # action by chance (seed 4 with torch 2.14: initial (2, 3) = 3.635, trained (3, 4) = 3.619,
    # best 3.656, random 3.009 — the trained policy closes 94 % of the gap, a near-tie).
    assert values[trained] >= values[initial] - 0.05 * (best - random_policy)
    # Closes most of the gap from a random policy to the optimal allocation (brute force).
    assert values[trained] - random_policy >= 0.9 * (best - random_policy)


def test_training_beats_random_and_its_initial_policy():
    check_learning(1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_training_beats_random_and_its_initial_policy_across_seeds(seed):
    check_learning(seed)


def test_scheduling_package_never_imports_mesa():
    for path in pathlib.Path(scheduling.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "mesa" for n in names), path
