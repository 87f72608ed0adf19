"""The exact KKT bandwidth allocator against independent solvers (scipy, brute force).

The problem is the authors': every CP pair must gain (t_c >= Delta / phi), so a CP set is
feasible iff sum_i a_i / (Delta - Delta / phi) <= 1 (model file, "Every pair in CP must gain").
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from policies.rl.cav_allocator import (
    allocate_bandwidth,
    cp_objective,
    feasible_cp_set,
    positive_cubic_root,
)
from policies.rl.cav_env import gain_threshold_phi, min_compute_time_s
from policies.rl.cav_params import CavParams

P = CavParams()
DELTA, CAP = P.deadline_s, P.compute_cap_fraction
TMIN = min_compute_time_s(P)  # Delta / phi, about 0.035 s


def _case(rng: np.random.Generator, n: int, load: float) -> tuple[np.ndarray, np.ndarray]:
    """Random a with sum a / (Delta - t_min) = ``load`` and C of the CAV model's magnitudes."""
    a = load * (DELTA - TMIN) * rng.dirichlet(np.ones(n))
    coef = rng.uniform(1e-4, 3e-3, n)
    return a[None, :], coef[None, :]


def _alloc(a: np.ndarray, coef: np.ndarray, cp: np.ndarray | None = None):  # noqa: ANN202
    cp = np.ones_like(a, bool) if cp is None else cp
    return allocate_bandwidth(a, coef, cp, DELTA, CAP, TMIN)


def _objective(b: np.ndarray, a: np.ndarray, coef: np.ndarray) -> float:
    cp = np.ones((1, a.shape[1]), bool)
    return float(cp_objective(b[None, :], a, coef, cp, DELTA, CAP, TMIN)[0])


def _gain(t: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """G_i = E_SP,i - C_i / t^2 with E_SP = C phi^2 / Delta^2 (G = 0 at t = Delta / phi)."""
    return coef * gain_threshold_phi(P) ** 2 / DELTA**2 - coef / t**2


def _slsqp(a: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Independent reference: SLSQP over the shares inside the box [b_min, b_cap]."""
    lo, hi = a[0] / (DELTA - TMIN), a[0] / ((1 - CAP) * DELTA)
    x0 = lo + (hi - lo) * min(1.0, (1 - lo.sum()) / max((hi - lo).sum(), 1e-300)) * 0.5
    scale = abs(_objective(x0, a, coef))  # SLSQP's tolerances assume an O(1) objective
    res = minimize(lambda b: -_objective(np.clip(b, lo, hi), a, coef) / scale, x0,
                   method="SLSQP", bounds=list(zip(lo, hi, strict=True)),
                   constraints=[{"type": "ineq", "fun": lambda b: 1.0 - b.sum()}],
                   options={"ftol": 1e-15, "maxiter": 2000})
    b = np.clip(res.x, lo, hi)
    excess = b.sum() - 1.0
    if excess > 0:  # tiny constraint violation: take it back from the pairs above their minimum
        room = b - lo
        b = b - excess * room / room.sum()
    return b


def test_cubic_root_matches_numpy_roots() -> None:
    for q in np.logspace(-8, 8, 41):
        roots = np.roots([1.0, 0.0, -q, -q])
        real = roots[np.abs(roots.imag) < 1e-9 * max(1.0, q)].real
        assert positive_cubic_root(np.array(q)) == pytest.approx(real.max(), rel=1e-10)


@pytest.mark.parametrize("n", range(1, 9))
@pytest.mark.parametrize("load", [0.3, 0.7, 0.95, 0.999, 1.0 - 1e-9])
def test_matches_scipy_slsqp_up_to_the_feasibility_boundary(n: int, load: float) -> None:
    rng = np.random.default_rng(10 * n + int(load * 1000))
    a, coef = _case(rng, n, load)
    alloc = _alloc(a, coef)
    ref = _slsqp(a, coef)
    mine, theirs = _objective(alloc.share[0], a, coef), _objective(ref, a, coef)
    assert alloc.feasible[0]
    assert alloc.share.sum() <= 1.0 + 1e-12
    assert mine >= theirs - 1e-10 * abs(theirs)  # never worse than the reference solver
    gains_mine = _gain(alloc.compute_time_s[0], coef[0])
    gains_ref = _gain(np.minimum(DELTA - a[0] / ref, CAP * DELTA), coef[0])
    assert gains_mine.sum() == pytest.approx(gains_ref.sum(), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("load", [0.5, 0.9, 0.99, 0.9999])
def test_beats_a_fine_brute_force_line_for_two_pairs(seed: int, load: float) -> None:
    # With two pairs the optimum spends the band (or caps both): b2 = min(1 - b1, b2_cap).
    rng = np.random.default_rng(100 + seed)
    a, coef = _case(rng, 2, load)
    alloc = _alloc(a, coef)
    lo, hi = a[0] / (DELTA - TMIN), a[0] / ((1 - CAP) * DELTA)
    top = min(hi[0], 1.0 - lo[1])
    kink = np.clip(1.0 - hi[1], lo[0], top)  # where pair 2 reaches its cap
    b1 = np.sort(np.r_[np.linspace(lo[0], top, 200_001), kink])
    b2 = np.minimum(1.0 - b1, hi[1])
    grid = np.stack([b1, b2], axis=1)
    vals = cp_objective(grid, np.broadcast_to(a, grid.shape), np.broadcast_to(coef, grid.shape),
                        np.ones(grid.shape, bool), DELTA, CAP, TMIN)
    best = vals.max()
    mine = _objective(alloc.share[0], a, coef)
    assert mine >= best - 1e-12 * abs(best)
    assert mine == pytest.approx(best, rel=1e-8)


def _grid_states(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (B level, O_i, d_i) combination of n pairs: a, C and the B of each row."""
    from itertools import product

    from policies.rl.cav_env import cp_energy_coef, spectral_efficiency

    levels = [(o, d) for o in P.object_levels for d in P.distance_levels_m]
    bands = (2.0, 3.0, 4.0, *P.bandwidth_levels_mhz)  # below 5 MHz some CP sets are infeasible
    rows = [(bw, *pairs) for bw in bands for pairs in product(levels, repeat=n)]
    bw = np.array([r[0] for r in rows])
    obj = np.array([[pair[0] for pair in r[1:]] for r in rows], float)
    dist = np.array([[pair[1] for pair in r[1:]] for r in rows], float)
    a = obj * P.feature_bits_per_object / (bw[:, None] * 1e6 * spectral_efficiency(dist, P))
    return a, cp_energy_coef(obj, P), bw


def test_whole_two_pair_grid_against_brute_force_and_the_sum_rule() -> None:
    a, coef, _ = _grid_states(2)  # 6 x 25^2 states, all pairs in CP
    cp = np.ones_like(a, bool)
    alloc = allocate_bandwidth(a, coef, cp, DELTA, CAP, TMIN)
    rule = a.sum(axis=1) / (DELTA - DELTA / gain_threshold_phi(P)) <= 1.0
    assert np.array_equal(alloc.feasible, rule)
    assert 0 < rule.sum() < rule.size  # the grid has both kinds of state
    ok = np.flatnonzero(rule)
    lo, hi = a[ok] / (DELTA - TMIN), a[ok] / ((1 - CAP) * DELTA)
    u = np.linspace(0.0, 1.0, 4001)
    top = np.minimum(hi[:, :1], 1.0 - lo[:, 1:])
    kink = np.clip(1.0 - hi[:, 1:], lo[:, :1], top)  # where pair 2 reaches its cap
    b1 = np.concatenate([lo[:, :1] + (top - lo[:, :1]) * u, kink], axis=1)  # (rows, grid)
    b2 = np.minimum(1.0 - b1, hi[:, 1:])
    t1 = np.minimum(DELTA - a[ok, :1] / b1, CAP * DELTA)
    t2 = np.minimum(DELTA - a[ok, 1:] / b2, CAP * DELTA)
    brute = (_gain(t1, coef[ok, :1]) + _gain(t2, coef[ok, 1:])).max(axis=1)
    mine = _gain(alloc.compute_time_s[ok], coef[ok]).sum(axis=1)
    assert np.all(mine >= brute - 1e-12)
    assert np.max(mine - brute) < 1e-6  # J; gains are 0.2-1.6 J per pair
    assert np.all(_gain(alloc.compute_time_s[ok], coef[ok]) >= -1e-12)


def test_kkt_conditions_with_both_bounds() -> None:
    rng = np.random.default_rng(7)
    for n in range(2, 9):
        a, coef = _case(rng, n, load=rng.uniform(0.6, 0.99))
        coef = coef * rng.choice([0.05, 1.0, 20.0], n)  # spread: some pairs hit a bound
        alloc = _alloc(a, coef)
        t, lam = alloc.compute_time_s[0], alloc.multiplier[0]
        marginal = 2 * coef[0] * (DELTA - t) ** 2 / (a[0] * t**3)  # dG_i / db_i
        at_min = t <= TMIN * (1 + 1e-12)
        at_cap = t >= CAP * DELTA * (1 - 1e-12)
        free = ~at_min & ~at_cap
        if lam > 0:
            assert alloc.share.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(marginal[free], lam, rtol=1e-8)
        assert np.all(marginal[at_min] <= lam * (1 + 1e-8))  # wants less, held at its minimum
        assert np.all(marginal[at_cap] >= lam * (1 - 1e-8))
        assert np.all(t >= TMIN) and np.all(t <= CAP * DELTA)


def test_pair_at_its_bound_gets_exactly_its_minimum_share() -> None:
    # A pair with a tiny energy coefficient has little to gain: it is held at t_c = Delta/phi.
    a = np.array([[0.02, 0.02]])
    coef = np.array([[1e-7, 3e-3]])
    alloc = _alloc(a, coef)
    assert alloc.compute_time_s[0, 0] == TMIN
    assert alloc.share[0, 0] == a[0, 0] / (DELTA - TMIN)
    assert alloc.share.sum() == pytest.approx(1.0, abs=1e-12)
    assert _gain(alloc.compute_time_s[0], coef[0])[0] == pytest.approx(0.0, abs=1e-18)


def test_slack_budget_puts_every_pair_at_the_cap() -> None:
    a = np.array([[0.004, 0.006]])  # needs (0.04 + 0.06) / 0.25 = 0.4 of the band
    alloc = _alloc(a, np.ones_like(a) * 1e-3)
    assert alloc.multiplier[0] == 0.0
    assert np.all(alloc.compute_time_s == CAP * DELTA)
    assert np.allclose(alloc.share, a / ((1 - CAP) * DELTA), rtol=1e-15)


def test_feasibility_boundary_is_the_sum_rule_exactly() -> None:
    coef = np.full((3, 3), 1e-3)
    w = np.array([0.3, 0.3, 0.4])
    scale = np.array([1.0, 1.0 + 1e-12, 1.0 - 1e-12])[:, None]
    a = (DELTA - TMIN) * w * scale  # sum a / (Delta - t_min) = 1, just above, just below
    alloc = _alloc(a, coef)
    assert alloc.feasible.tolist() == feasible_cp_set(a, np.ones_like(a, bool), DELTA, TMIN).tolist()
    assert alloc.feasible.tolist() == [a[0].sum() / (DELTA - TMIN) <= 1.0, False, True]
    assert np.isnan(alloc.multiplier[1]) and np.all(alloc.share[1] == 0)
    for row in (0, 2):  # on and just inside the boundary: every pair (about) at its minimum
        if alloc.feasible[row]:
            assert alloc.share[row].sum() <= 1.0 + 1e-12
            assert np.allclose(alloc.compute_time_s[row], TMIN, rtol=1e-9)
            assert np.all(_gain(alloc.compute_time_s[row], coef[row]) >= -1e-15)
    # Dropping a pair from CP makes the infeasible row feasible.
    cp = np.array([[True, True, False]])
    assert _alloc(a[1:2], coef[1:2], cp).feasible[0]


def test_a_pair_never_runs_at_a_loss_to_help_another() -> None:
    # The relaxed problem (t_c > 0 only) would give pair 0 a t_c < Delta/phi here.
    a = np.array([[0.040, 0.030]])  # sum a / (Delta - t_min) = 1.077: infeasible
    cp = np.ones_like(a, bool)
    relaxed = allocate_bandwidth(a, np.full_like(a, 1e-3), cp, DELTA, CAP, 1e-9)
    assert relaxed.feasible[0] and relaxed.compute_time_s[0].min() < TMIN
    assert not _alloc(a, np.full_like(a, 1e-3)).feasible[0]


def test_sp_pairs_get_nothing_and_rows_are_independent() -> None:
    rng = np.random.default_rng(9)
    a = rng.uniform(0.002, 0.02, (8, 4))
    coef = rng.uniform(1e-4, 3e-3, (8, 4))
    cp = rng.random((8, 4)) < 0.6
    batch = _alloc(a, coef, cp)
    assert np.all(batch.share[~cp] == 0)
    for r in range(8):
        one = _alloc(a[r:r + 1], coef[r:r + 1], cp[r:r + 1])
        assert np.allclose(one.share, batch.share[r:r + 1], rtol=1e-10, atol=1e-15)


def test_bad_lower_bound_is_refused() -> None:
    a = np.array([[0.01]])
    for bad in (0.0, CAP * DELTA):
        with pytest.raises(ValueError, match="min_compute_s"):
            allocate_bandwidth(a, a, np.ones_like(a, bool), DELTA, CAP, bad)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), load=st.floats(0.05, 1.0))
@example(seed=1, n=4, load=1.0)  # on the boundary: S_min rounds to 1 + 2e-16, still feasible
@example(seed=3, n=6, load=1.0)
def test_solution_is_feasible_and_locally_unimprovable(seed: int, n: int, load: float) -> None:
    rng = np.random.default_rng(seed)
    a, coef = _case(rng, n, load)
    alloc = _alloc(a, coef)
    b, t = alloc.share[0], alloc.compute_time_s[0]
    assert alloc.feasible[0] and b.sum() <= 1.0 + 1e-12
    assert np.all(t >= TMIN) and np.all(_gain(t, coef[0]) >= -1e-15)
    base = _objective(b, a, coef)
    lo = a[0] / (DELTA - TMIN)
    for _ in range(20):  # moving budget between two pairs never helps
        i, j = rng.choice(n, 2, replace=n < 2) if n > 1 else (0, 0)
        eps = 1e-7 * rng.choice([-1, 1])
        trial = b.copy()
        trial[i] += eps
        trial[j] -= eps
        if np.all(trial >= lo):
            assert _objective(trial, a, coef) <= base + 1e-9 * abs(base)
