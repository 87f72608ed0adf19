"""The exact KKT bandwidth allocator against independent solvers (scipy, brute force)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from policies.rl.cav_allocator import allocate_bandwidth, cp_objective, positive_cubic_root

DELTA, CAP = 0.1, 0.75


def _case(rng: np.random.Generator, n: int, load: float) -> tuple[np.ndarray, np.ndarray]:
    """Random a (summing to ``load * Delta``) and C of magnitudes like the CAV model."""
    w = rng.dirichlet(np.ones(n))
    a = load * DELTA * w
    coef = rng.uniform(1e-4, 3e-3, n)
    return a[None, :], coef[None, :]


def _objective(b: np.ndarray, a: np.ndarray, coef: np.ndarray) -> float:
    cp = np.ones((1, a.shape[1]), bool)
    return float(cp_objective(b[None, :], a, coef, cp, DELTA, CAP)[0])


def test_cubic_root_matches_numpy_roots() -> None:
    for q in np.logspace(-8, 8, 41):
        roots = np.roots([1.0, 0.0, -q, -q])
        real = roots[np.abs(roots.imag) < 1e-9 * max(1.0, q)].real
        assert positive_cubic_root(np.array(q)) == pytest.approx(real.max(), rel=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_matches_scipy_slsqp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    a, coef = _case(rng, n, load=rng.uniform(0.3, 0.8))
    alloc = allocate_bandwidth(a, coef, np.ones_like(a, bool), DELTA, CAP)
    lo = a[0] / DELTA * 1.0001
    x0 = lo + (1 - lo.sum()) / n * 0.9
    scale = abs(_objective(x0, a, coef))  # SLSQP's tolerances assume an O(1) objective
    res = minimize(lambda b: -_objective(b, a, coef) / scale, x0, method="SLSQP",
                   bounds=[(x, 1.0) for x in lo],
                   constraints=[{"type": "ineq", "fun": lambda b: 1.0 - b.sum()}],
                   options={"ftol": 1e-15, "maxiter": 1000})
    b_ref = res.x * min(1.0, 1.0 / res.x.sum())  # tiny constraint violations scaled away
    mine, ref = _objective(alloc.share[0], a, coef), _objective(b_ref, a, coef)
    assert alloc.feasible[0]
    assert alloc.share.sum() <= 1.0 + 1e-12
    assert mine >= ref - 1e-9 * abs(ref)  # never worse than the reference solver
    assert mine == pytest.approx(ref, rel=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_beats_a_brute_force_grid_for_two_pairs(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    a, coef = _case(rng, 2, load=rng.uniform(0.3, 0.9))
    alloc = allocate_bandwidth(a, coef, np.ones_like(a, bool), DELTA, CAP)
    g = np.linspace(0.0, 1.0, 1001)[1:]
    b1, b2 = np.meshgrid(g, g, indexing="ij")
    ok = b1 + b2 <= 1.0
    grid = np.stack([b1[ok], b2[ok]], axis=1)
    vals = cp_objective(grid, np.broadcast_to(a, grid.shape), np.broadcast_to(coef, grid.shape),
                        np.ones(grid.shape, bool), DELTA, CAP)
    best = vals.max()
    mine = _objective(alloc.share[0], a, coef)
    assert mine >= best - 1e-12 * abs(best)
    assert mine == pytest.approx(best, rel=1e-3)


def test_kkt_equal_marginal_gains() -> None:
    rng = np.random.default_rng(7)
    a, coef = _case(rng, 4, load=0.7)
    alloc = allocate_bandwidth(a, coef, np.ones_like(a, bool), DELTA, CAP)
    b, t = alloc.share[0], alloc.compute_time_s[0]
    marginal = 2 * coef[0] * (DELTA - t) ** 2 / (a[0] * t**3)  # dG_i / db_i
    free = t < CAP * DELTA * (1 - 1e-9)
    assert alloc.share.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(marginal[free], alloc.multiplier[0], rtol=1e-8)
    assert np.all(marginal[~free] >= alloc.multiplier[0] * (1 - 1e-8))
    assert np.all(b > a[0] / DELTA)


def test_slack_budget_puts_every_pair_at_the_cap() -> None:
    a = np.array([[0.004, 0.006]])  # needs (0.04 + 0.06) / 0.25 = 0.4 of the band
    alloc = allocate_bandwidth(a, np.ones_like(a) * 1e-3, np.ones_like(a, bool), DELTA, CAP)
    assert alloc.multiplier[0] == 0.0
    assert np.allclose(alloc.compute_time_s, CAP * DELTA)
    assert np.allclose(alloc.share, a / ((1 - CAP) * DELTA))


def test_infeasibility_is_detected_exactly() -> None:
    coef = np.full((2, 3), 1e-3)
    a = np.array([[0.03, 0.03, 0.04], [0.03, 0.03, 0.0399]]) * 1.0  # sum a / Delta = 1, 0.999
    alloc = allocate_bandwidth(a, coef, np.ones_like(a, bool), DELTA, CAP)
    assert alloc.feasible.tolist() == [False, True]
    assert np.isnan(alloc.multiplier[0]) and np.all(alloc.share[0] == 0)
    assert alloc.share[1].sum() == pytest.approx(1.0, abs=1e-12)
    # Dropping a pair from CP makes the first row feasible.
    cp = np.array([[True, True, False]])
    assert allocate_bandwidth(a[:1], coef[:1], cp, DELTA, CAP).feasible[0]


def test_sp_pairs_get_nothing_and_rows_are_independent() -> None:
    rng = np.random.default_rng(9)
    a = rng.uniform(0.005, 0.03, (5, 3))
    coef = rng.uniform(1e-4, 3e-3, (5, 3))
    cp = rng.random((5, 3)) < 0.6
    batch = allocate_bandwidth(a, coef, cp, DELTA, CAP)
    assert np.all(batch.share[~cp] == 0)
    for r in range(5):
        one = allocate_bandwidth(a[r:r + 1], coef[r:r + 1], cp[r:r + 1], DELTA, CAP)
        assert np.allclose(one.share, batch.share[r:r + 1], rtol=1e-10, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), load=st.floats(0.05, 0.999))
def test_solution_is_feasible_and_locally_unimprovable(seed: int, n: int, load: float) -> None:
    rng = np.random.default_rng(seed)
    a, coef = _case(rng, n, load)
    alloc = allocate_bandwidth(a, coef, np.ones_like(a, bool), DELTA, CAP)
    b = alloc.share[0]
    assert alloc.feasible[0] and b.sum() <= 1.0 + 1e-12 and np.all(b > a[0] / DELTA)
    base = _objective(b, a, coef)
    for _ in range(20):  # moving budget between two pairs never helps
        i, j = rng.choice(n, 2, replace=n < 2) if n > 1 else (0, 0)
        eps = 1e-6 * rng.choice([-1, 1])
        trial = b.copy()
        trial[i] += eps
        trial[j] -= eps
        if np.all(trial > a[0] / DELTA):
            assert _objective(trial, a, coef) <= base + 1e-9 * abs(base)
