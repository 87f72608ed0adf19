"""SLSQP user-level allocation against closed forms and an independent solver (seed 000 Sec. IV)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize_scalar

from policies.scheduling.slsqp import ela_aware_value, maximise_weighted_utility


def log_utility(n0: float):
    return lambda b: np.log1p(np.asarray(b, float) / n0)


def log_gradient(n0: float):
    return lambda b: 1.0 / (n0 + np.asarray(b, float))


def water_filling(w, n0, budget, hi):
    """Closed form of max sum w_i log(1 + b_i/n_i), sum b <= B, 0 <= b <= hi: the KKT point
    b_i = clip(w_i / nu - n_i, 0, hi_i) with the water level nu set so the budget binds."""
    if hi.sum() <= budget:
        return hi.copy()

    def alloc(nu):
        return np.clip(w / nu - n0, 0.0, hi)

    nu = brentq(lambda nu: alloc(nu).sum() - budget, 1e-30, (w / n0).max(), xtol=1e-300)
    return alloc(nu)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n),
            st.lists(st.floats(0.05e6, 2e6), min_size=n, max_size=n),
            st.lists(st.floats(0.2, 1.0), min_size=n, max_size=n),
        )
    ),
    st.floats(0.1e6, 20e6),
    st.booleans(),
)
def test_weighted_log_utilities_match_water_filling(data, budget, exact_gradient):
    w, n0, hi_frac = (np.array(v) for v in data)
    hi = hi_frac * budget
    fns = [log_utility(x) for x in n0]
    grads = [log_gradient(x) for x in n0] if exact_gradient else None
    res = maximise_weighted_utility(fns, budget, gradients=grads, weights=w, b_max=hi)
    ref = water_filling(w, n0, budget, hi)
    ref_value = float(w @ np.log1p(ref / n0))
    assert res.bandwidth.sum() <= budget * (1 + 1e-12)
    assert np.all(res.bandwidth >= 0) and np.all(res.bandwidth <= hi * (1 + 1e-12))
    assert res.objective == pytest.approx(ref_value, rel=1e-6, abs=1e-7)
    assert np.allclose(res.bandwidth, ref, atol=1e-3 * budget)


def test_lower_bounds_bind_like_the_closed_form():
    # A tiny-weight user gets only its floor; the others water-fill the rest.
    w, n0, budget = np.array([0.01, 1.0, 2.0]), np.array([1e6, 1e6, 1e6]), 6e6
    res = maximise_weighted_utility(
        [log_utility(x) for x in n0], budget, weights=w, b_min=0.5e6, gradients=None
    )
    assert res.bandwidth[0] == pytest.approx(0.5e6, rel=1e-4)
    # Remaining 5.5 MHz: (1e6 + b1) / 1 = (1e6 + b2) / 2  ->  b1 = 1.5e6, b2 = 4e6.
    assert res.bandwidth[1:] == pytest.approx([1.5e6, 4e6], rel=1e-4)


def saturating(b0: float):
    return lambda b: 1.0 + 4.0 * (1.0 - np.exp(-np.asarray(b, float) / b0))


@settings(max_examples=25, deadline=None)
@given(
    st.floats(0.2e6, 3e6),
    st.floats(0.2e6, 3e6),
    st.floats(1.0, 5.0),
    st.floats(1.0, 5.0),
    st.floats(0.0, 5.0),
    st.floats(0.5e6, 8e6),
)
def test_ela_aware_objective_matches_a_one_dimensional_reference(b0a, b0b, ela_a, ela_b, lam, B):
    fns = [saturating(b0a), saturating(b0b)]
    ela = np.array([ela_a, ela_b])
    res = maximise_weighted_utility(fns, B, ela=ela, ela_penalty=lam)

    def value(b1):  # utilities increase, so the budget binds: b2 = B - b1
        u = np.array([fns[0](b1), fns[1](B - b1)])
        return float(ela_aware_value(u, ela, lam).sum())

    grid = np.linspace(0.0, B, 2001)
    start = grid[np.argmax([value(x) for x in grid])]
    step = B / 2000
    ref = minimize_scalar(
        lambda x: -value(x),
        bounds=(max(0.0, start - step), min(B, start + step)),
        method="bounded",
        options={"xatol": 1e-6 * B},
    )
    assert res.objective >= -ref.fun - 1e-6


def test_ela_aware_shifts_bandwidth_to_the_user_below_its_ela():
    fns = [saturating(1e6), saturating(1e6)]
    plain = maximise_weighted_utility(fns, 2e6)
    aware = maximise_weighted_utility(fns, 2e6, ela=np.array([4.8, 1.0]), ela_penalty=5.0)
    assert plain.bandwidth == pytest.approx([1e6, 1e6], rel=1e-4)
    assert aware.bandwidth[0] > aware.bandwidth[1] + 0.2e6


def test_infeasible_floors_raise_and_zero_budget_is_trivial():
    with pytest.raises(ValueError):
        maximise_weighted_utility([log_utility(1.0)] * 3, 1.0, b_min=0.5)
    res = maximise_weighted_utility([log_utility(1.0)] * 3, 0.0)
    assert np.array_equal(res.bandwidth, np.zeros(3))
