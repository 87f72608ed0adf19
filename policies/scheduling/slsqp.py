"""User-level bandwidth allocation inside a group by SLSQP (seed 000, Sec. III.C.3 and Sec. IV).

Seed Sec. III.C.3: "if the optimization problem can be transformed into a convex problem, a
convex optimization method can be adopted to achieve the optimal QoE"; Sec. IV uses "a sequential
least squares quadratic programming (SLSQP) method for user-level resource allocation".

Problem (continuous):  maximise  sum_i w_i * phi_i(b_i)
                       s.t.      sum_i b_i <= budget,  b_min_i <= b_i <= b_max_i,
with phi_i = U_i (plain QoE) or the ELA-aware phi_i = U_i - lambda * max(0, ELA_i - U_i)^2, which
stays concave when U_i is concave (a squared non-negative convex function is convex) and is
continuously differentiable. For concave U_i SLSQP's KKT point is the global optimum; for
S-shaped QoE curves it is a local one started from the equal split.

Bandwidth is optimised in units of the budget so SLSQP sees O(1) variables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, minimize

Utility = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class SlsqpAllocation:
    """Result of the user-level SLSQP allocation.

    Attributes:
        bandwidth: allocation per user (same unit as the budget), always feasible.
        objective: sum_i w_i * phi_i(b_i) at ``bandwidth``.
        success: SLSQP's own convergence flag.
        message: SLSQP's message.
    """

    bandwidth: np.ndarray
    objective: float
    success: bool
    message: str


def ela_aware_value(u: np.ndarray, ela: np.ndarray | None, penalty: float) -> np.ndarray:
    """phi = u - penalty * max(0, ela - u)^2 (u itself when ``ela`` is None)."""
    if ela is None:
        return u
    return u - penalty * np.maximum(0.0, ela - u) ** 2


def evaluate_each(fns: Sequence[Utility], b: np.ndarray) -> np.ndarray:
    """[f_i(b_i)] for scalar b_i, calling each vectorised callable on a length-1 array."""
    return np.array([float(np.asarray(f(np.array([x])))[0]) for f, x in zip(fns, b, strict=True)])


def _derivatives(
    fns: Sequence[Utility], grads: Sequence[Utility] | None, b: np.ndarray, h: float
) -> np.ndarray:
    """Exact derivatives when given, else central differences (one-sided at zero)."""
    if grads is not None:
        return evaluate_each(grads, b)
    lo = np.maximum(b - h, 0.0)
    return (evaluate_each(fns, b + h) - evaluate_each(fns, lo)) / (b + h - lo)


def _slack(x: np.ndarray) -> float:
    """Budget constraint in budget units: 1 - sum(x) >= 0."""
    return 1.0 - float(x.sum())


def _project(b: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float) -> np.ndarray:
    """Clip into the box, then shrink towards ``lo`` until the budget holds."""
    b = np.clip(b, lo, hi)
    excess_total, room = b.sum() - budget, (b - lo).sum()
    if excess_total > 0 and room > 0:
        b = lo + (b - lo) * max(0.0, 1.0 - excess_total / room)
    return b


def maximise_weighted_utility(
    utilities: Sequence[Utility],
    budget: float,
    *,
    gradients: Sequence[Utility] | None = None,
    weights: np.ndarray | None = None,
    b_min: float | np.ndarray = 0.0,
    b_max: float | np.ndarray | None = None,
    ela: np.ndarray | None = None,
    ela_penalty: float = 0.0,
    maxiter: int = 200,
    ftol: float = 1e-10,
) -> SlsqpAllocation:
    """Maximise sum_i w_i * phi_i(b_i) under a shared budget and box bounds with SLSQP.

    Args:
        utilities: U_i(b) for each user, vectorised callables (e.g. QoE vs bandwidth).
        budget: total amount to share (>= sum of ``b_min``).
        gradients: dU_i/db callables; central differences when omitted.
        weights: w_i >= 0, default all ones.
        b_min: lower bound(s) per user.
        b_max: upper bound(s) per user, default ``budget``.
        ela: per-user expected lowest acceptable QoE; enables the ELA-aware objective.
        ela_penalty: lambda of the ELA-aware objective.
        maxiter: SLSQP iteration limit.
        ftol: SLSQP objective tolerance.

    Returns:
        The allocation; never worse than the (projected) equal split it starts from.

    Raises:
        ValueError: if the lower bounds exceed the budget or the box is empty.
    """
    n = len(utilities)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    lo = np.broadcast_to(np.asarray(b_min, dtype=float), (n,)).copy()
    hi = np.broadcast_to(np.asarray(budget if b_max is None else b_max, dtype=float), (n,)).copy()
    if lo.sum() > budget * (1 + 1e-12) or np.any(lo > hi):
        raise ValueError("infeasible bounds: sum(b_min) > budget or b_min > b_max")
    objective = _Objective(utilities, gradients, w, ela, ela_penalty, max(float(budget), 1e-300))
    if n == 0 or budget <= 0:
        return SlsqpAllocation(lo, objective.value(lo), True, "trivial")
    b0 = _project(np.full(n, budget / n), lo, hi, budget)
    res = minimize(
        objective.negative_scaled,
        b0 / objective.scale,
        jac=True,
        method="SLSQP",
        bounds=Bounds(lo / objective.scale, hi / objective.scale),
        constraints=[{"type": "ineq", "fun": _slack, "jac": lambda x: -np.ones(n)}],
        options={"maxiter": maxiter, "ftol": ftol},
    )
    b = _project(np.asarray(res.x) * objective.scale, lo, hi, budget)
    if objective.value(b) < objective.value(b0):
        b = b0
    return SlsqpAllocation(b, objective.value(b), bool(res.success), str(res.message))


@dataclass(frozen=True, slots=True)
class _Objective:
    """sum_i w_i * phi_i(b_i) and SLSQP's view of it: negated, in budget units, per unit weight."""

    utilities: Sequence[Utility]
    gradients: Sequence[Utility] | None
    weights: np.ndarray
    ela: np.ndarray | None
    ela_penalty: float
    scale: float

    def value(self, b: np.ndarray) -> float:
        u = evaluate_each(self.utilities, b)
        return float(self.weights @ ela_aware_value(u, self.ela, self.ela_penalty))

    def negative_scaled(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        b = x * self.scale
        u = evaluate_each(self.utilities, b)
        du = _derivatives(self.utilities, self.gradients, b, 1e-6 * self.scale)
        if self.ela is not None:
            du = du * (1.0 + 2.0 * self.ela_penalty * np.maximum(0.0, self.ela - u))
        wsum = max(float(self.weights.sum()), 1e-300)
        phi = ela_aware_value(u, self.ela, self.ela_penalty)
        return -float(self.weights @ phi) / wsum, -self.weights * du * self.scale / wsum
