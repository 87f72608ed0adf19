"""Scalar maximisation and the centralised optimum against reference solvers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from policies.slicing.abstraction import gain_curve, gain_slope
from policies.slicing.optimum import (
    Payoff,
    _grid_dp,
    centralised_optimum,
    maximise_scalar,
    social_welfare,
    water_filling,
)


def _payoff(amp: float, d: float, price: float, upper: float, curve: str) -> Payoff:
    return Payoff(
        lambda t: amp * gain_curve(curve, t / d),
        lambda t: amp / d * gain_slope(curve, t / d),
        lambda t: price * t,
        lambda t: price + 0.0 * t,
        upper,
        amp / d * 2.0 + price,
    )


@pytest.mark.parametrize("curve", ("log", "saturating", "sigmoid"))
def test_scalar_maximum_brackets_a_dense_grid(curve: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        f = _payoff(rng.uniform(0.5, 5), rng.uniform(0.2, 3), rng.uniform(0, 3), 5.0, curve)
        res = maximise_scalar(f, curve != "sigmoid", grid_points=65)
        dense = float(f(np.linspace(0.0, 5.0, 200001)).max())
        assert res.value == pytest.approx(float(f(np.array(res.argmax))))
        assert res.value >= dense - 1e-7
        assert res.upper_bound >= dense - 1e-12
        assert 0.0 <= res.argmax <= 5.0


def _slsqp_optimum(
    amp: np.ndarray, scale: np.ndarray, caps: np.ndarray, capacity: float, curve: str
) -> float:
    """Reference solver (tests only): SLSQP from two starts."""

    def neg(x: np.ndarray) -> float:
        return -float(np.sum(amp * gain_curve(curve, x / scale)))

    best = np.inf
    for start in (caps * capacity / caps.sum(), np.full(len(amp), capacity / len(amp) / 2)):
        res = minimize(
            neg,
            np.minimum(start, caps),
            method="SLSQP",
            bounds=list(zip(np.zeros_like(caps), caps, strict=True)),
            constraints=[{"type": "ineq", "fun": lambda x: capacity - x.sum()}],
            options={"ftol": 1e-13, "maxiter": 500},
        )
        best = min(best, res.fun)
    return -best


@pytest.mark.parametrize("curve", ("log", "saturating"))
def test_water_filling_matches_slsqp_and_kkt(curve: str) -> None:
    rng = np.random.default_rng(1)
    for _ in range(10):
        n = int(rng.integers(2, 7))
        amp, scale = rng.uniform(0.5, 4, n), rng.uniform(0.3, 3, n)
        caps, capacity = rng.uniform(0.5, 4, n), float(rng.uniform(1, 6))
        x = water_filling(amp, scale, caps, capacity, curve)
        assert np.all(x >= -1e-15) and np.all(x <= caps + 1e-12)
        assert x.sum() <= capacity + 1e-9
        ours = float(np.sum(amp * gain_curve(curve, x / scale)))
        assert ours >= _slsqp_optimum(amp, scale, caps, capacity, curve) - 1e-7
        # KKT: interior allocations share one marginal gain; capped ones have a higher one,
        # zero ones a lower one.
        marginal = amp / scale * gain_slope(curve, x / scale)
        inner = (x > 1e-9) & (x < caps - 1e-9)
        if inner.any() and caps.sum() > capacity:
            lam = marginal[inner].mean()
            np.testing.assert_allclose(marginal[inner], lam, rtol=1e-6)
            assert np.all(marginal[x >= caps - 1e-9] >= lam * (1 - 1e-6))
            assert np.all(marginal[x <= 1e-9] <= lam * (1 + 1e-6))


def test_grid_dp_matches_brute_force_on_its_grid() -> None:
    rng = np.random.default_rng(2)
    n, points, capacity = 3, 9, 4.0
    w, amp = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 3, (n, 1))
    scale, caps = rng.uniform(0.5, 2, (n, 1)), np.full((n, 1), 3.0)
    opt = centralised_optimum(w, amp, scale, caps, np.array([capacity]), "sigmoid", 6.0, points)
    step = capacity / (points - 1)
    best = -np.inf
    for units in itertools.product(range(points), repeat=n):
        x = np.array(units, float)[:, None] * step
        if x.sum() <= capacity + 1e-12 and np.all(x <= caps + 1e-12):
            best = max(best, social_welfare(w, amp, scale, x, "sigmoid"))
    assert opt.method == "grid-dp"
    assert opt.welfare == pytest.approx(best, rel=1e-12)


def test_grid_dp_is_within_a_grid_step_of_water_filling() -> None:
    # The grid DP serves the non-concave family; on a concave instance it must lie below the
    # exact water-filling optimum and within n * Lipschitz * grid step of it.
    rng = np.random.default_rng(3)
    n = 4
    w, amp = np.ones(n), rng.uniform(0.5, 3, (n, 1))
    scale, caps = rng.uniform(0.5, 2, (n, 1)), np.full((n, 1), 5.0)
    exact = centralised_optimum(w, amp, scale, caps, np.array([5.0]), "log")
    x = _grid_dp(amp[:, 0], scale[:, 0], caps[:, 0], 5.0, "log", 6.0, 1001)
    dp = social_welfare(w, amp, scale, x[:, None], "log")
    lipschitz = float(np.max(amp[:, 0] / scale[:, 0]))
    assert dp <= exact.welfare + 1e-12
    assert exact.welfare - dp <= n * lipschitz * 5.0 / 1000


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    curve=st.sampled_from(["log", "saturating"]),
)
def test_optimum_dominates_random_feasible_profiles(seed: int, n: int, curve: str) -> None:
    rng = np.random.default_rng(seed)
    w, amp = rng.uniform(0.5, 1.5, n), rng.uniform(0.1, 3, (n, 2))
    scale = rng.uniform(0.3, 3, (n, 2))
    capacities = rng.uniform(0.5, 5, 2)
    caps = np.tile(capacities, (n, 1)) * (rng.random((n, 2)) > 0.2)
    opt = centralised_optimum(w, amp, scale, caps, capacities, curve)
    assert np.all(opt.slices.sum(axis=0) <= capacities * (1 + 1e-9))
    assert np.all(opt.slices <= caps + 1e-9)
    for _ in range(20):
        x = rng.uniform(0, 1, (n, 2)) * caps
        x *= np.minimum(1.0, capacities / np.maximum(x.sum(axis=0), 1e-300))
        assert social_welfare(w, amp, scale, x, curve) <= opt.welfare + 1e-9
