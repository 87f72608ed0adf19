"""Tests of behaviour/environment emulation: FSM learning, Monte Carlo, update trigger."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.qoe.emulation import (
    BcForecast,
    EmulationParams,
    decide_update,
    emulate_bc,
    fit_transition_matrix,
    learn_chain,
    levels_of,
    simulate_levels,
    stationary_distribution,
)

P_TRUE = np.array(
    [
        [0.6, 0.3, 0.1, 0.0, 0.0],
        [0.2, 0.5, 0.2, 0.1, 0.0],
        [0.0, 0.25, 0.5, 0.25, 0.0],
        [0.0, 0.1, 0.2, 0.5, 0.2],
        [0.0, 0.0, 0.1, 0.3, 0.6],
    ]
)


def _reference_chain(p: np.ndarray, start: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Independent sampler (one rng.choice per step) for checking the learner."""
    seq = np.empty(n, dtype=np.int64)
    seq[0] = start
    for k in range(1, n):
        seq[k] = rng.choice(p.shape[0], p=p[seq[k - 1]])
    return seq


def test_fsm_learnt_from_a_long_chain_recovers_the_transitions() -> None:
    rng = np.random.default_rng(0)
    seq = _reference_chain(P_TRUE, 2, 30_000, rng)
    est = fit_transition_matrix(seq, 5, prior_count=1.0)
    visits = np.bincount(seq[:-1], minlength=5)
    se = np.sqrt(P_TRUE * (1 - P_TRUE) / visits[:, None]) + 1.0 / visits[:, None]
    assert np.all(np.abs(est - P_TRUE) <= 5 * se)
    np.testing.assert_allclose(est.sum(axis=1), 1.0)


def test_counts_plus_prior_formula() -> None:
    seq = np.array([0, 1, 1, 0, 1])  # transitions 0->1 twice, 1->1 once, 1->0 once
    est = fit_transition_matrix(seq, 3, prior_count=0.5)
    np.testing.assert_allclose(est[0], np.array([0.5, 2.5, 0.5]) / 3.5)
    np.testing.assert_allclose(est[1], np.array([1.5, 1.5, 0.5]) / 3.5)
    np.testing.assert_allclose(est[2], np.full(3, 1 / 3))  # unseen state: the prior alone
    np.testing.assert_allclose(fit_transition_matrix(seq[:1], 2, 0.0), np.eye(2))


def test_stationary_distribution_matches_the_leading_eigenvector() -> None:
    pi = stationary_distribution(P_TRUE)
    vals, vecs = np.linalg.eig(P_TRUE.T)
    lead = np.real(vecs[:, np.argmin(np.abs(vals - 1.0))])
    np.testing.assert_allclose(pi, lead / lead.sum(), atol=1e-10)
    np.testing.assert_allclose(pi @ P_TRUE, pi, atol=1e-12)


def test_simulated_paths_follow_the_chain() -> None:
    rng = np.random.default_rng(1)
    paths = simulate_levels(P_TRUE, 1, 3, 40_000, rng)
    first = np.bincount(paths[:, 0], minlength=5) / paths.shape[0]
    third = np.bincount(paths[:, 2], minlength=5) / paths.shape[0]
    exact3 = np.linalg.matrix_power(P_TRUE, 3)[1]
    for got, exact in ((first, P_TRUE[1]), (third, exact3)):
        assert np.all(np.abs(got - exact) <= 5 * np.sqrt(exact * (1 - exact) / 40_000) + 1e-12)


def test_forecast_mean_matches_the_chapman_kolmogorov_expectation() -> None:
    rng = np.random.default_rng(2)
    params = EmulationParams(n_levels=5, n_paths=20_000, step_s=60.0)
    history = 1.0 + (_reference_chain(P_TRUE, 4, 3000, rng) + 0.5) / 5.0  # level centres
    chain = learn_chain(history, params)
    forecast = emulate_bc(history, history, horizon_s=300.0, params=params, rng=rng)
    start = np.eye(5)[chain.current]
    steps = [start @ np.linalg.matrix_power(chain.transition, k) for k in range(1, 6)]
    exact = float(np.mean([s @ chain.values for s in steps]))
    assert forecast.b_samples.size == 5 * 20_000
    assert forecast.b_mean == pytest.approx(
        exact, abs=5 * forecast.b_samples.std() / np.sqrt(20_000)
    )
    np.testing.assert_allclose(forecast.b_stationary, chain.stationary)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(1.0, 2.0), min_size=0, max_size=30), st.integers(2, 8))
def test_forecast_samples_stay_in_range(history, n_levels) -> None:  # noqa: ANN001
    params = EmulationParams(n_levels=n_levels, n_paths=50)
    fc = emulate_bc(np.array(history), np.array(history), 120.0, params, np.random.default_rng(0))
    for s in (fc.b_samples, fc.c_samples):
        assert s.size == 100 and np.all((s >= 1.0) & (s <= 2.0))
    levels = levels_of(np.array([1.0, 2.0]), n_levels)
    assert levels[0] == 0 and levels[1] == n_levels - 1


def _forecast(b: float, c: float, stat_b: np.ndarray) -> BcForecast:
    return BcForecast(np.full(10, b), np.full(10, c), stat_b, np.full(5, 0.2))


def test_update_trigger_on_pattern_shift_and_on_error_growth() -> None:
    params = EmulationParams()
    flat = np.full(5, 0.2)
    ref = _forecast(1.5, 1.5, flat)
    quiet = decide_update(ref, _forecast(1.52, 1.5, flat), np.ones(10), np.ones(10), 0.3, params)
    assert not quiet.reselect_factors and not quiet.refit
    moved = decide_update(ref, _forecast(1.8, 1.5, flat), np.ones(10), np.ones(10), 0.3, params)
    assert moved.reselect_factors and moved.refit and moved.mean_shift == pytest.approx(0.3)
    skewed = np.array([0.0, 0.0, 0.1, 0.2, 0.7])
    shifted = decide_update(ref, _forecast(1.5, 1.5, skewed), np.ones(10), np.ones(10), 0.3, params)
    assert shifted.reselect_factors and shifted.pattern_shift == pytest.approx(0.5)
    errors = decide_update(ref, ref, np.ones(10), np.ones(10) + 0.6, 0.3, params)
    assert errors.refit and not errors.reselect_factors and errors.error_ratio == pytest.approx(2)
    few = decide_update(ref, ref, np.ones(3), np.ones(3) + 0.6, 0.3, params)
    assert not few.refit  # too few windows to judge the error
