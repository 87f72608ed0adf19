"""User-level bitrate selection by multiple-choice knapsack DP (seed 000, Sec. III.C.3).

Seed Sec. III.C.3: "If the optimization problem can be transformed into a Knapsack problem, a
dynamic programming method can be utilized". Each user picks exactly one bitrate level of a
ladder (or stays idle); a level's cost is the bandwidth it needs, its value the user's QoE at
that bandwidth. The exact DP runs over integer costs: the group budget is cut into
``resolution`` units and costs are rounded up, so the chosen bandwidths always fit the budget
(the rounding can only forgo a choice that fits within less than one unit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from policies.scheduling.slsqp import ela_aware_value

QoEFn = Callable[[np.ndarray], np.ndarray]


def multiple_choice_knapsack(
    values: np.ndarray, costs: np.ndarray, capacity: int
) -> tuple[np.ndarray, float]:
    """Exact multiple-choice knapsack by dynamic programming over total cost.

    Every class (row) picks exactly one option (column); the total cost must not exceed
    ``capacity``. O(n * L * capacity) time.

    Args:
        values: (n, L) option values (finite; use -inf to forbid an option).
        costs: (n, L) non-negative integer option costs.
        capacity: non-negative integer capacity.

    Returns:
        The chosen option per class (ties: lowest option index, then lowest total cost) and the
        optimal total value.

    Raises:
        ValueError: if no choice fits the capacity or inputs are malformed.
    """
    values = np.asarray(values, dtype=float)
    costs = np.asarray(costs)
    if values.shape != costs.shape or values.ndim != 2 or capacity < 0 or np.any(costs < 0):
        raise ValueError("values and costs must be equal-shape 2-D, costs and capacity >= 0")
    n, n_opt = values.shape
    # best[c]: best value of the classes so far at total cost exactly c.
    best = np.full(capacity + 1, -np.inf)
    best[0] = 0.0
    pick = np.zeros((n, capacity + 1), dtype=np.int64)
    for i in range(n):
        nxt = np.full(capacity + 1, -np.inf)
        for j in range(n_opt):
            c = int(costs[i, j])
            if c > capacity or values[i, j] == -np.inf:
                continue
            cand = np.full(capacity + 1, -np.inf)
            cand[c:] = best[: capacity + 1 - c] + values[i, j]
            better = cand > nxt
            nxt[better] = cand[better]
            pick[i, better] = j
        best = nxt
    total_cost = int(np.argmax(best))
    if best[total_cost] == -np.inf:
        raise ValueError("no choice of options fits the capacity")
    choice = np.empty(n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        choice[i] = pick[i, total_cost]
        total_cost -= int(costs[i, choice[i]])
    return choice, float(best.max())


@dataclass(frozen=True, slots=True)
class BitrateAllocation:
    """Result of the knapsack user-level allocation.

    Attributes:
        level: chosen ladder index per user, -1 for idle (no bandwidth this slot).
        bitrate_bps: chosen bitrate per user (0 when idle).
        bandwidth: bandwidth per user (same unit as the budget), sum <= budget.
        objective: sum of the chosen values.
    """

    level: np.ndarray
    bitrate_bps: np.ndarray
    bandwidth: np.ndarray
    objective: float


def allocate_bitrates(
    qoe_fns: Sequence[QoEFn],
    ladder_bps: Sequence[float],
    budget_hz: float,
    spectral_efficiency: np.ndarray | float,
    *,
    kappa: float = 1.0,
    resolution: int = 1000,
    weights: np.ndarray | None = None,
    ela: np.ndarray | None = None,
    ela_penalty: float = 0.0,
) -> BitrateAllocation:
    """Pick one bitrate per user (or idle) maximising sum_i w_i * phi_i(QoE) within the budget.

    Level l of user i needs effective bandwidth r_l / SE_i, hence raw bandwidth
    r_l / (SE_i * kappa) when only a fraction ``kappa`` of it is delivered (computing shortfall).
    Its value is w_i * phi_i(qoe_i(r_l / SE_i)), phi as in ``slsqp.ela_aware_value``. The idle
    option costs nothing and is worth w_i * phi_i(qoe_i(0)), which keeps the problem feasible.

    Returns:
        The allocation.
    """
    n = len(qoe_fns)
    ladder = np.asarray(ladder_bps, dtype=float)
    se = np.broadcast_to(np.asarray(spectral_efficiency, dtype=float), (n,))
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    effective = np.column_stack([np.zeros(n), ladder[None, :] / se[:, None]])  # (n, L+1) Hz
    qoe = np.array(
        [np.asarray(f(row), dtype=float) for f, row in zip(qoe_fns, effective, strict=True)]
    )
    ela_col = None if ela is None else np.asarray(ela, dtype=float)[:, None]
    values = w[:, None] * ela_aware_value(qoe, ela_col, ela_penalty)
    need_hz = effective / kappa if kappa > 0 else np.where(effective > 0, np.inf, 0.0)
    unit = budget_hz / resolution if budget_hz > 0 else 1.0
    # Round costs up (with a relative guard against float noise) so the real costs fit too.
    units = np.ceil(need_hz / unit * (1 - 1e-12))
    capacity = resolution if budget_hz > 0 else 0
    # Options that cannot fit (including infinite cost) get cost capacity + 1, which the DP skips.
    costs = np.where(units <= capacity, units, capacity + 1).astype(np.int64)
    choice, objective = multiple_choice_knapsack(values, costs, capacity)
    picked_hz = need_hz[np.arange(n), choice]
    bitrate = np.concatenate([[0.0], ladder])[choice]
    return BitrateAllocation(choice - 1, bitrate, np.where(choice > 0, picked_hz, 0.0), objective)
