"""Exact per-slot V2V bandwidth allocation of the CAV pairs in cooperative perception.

Seed 003 (Sec. IV) and its system model (Qu et al., IEEE TWC 2024; our reference summary in
``/work/shared/models/cav-cooperative-perception.md``): in every slot, given which CAV pairs
chose cooperative perception (CP), the shares ``b_i`` of the available radio ``B(k)`` maximise
the total computing efficiency gain. This module solves that problem exactly through its KKT
conditions, vectorised over a batch of slots (rows) and pairs (columns).

Problem (one row; only CP pairs take part)::

    maximise   sum_i G_i(b_i),  G_i = E_SP,i - C_i / t_i^2,  t_i = min(Delta - a_i / b_i, c Delta)
    subject to sum_i b_i <= 1,  b_i > a_i / Delta

with ``a_i = O_i w / r_i(full band)`` (transmission time if pair i had all of ``B(k)``),
``C_i = kappa O_i^3 delta_tilde delta_hat^2`` and ``c`` the compute-time cap. ``E_SP,i`` is a
constant, so only ``-C_i / t_i^2`` matters.

Derivation. ``t(b) = Delta - a / b`` is concave and increasing in ``b``; ``-C / t^2`` is concave
and increasing in ``t > 0``; so each ``G_i`` is concave in ``b_i`` and the problem is convex
with a linear budget. Capping ``t_i`` at ``c Delta`` is the box ``b_i <= a_i / ((1 - c) Delta)``.
Stationarity of the Lagrangian with multiplier ``lambda`` on the budget, for an uncapped pair::

    G_i'(b_i) = (2 C_i / t^3) * (a_i / b_i^2) = 2 C_i (Delta - t)^2 / (a_i t^3) = lambda,

i.e. the cubic in ``t``:  ``lambda a_i t^3 - 2 C_i (Delta - t)^2 = 0``. It has exactly one root
in ``(0, Delta)`` (the left side rises from ``-2 C_i Delta^2`` to ``lambda a_i Delta^3`` with a
positive derivative). With ``v = t / (Delta - t)`` it becomes the depressed cubic
``v^3 - q_i v - q_i = 0``, ``q_i = 2 C_i / (lambda a_i Delta)``, whose unique positive root is
(Cardano / trigonometric form, ``x = 1.5 sqrt(3 / q)``)::

    v = 2 sqrt(q/3) cos(arccos(x) / 3)    if x <= 1   (three real roots; take the largest)
    v = 2 sqrt(q/3) cosh(arccosh(x) / 3)  if x > 1    (one real root)

and then ``b_i = a_i (1 + v_i) / Delta``; capped pairs have ``v_i = c / (1 - c)``. The total
share ``S(lambda)`` falls strictly from ``sum a_i / ((1 - c) Delta)`` (all capped, small
lambda) to ``sum a_i / Delta`` (lambda -> infinity). Hence:

* infeasible (no allocation meets the deadline) iff ``sum a_i / Delta >= 1``;
* budget slack (``lambda = 0``, every CP pair at the cap) iff ``sum a_i / ((1-c) Delta) <= 1``;
* otherwise the unique ``lambda`` with ``S(lambda) = 1``, found by safeguarded Newton on
  ``log lambda`` inside an explicit bracket (bisection whenever Newton leaves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_MAX_ITER = 100
_TOL = 1e-13


@dataclass(frozen=True, slots=True)
class Allocation:
    """Optimal shares of one batch of slots (rows) for the CAV pairs (columns).

    Attributes:
        share: ``b_i`` (fraction of ``B(k)``); 0 for SP pairs and in infeasible rows.
        compute_time_s: ``t_c,i`` of CP pairs in feasible rows; 0 elsewhere.
        feasible: per row, whether the CP pairs can all meet the deadline.
        multiplier: per row, the budget multiplier ``lambda`` (0 when the budget is slack,
            NaN when infeasible). Units: J per unit share.
        iterations: Newton/bisection iterations used (max over rows).
    """

    share: FloatArray
    compute_time_s: FloatArray
    feasible: BoolArray
    multiplier: FloatArray
    iterations: int


def positive_cubic_root(q: FloatArray) -> FloatArray:
    """Unique positive root ``v`` of ``v^3 - q v - q = 0`` for ``q > 0`` (closed form).

    Args:
        q: Positive coefficients, any shape.

    Returns:
        The roots, polished with one Newton step (relative error near machine precision).
    """
    x = 1.5 * np.sqrt(3.0 / q)
    scale = 2.0 * np.sqrt(q / 3.0)
    trig = scale * np.cos(np.arccos(np.minimum(x, 1.0)) / 3.0)
    hyp = scale * np.cosh(np.arccosh(np.maximum(x, 1.0)) / 3.0)
    v = np.where(x <= 1.0, trig, hyp)
    # 3 v^2 - q > 2 q > 0 at the root, so the Newton step is well defined.
    return v - (v**3 - q * v - q) / (3.0 * v * v - q)


def cp_objective(
    share: FloatArray,
    tx_time_full_s: FloatArray,
    energy_coef: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    cap_fraction: float,
) -> FloatArray:
    """Objective ``sum_i -C_i / t_i^2`` over CP pairs for given shares (reference for tests).

    Returns:
        Per row; ``-inf`` where some CP pair misses the deadline (``t_i <= 0``).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.minimum(deadline_s - tx_time_full_s / share, cap_fraction * deadline_s)
        term = np.where(cp, -energy_coef / t**2, 0.0)
    bad = np.any(cp & ~(t > 0.0), axis=-1)
    return np.where(bad, -np.inf, term.sum(axis=-1))


def allocate_bandwidth(
    tx_time_full_s: FloatArray,
    energy_coef: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    cap_fraction: float,
) -> Allocation:
    """Solve the per-slot bandwidth allocation exactly (see the module docstring).

    Args:
        tx_time_full_s: ``a_i = O_i w / r_i`` at the full band, shape ``(rows, pairs)``, > 0.
        energy_coef: ``C_i = kappa O_i^3 delta_tilde delta_hat^2`` (J s^2), same shape, > 0.
        cp: Which pairs are in CP mode, same shape.
        deadline_s: Delay requirement ``Delta``.
        cap_fraction: ``c`` in ``(0, 1)``; ``t_c`` never exceeds ``c Delta``.

    Returns:
        The optimal allocation of every row.
    """
    a = np.where(cp, tx_time_full_s, 0.0)
    coef = np.where(cp, energy_coef, 1.0)
    a_safe = np.where(cp, tx_time_full_s, 1.0)
    v_cap = cap_fraction / (1.0 - cap_fraction)
    s_min = a.sum(axis=-1) / deadline_s
    s_max = s_min * (1.0 + v_cap)
    feasible = s_min < 1.0
    solve = feasible & (s_max > 1.0)
    v = np.where(cp, v_cap, 0.0)
    lam = np.where(feasible, 0.0, np.nan)
    iterations = 0
    if np.any(solve):
        rows = np.flatnonzero(solve)
        v_rows, lam_rows, iterations = _solve_multiplier(
            a[rows], coef[rows], a_safe[rows], cp[rows], deadline_s, v_cap, 1.0 - s_min[rows]
        )
        v[rows] = v_rows
        lam[rows] = lam_rows
    share = np.where(cp & feasible[:, None], a * (1.0 + v) / deadline_s, 0.0)
    t_c = np.where(cp & feasible[:, None], deadline_s * v / (1.0 + v), 0.0)
    return Allocation(share, t_c, feasible, lam, iterations)


def _shares_at(
    y: FloatArray,
    a: FloatArray,
    coef: FloatArray,
    a_safe: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    v_cap: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Total share ``S``, its derivative in ``y = log lambda`` and ``v`` at ``lambda = e^y``."""
    q = 2.0 * coef / (np.exp(y)[:, None] * a_safe * deadline_s)
    v_free = positive_cubic_root(q)
    free = cp & (v_free < v_cap)
    v = np.where(cp, np.minimum(v_free, v_cap), 0.0)
    total = (a * (1.0 + v)).sum(axis=-1) / deadline_s
    # dv/dq = (1 + v) / (3 v^2 - q) and dq/dy = -q; capped pairs do not move.
    dv_dy = -(1.0 + v_free) * q / (3.0 * v_free**2 - q)
    slope = np.where(free, a * dv_dy, 0.0).sum(axis=-1) / deadline_s
    return total, slope, v


def _solve_multiplier(
    a: FloatArray,
    coef: FloatArray,
    a_safe: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    v_cap: float,
    slack: FloatArray,
) -> tuple[FloatArray, FloatArray, int]:
    """Find ``lambda`` with ``S(lambda) = 1`` for rows where the budget binds.

    Bracket: at ``lambda_lo = min_i 2 C_i (1-c)^2 / (a_i c^3 Delta)`` every pair is capped, so
    ``S > 1``. At ``lambda_hi`` every ``q_i <= 1/2``, hence ``v_i <= (2 q_i)^(1/3)`` and
    ``S <= sum a_i / Delta + lambda^(-1/3) sum (a_i / Delta)(4 C_i / (a_i Delta))^(1/3)``,
    which is ``<= 1`` by the choice of ``lambda_hi``.
    """
    c = v_cap / (1.0 + v_cap)
    lam_cap = 2.0 * coef * (1.0 - c) ** 2 / (a_safe * c**3 * deadline_s)
    y_lo = np.log(np.where(cp, lam_cap, np.inf).min(axis=-1))
    k = 4.0 * coef / (a_safe * deadline_s)
    bound = (np.where(cp, a * np.cbrt(k), 0.0).sum(axis=-1) / deadline_s / slack) ** 3
    y_hi = np.log(np.maximum(np.where(cp, k, 0.0).max(axis=-1), bound))
    # Start where every pair would share one v (1 + v0 = Delta / sum a): geometric mean of
    # the pairs' multipliers at v0, which is exact when the pairs are alike.
    v0 = (slack / (1.0 - slack))[:, None]
    log_lam = np.log(2.0 * coef * (1.0 + v0) / (a_safe * deadline_s * v0**3))
    y = np.where(cp, log_lam, 0.0).sum(axis=-1) / cp.sum(axis=-1)
    y = np.clip(y, y_lo, y_hi)
    v = np.zeros_like(a)
    it = 0
    for it in range(1, _MAX_ITER + 1):
        total, slope, v = _shares_at(y, a, coef, a_safe, cp, deadline_s, v_cap)
        err = total - 1.0
        if np.all(np.abs(err) <= _TOL):
            return v, np.exp(y), it
        y_lo = np.where(err > 0.0, y, y_lo)
        y_hi = np.where(err < 0.0, y, y_hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = y - err / slope
        inside = np.isfinite(newton) & (newton > y_lo) & (newton < y_hi)
        y = np.where(inside, newton, 0.5 * (y_lo + y_hi))
        if np.all(y_hi - y_lo <= 1e-15 * np.maximum(1.0, np.abs(y))):
            break
    _, _, v = _shares_at(y, a, coef, a_safe, cp, deadline_s, v_cap)
    return v, np.exp(y), it
