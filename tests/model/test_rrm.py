"""Slices that bind (model.rrm, policies.slicing.rrm): TS 28.541 RRMPolicyRatio per pool."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.rrm import RrmPolicy, rrm_shares, slice_amounts
from policies.slicing import SlicingParams
from policies.slicing.rrm import policy_from_grants

STRICT = SlicingParams(rrm_floor_share=0.0)  # a zero grant means zero, maximum = grant


def _users(rng, n, pools, classes):
    return (
        rng.integers(0, pools, n),
        rng.integers(-1, classes, n),
        rng.uniform(0, 5e6, n) * (rng.random(n) > 0.2),
        rng.random(n) > 0.3,
    )


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), floor=st.sampled_from([0.0, 0.05]),
       maximum=st.sampled_from(["grant", "pool"]), ded=st.sampled_from([0.0, 0.5]))
def test_a_slice_never_gets_more_than_its_maximum_and_its_minimum_when_active(
    seed, floor, maximum, ded
):
    rng = np.random.default_rng(seed)
    pools, classes, n = 3, 4, 40
    grants = rng.dirichlet(np.ones(classes), pools) * rng.uniform(0.5, 1.0, (pools, 1))
    grants[rng.random((pools, classes)) < 0.2] = 0.0
    params = SlicingParams(rrm_floor_share=floor, rrm_maximum=maximum, rrm_dedicated_fraction=ded)
    policy = policy_from_grants(grants, params)
    policy.check()
    pool, klass, weight, active = _users(rng, n, pools, classes)
    cap = rng.uniform(1e6, 2e7, pools)
    got = rrm_shares(pool, klass, weight, active, cap, policy)
    assert np.all(got >= 0) and np.all(got[~active] == 0)
    for p in range(pools):
        assert got[pool == p].sum() <= cap[p] * (1 + 1e-9)
        for k in range(classes):
            mine = (pool == p) & (klass == k)
            total = got[mine].sum()
            assert total <= policy.maximum[p, k] * cap[p] * (1 + 1e-9) + 1e-6
            if (mine & active).any():  # the minimum is guaranteed while the slice has traffic
                assert total >= policy.minimum[p, k] * cap[p] * (1 - 1e-9) - 1e-6


def test_a_zero_grant_gives_zero_and_the_floor_gives_the_floor():
    pool = np.zeros(4, int)
    klass = np.array([0, 0, 1, 1])
    weight, active, cap = np.full(4, 1e6), np.ones(4, bool), np.array([10e6])
    grants = np.array([[1.0, 0.0]])
    strict = rrm_shares(pool, klass, weight, active, cap, policy_from_grants(grants, STRICT))
    assert strict[2:].sum() == 0.0 and strict[:2].sum() == pytest.approx(10e6)
    floored = policy_from_grants(grants, SlicingParams(rrm_floor_share=0.05))
    got = rrm_shares(pool, klass, weight, active, cap, floored)
    assert got[2:].sum() == pytest.approx(10e6 * 0.05 / 1.05)
    # Inside a slice the orchestrator's weights decide; all-zero weights with a floor: equal.
    got0 = rrm_shares(pool, klass, np.array([3e6, 1e6, 0, 0]), active, cap, floored)
    assert got0[0] == pytest.approx(3 * got0[1]) and got0[2] == got0[3] > 0


def test_idle_capacity_is_shared_only_as_the_policy_allows():
    grants = np.array([[0.5, 0.5]])
    pool, klass = np.zeros(3, int), np.array([0, 1, -1])  # the last user has no slice
    weight, cap = np.ones(3), np.array([1.0])
    active = np.array([True, False, False])  # slice 1 idle
    strict = rrm_shares(pool, klass, weight, active, cap, policy_from_grants(grants, STRICT))
    assert strict[0] == pytest.approx(0.5)  # capped at its grant: the idle half stays unused
    shared = policy_from_grants(grants, SlicingParams(rrm_floor_share=0.0, rrm_maximum="pool"))
    assert rrm_shares(pool, klass, weight, active, cap, shared)[0] == pytest.approx(1.0)
    # Dedicated resources of the idle slice are not lent out, even in the shared variant.
    dedicated = policy_from_grants(
        grants, SlicingParams(rrm_floor_share=0.0, rrm_maximum="pool", rrm_dedicated_fraction=1)
    )
    assert rrm_shares(pool, klass, weight, active, cap, dedicated)[0] == pytest.approx(0.5)
    # Users outside every slice get what the slices leave (best effort) ...
    be = rrm_shares(pool, klass, weight, np.array([True, False, True]), cap,
                    policy_from_grants(grants, STRICT))
    assert be[2] == pytest.approx(0.5)
    # ... and a pool the game granted nothing is not sliced at all: plain weights.
    none = policy_from_grants(np.zeros((1, 2)), STRICT)
    assert np.all(none.maximum == 1) and np.all(none.minimum == 0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), up=st.floats(0.01, 0.3))
def test_raising_only_one_grant_raises_that_slices_amount(seed, up):
    rng = np.random.default_rng(seed)
    grants = rng.dirichlet(np.ones(3), 1) * 0.6
    has = np.ones((1, 3), bool)
    for params in (STRICT, SlicingParams(), SlicingParams(rrm_maximum="pool")):
        a = slice_amounts(policy_from_grants(grants, params), has, np.array([1.0]))
        more = grants.copy()
        more[0, 1] += up
        b = slice_amounts(policy_from_grants(more, params), has, np.array([1.0]))
        assert b[0, 1] >= a[0, 1] - 1e-12
        assert b[0, 0] <= a[0, 0] + 1e-12 and b[0, 2] <= a[0, 2] + 1e-12


def test_policy_checks_its_ratios():
    with pytest.raises(ValueError, match="dedicated <= minimum <= maximum"):
        RrmPolicy(np.array([[0.5]]), np.array([[0.2]]), np.array([[1.0]])).check()


def test_a_handed_over_user_is_scheduled_like_its_new_slices_average_user() -> None:
    from model.rrm import newcomer_weights

    serving = np.array([0, 0, 0, 1, 1])
    klass = np.array([1, 1, 1, 1, 1])
    weight = np.array([2e6, 4e6, 0.0, 0.0, 5e6])
    # user 2 was allocated 0 in cell 1's slice and has just moved into cell 0; user 3 was
    # allocated 0 in cell 1 and is still there (a zero grant stays zero)
    weight_cell = np.array([0, 0, 1, 1, -1])
    active = np.ones(5, bool)
    out = newcomer_weights(serving, klass, weight, weight_cell, serving, active)
    assert out.tolist() == [2e6, 4e6, 3e6, 0.0, 5e6]
    same = newcomer_weights(serving, klass, weight, serving, serving, active)
    assert np.array_equal(same, weight)  # nobody moved: the orchestrator's weights hold
