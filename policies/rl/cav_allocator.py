"""Exact per-slot V2V bandwidth allocation of the CAV pairs in cooperative perception.

Seed 003 (Sec. IV) and its system model (Qu et al., IEEE TWC 2024; our reference summary in
``shared/models/cav-cooperative-perception.md``): in every slot, given which CAV pairs
chose cooperative perception (CP), the shares ``b_i`` of the available radio ``B(k)`` maximise
the total computing efficiency gain, and **every pair in CP must gain** (``t_c >= Delta/phi``,
i.e. ``G_i >= 0``, is a constraint of each CP pair). This module solves that problem exactly
through its KKT conditions, vectorised over a batch of slots (rows) and pairs (columns).

Problem (one row; only CP pairs take part)::

    maximise   sum_i G_i(b_i),  G_i = E_SP,i - C_i / t_i^2,  t_i = Delta - a_i / b_i
    subject to sum_i b_i <= 1,  t_min <= t_i <= c Delta

with ``a_i = O_i w / r_i(full band)`` (transmission time if pair i had all of ``B(k)``),
``C_i = kappa O_i^3 delta_tilde delta_hat^2``, ``t_min = Delta / phi`` (the gain threshold) and
``c`` the compute-time cap. ``E_SP,i`` is a constant, so only ``-C_i / t_i^2`` matters.

Derivation. ``t(b) = Delta - a / b`` is concave and increasing in ``b``; ``-C / t^2`` is concave
and increasing in ``t > 0``; so each ``G_i`` is concave in ``b_i`` and the problem is convex
with a linear budget. The bounds on ``t_i`` are the box
``a_i / (Delta - t_min) <= b_i <= a_i / ((1 - c) Delta)``. Stationarity of the Lagrangian with
multiplier ``lambda`` on the budget, for a pair strictly inside its box::

    G_i'(b_i) = (2 C_i / t^3) * (a_i / b_i^2) = 2 C_i (Delta - t)^2 / (a_i t^3) = lambda,

i.e. the cubic in ``t``:  ``lambda a_i t^3 - 2 C_i (Delta - t)^2 = 0``. It has exactly one root
in ``(0, Delta)`` (the left side rises from ``-2 C_i Delta^2`` to ``lambda a_i Delta^3`` with a
positive derivative). With ``v = t / (Delta - t)`` it becomes the depressed cubic
``v^3 - q_i v - q_i = 0``, ``q_i = 2 C_i / (lambda a_i Delta)``, whose unique positive root is
(Cardano / trigonometric form, ``x = 1.5 sqrt(3 / q)``)::

    v = 2 sqrt(q/3) cos(arccos(x) / 3)    if x <= 1   (three real roots; take the largest)
    v = 2 sqrt(q/3) cosh(arccosh(x) / 3)  if x > 1    (one real root)

and then ``b_i = a_i (1 + v_i) / Delta`` with ``v_i`` clipped to the box
``[v_min, v_cap] = [t_min / (Delta - t_min), c / (1 - c)]`` (a pair at its lower bound gets
exactly its minimum share ``a_i / (Delta - t_min)``). The total share ``S(lambda)`` falls
continuously from ``S_max = sum a_i / ((1 - c) Delta)`` (every pair capped) to
``S_min = sum a_i / (Delta - t_min)`` (every pair at its minimum). Hence:

* infeasible iff ``S_min > 1``: some CP pair would have to run at a loss (the model file's sum
  rule ``sum_i a_i / (Delta - Delta/phi) <= 1``), judged with a relative rounding allowance of
  ``_BOUNDARY_TOL`` = 1e-13: a set exactly on the boundary, whose ``S_min`` evaluates to
  ``1 + 2e-16``, is feasible with every pair at its minimum share (shares then sum to at most
  ``1 + 1e-13``);
* budget slack (``lambda = 0``, every CP pair at the cap) iff ``S_max <= 1``;
* ``S_min = 1``: every pair at its minimum share (``lambda`` = the smallest multiplier that
  holds them there);
* otherwise the unique ``lambda`` with ``S(lambda) = 1``, found by safeguarded Newton on
  ``log lambda`` inside an explicit bracket (bisection whenever Newton leaves it), to
  ``|S - 1| <= 1e-13``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_MAX_ITER = 200
_BOUNDARY_TOL = 1e-13  # relative rounding allowance of the sum rule S_min <= 1
_TOL = 1e-13


@dataclass(frozen=True, slots=True)
class Allocation:
    """Optimal shares of one batch of slots (rows) for the CAV pairs (columns).

    Attributes:
        share: ``b_i`` (fraction of ``B(k)``); 0 for SP pairs and in infeasible rows.
        compute_time_s: ``t_c,i`` of CP pairs in feasible rows (within ``[t_min, c Delta]``);
            0 elsewhere.
        feasible: per row, whether every CP pair can meet ``t_c >= t_min`` within the band.
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


def feasible_cp_set(tx_time_full_s: FloatArray, cp: BoolArray, deadline_s: float,
                    min_compute_s: float) -> BoolArray:
    """The model file's sum rule: ``sum_{i in CP} a_i / (Delta - t_min) <= 1`` per row."""
    need = np.where(cp, tx_time_full_s, 0.0).sum(axis=-1) / (deadline_s - min_compute_s)
    return need <= 1.0 + _BOUNDARY_TOL


def cp_objective(
    share: FloatArray,
    tx_time_full_s: FloatArray,
    energy_coef: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    cap_fraction: float,
    min_compute_s: float = 0.0,
) -> FloatArray:
    """Objective ``sum_i -C_i / t_i^2`` over CP pairs for given shares (reference for tests).

    ``t_i`` is capped at ``c Delta`` (a larger share buys nothing).

    Returns:
        Per row; ``-inf`` where some CP pair has ``t_i < t_min`` (beyond a relative 1e-12
        rounding allowance: ``Delta - a / (a / (Delta - t_min))`` is ``t_min`` only to rounding)
        or ``t_i <= 0``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.minimum(deadline_s - tx_time_full_s / share, cap_fraction * deadline_s)
        term = np.where(cp, -energy_coef / t**2, 0.0)
    bad = np.any(cp & ~((t > 0.0) & (t >= min_compute_s * (1.0 - 1e-12))), axis=-1)
    return np.where(bad, -np.inf, term.sum(axis=-1))


def allocate_bandwidth(
    tx_time_full_s: FloatArray,
    energy_coef: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    cap_fraction: float,
    min_compute_s: float,
) -> Allocation:
    """Solve the per-slot bandwidth allocation exactly (see the module docstring).

    Args:
        tx_time_full_s: ``a_i = O_i w / r_i`` at the full band, shape ``(rows, pairs)``, > 0.
        energy_coef: ``C_i = kappa O_i^3 delta_tilde delta_hat^2`` (J s^2), same shape, > 0.
        cp: Which pairs are in CP mode, same shape.
        deadline_s: Delay requirement ``Delta``.
        cap_fraction: ``c`` in ``(0, 1)``; ``t_c`` never exceeds ``c Delta``.
        min_compute_s: ``t_min``, every CP pair needs ``t_c >= t_min`` (``Delta / phi``: its
            gain is then >= 0); in ``(0, c Delta)``.

    Returns:
        The optimal allocation of every row.
    """
    if not 0.0 < min_compute_s < cap_fraction * deadline_s:
        raise ValueError(f"min_compute_s={min_compute_s!r} must lie in (0, cap * deadline)")
    a = np.where(cp, tx_time_full_s, 0.0)
    a_safe = np.where(cp, tx_time_full_s, 1.0)
    coef = np.where(cp, energy_coef, 1.0)
    v_min = min_compute_s / (deadline_s - min_compute_s)
    v_cap = cap_fraction / (1.0 - cap_fraction)
    s_min = a.sum(axis=-1) / (deadline_s - min_compute_s)
    s_max = a.sum(axis=-1) / ((1.0 - cap_fraction) * deadline_s)
    feasible = s_min <= 1.0 + _BOUNDARY_TOL
    v = np.where(cp, v_cap, 0.0)
    lam = np.where(feasible, 0.0, np.nan)
    tight = feasible & (s_min >= 1.0)  # only on the boundary: every pair at its minimum
    if np.any(tight):
        v[tight] = np.where(cp[tight], v_min, 0.0)
        lam[tight] = np.where(cp[tight], _multiplier_at(v_min, a_safe[tight], coef[tight],
                                                         deadline_s), -np.inf).max(axis=-1)
    solve = feasible & ~tight & (s_max > 1.0)
    iterations = 0
    if np.any(solve):
        rows = np.flatnonzero(solve)
        v[rows], lam[rows], iterations = _solve_multiplier(
            a[rows], coef[rows], a_safe[rows], cp[rows], deadline_s, (v_min, v_cap))
    on = cp & feasible[:, None]
    t = np.where(v <= v_min, min_compute_s,
                 np.where(v >= v_cap, cap_fraction * deadline_s, deadline_s * v / (1.0 + v)))
    t_c = np.where(on, t, 0.0)
    share = np.where(on, a / (deadline_s - t), 0.0)
    return Allocation(share, t_c, feasible, lam, iterations)


def _multiplier_at(v: float | FloatArray, a_safe: FloatArray, coef: FloatArray,
                   deadline_s: float) -> FloatArray:
    """``lambda`` at which a free pair sits at ``v``: ``q = v^3 / (1 + v)`` solved for lambda."""
    return 2.0 * coef * (1.0 + v) / (a_safe * deadline_s * v**3)


def _shares_at(
    y: FloatArray,
    a: FloatArray,
    coef: FloatArray,
    a_safe: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    box: tuple[float, float],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Total share ``S``, its derivative in ``y = log lambda`` and ``v`` at ``lambda = e^y``."""
    v_min, v_cap = box
    q = 2.0 * coef / (np.exp(y)[:, None] * a_safe * deadline_s)
    v_free = positive_cubic_root(q)
    free = cp & (v_free > v_min) & (v_free < v_cap)
    v = np.where(cp, np.clip(v_free, v_min, v_cap), 0.0)
    total = (a * (1.0 + v)).sum(axis=-1) / deadline_s
    # dv/dq = (1 + v) / (3 v^2 - q) and dq/dy = -q; pairs at a bound do not move.
    dv_dy = -(1.0 + v_free) * q / (3.0 * v_free**2 - q)
    slope = np.where(free, a * dv_dy, 0.0).sum(axis=-1) / deadline_s
    return total, slope, v


def _solve_multiplier(
    a: FloatArray,
    coef: FloatArray,
    a_safe: FloatArray,
    cp: BoolArray,
    deadline_s: float,
    box: tuple[float, float],
) -> tuple[FloatArray, FloatArray, int]:
    """Find ``lambda`` with ``S(lambda) = 1`` for rows where ``S_min < 1 < S_max``.

    Bracket: at ``lambda_lo = min_i lambda_i(v_cap)`` every pair is capped (``S = S_max > 1``);
    at ``lambda_hi = max_i lambda_i(v_min)`` every pair is at its minimum (``S = S_min < 1``),
    because a free pair's ``v`` falls strictly as ``lambda`` grows.
    """
    v_min, v_cap = box
    y_lo = np.log(np.where(cp, _multiplier_at(v_cap, a_safe, coef, deadline_s), np.inf)
                  .min(axis=-1))
    y_hi = np.log(np.where(cp, _multiplier_at(v_min, a_safe, coef, deadline_s), 0.0)
                  .max(axis=-1))
    # Start where every pair would share one v (1 + v0 = Delta / sum a): geometric mean of
    # the pairs' multipliers at v0, which is exact when the pairs are alike and unbounded.
    s0 = a.sum(axis=-1) / deadline_s
    v0 = np.clip((1.0 - s0) / s0, v_min, v_cap)[:, None]
    log_lam = np.log(_multiplier_at(v0, a_safe, coef, deadline_s))
    y = np.where(cp, log_lam, 0.0).sum(axis=-1) / cp.sum(axis=-1)
    y = np.clip(y, y_lo, y_hi)
    it = 0
    for it in range(1, _MAX_ITER + 1):
        total, slope, v = _shares_at(y, a, coef, a_safe, cp, deadline_s, box)
        err = total - 1.0
        if np.all(np.abs(err) <= _TOL):
            return v, np.exp(y), it
        y_lo = np.where(err > 0.0, y, y_lo)
        y_hi = np.where(err < 0.0, y, y_hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = y - err / slope
        inside = np.isfinite(newton) & (newton > y_lo) & (newton < y_hi)
        y = np.where(inside, newton, 0.5 * (y_lo + y_hi))
        if np.all((np.abs(err) <= _TOL) | (y_hi - y_lo <= 1e-15 * np.maximum(1.0, np.abs(y)))):
            break
    _, _, v = _shares_at(y, a, coef, a_safe, cp, deadline_s, box)
    return v, np.exp(y), it
