"""Multiple-choice knapsack DP against brute force (seed 000 Sec. III.C.3)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.scheduling.knapsack import allocate_bitrates, multiple_choice_knapsack


def brute_force(values, costs, capacity):
    best = -np.inf
    for pick in itertools.product(range(values.shape[1]), repeat=values.shape[0]):
        rows = np.arange(values.shape[0])
        if costs[rows, pick].sum() <= capacity:
            best = max(best, values[rows, pick].sum())
    return best


@st.composite
def instances(draw):
    n, n_opt = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    values = np.array(draw(st.lists(st.floats(-5, 5), min_size=n * n_opt, max_size=n * n_opt)))
    costs = np.array(draw(st.lists(st.integers(0, 10), min_size=n * n_opt, max_size=n * n_opt)))
    return values.reshape(n, n_opt), costs.reshape(n, n_opt), draw(st.integers(0, 30))


@settings(max_examples=200, deadline=None)
@given(instances())
def test_dp_equals_brute_force(instance):
    values, costs, capacity = instance
    best = brute_force(values, costs, capacity)
    if best == -np.inf:
        with pytest.raises(ValueError):
            multiple_choice_knapsack(values, costs, capacity)
        return
    choice, total = multiple_choice_knapsack(values, costs, capacity)
    rows = np.arange(values.shape[0])
    assert costs[rows, choice].sum() <= capacity
    assert total == pytest.approx(best, abs=1e-9)
    assert values[rows, choice].sum() == pytest.approx(total, abs=1e-9)


def saturating(b0):
    return lambda b: 1.0 + 4.0 * (1.0 - np.exp(-np.asarray(b, float) / b0))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.1e6, 3e6), min_size=1, max_size=4),
    st.integers(0, 24),
    st.sampled_from([1.0, 0.5]),
)
def test_bitrate_choice_equals_brute_force_over_the_ladder(b0s, budget_units, kappa):
    # Ladder and budget on a 0.25 MHz grid so the integer discretisation is exact.
    ladder, se, unit = np.array([0.5e6, 1.0e6, 1.5e6, 2.0e6]), 2.0, 0.25e6
    budget = budget_units * unit
    fns = [saturating(b) for b in b0s]
    res = allocate_bitrates(fns, ladder, budget, se, kappa=kappa, resolution=max(budget_units, 1))
    best = -np.inf
    options = np.concatenate([[0.0], ladder])
    for pick in itertools.product(range(options.size), repeat=len(fns)):
        rates = options[list(pick)]
        if (rates / se / kappa).sum() <= budget + 1e-6:
            qoe = [f(np.array([r / se]))[0] for f, r in zip(fns, rates, strict=True)]
            best = max(best, sum(qoe))
    assert res.objective == pytest.approx(best, abs=1e-9)
    assert res.bandwidth.sum() <= budget + 1e-6
    served = res.level >= 0
    assert np.allclose(res.bandwidth[served], ladder[res.level[served]] / se / kappa)
    assert np.all(res.bandwidth[~served] == 0) and np.all(res.bitrate_bps[~served] == 0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0.1e6, 3e6), min_size=1, max_size=6),
    st.floats(1e5, 2e7),
    st.integers(3, 500),
)
def test_rounding_never_breaks_the_budget(b0s, budget, resolution):
    res = allocate_bitrates(
        [saturating(b) for b in b0s], (0.5e6, 1.2e6, 3e6), budget, 1.7, resolution=resolution
    )
    assert res.bandwidth.sum() <= budget * (1 + 1e-9)


def test_zero_compute_factor_leaves_users_idle():
    res = allocate_bitrates([saturating(1e6)] * 2, (0.5e6,), 1e7, 2.0, kappa=0.0)
    assert res.level.tolist() == [-1, -1] and res.bandwidth.tolist() == [0.0, 0.0]
