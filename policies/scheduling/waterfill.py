"""User-level bandwidth split by water-filling on tabulated concave QoE curves (seed 000
Sec. III.C.3).

Seed Sec. III.C.3: "if the optimization problem can be transformed into a convex problem, a
convex optimization method can be adopted to achieve the optimal QoE". For concave utilities
phi_i the problem max sum_i phi_i(k b_i), sum_i b_i <= B, b_i >= 0 is solved by water-filling:
every user is filled while its marginal gain exceeds a common water level.

Each user's utility is tabulated once (one vectorised call per user) on a grid of effective
bandwidths ``x_j = upper (j / K)^2`` (dense near zero, where QoE curves bend most), so the
curve becomes piecewise linear and water-filling is exact on it: take the segments of all users
in decreasing slope order until the budget is spent. A shared compute factor ``k`` scales every
segment's raw width by ``1 / k`` and its gain per raw Hz by ``k``, so the order is the same for
every ``k`` and is sorted once per group. The error against the continuous optimum is the
piecewise-linear interpolation error (tested against SLSQP and the closed form: documented
tolerance 1e-3 of the objective per user on MOS curves). Curves that are not concave on the grid
are left to SLSQP by the caller (``concave`` tells which).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Utility = Callable[[np.ndarray], np.ndarray]

GRID_POINTS = 512
CONCAVITY_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Tabulated:
    """Utilities of ``n`` users on a common grid of effective bandwidths.

    Attributes:
        grid: (K + 1,) effective bandwidths, 0 .. upper.
        values: (n, K + 1) utility of each user at each grid point.
        concave: (n,) whether each tabulated curve is concave (slopes non-increasing).
    """

    grid: np.ndarray
    values: np.ndarray
    concave: np.ndarray
    _orders: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def slopes(self) -> np.ndarray:
        """(n, K) gain per effective Hz of each segment."""
        return np.diff(self.values, axis=1) / np.diff(self.grid)


def tabulate(
    utilities: Sequence[Utility],
    upper: float,
    *,
    transform: Callable[[np.ndarray, int], np.ndarray] | None = None,
    points: int = GRID_POINTS,
) -> Tabulated:
    """Tabulate each ``utilities[i]`` on ``[0, upper]``; ``transform(u, i)`` maps user i's
    values (e.g. to the ELA-aware objective)."""
    grid = float(max(upper, 1e-300)) * (np.arange(points + 1) / points) ** 2
    rows = []
    for i, fn in enumerate(utilities):
        u = np.broadcast_to(np.asarray(fn(grid), dtype=float), grid.shape)
        rows.append(u if transform is None else transform(u, i))
    values = np.array(rows, dtype=float).reshape(len(rows), grid.size)
    slopes = np.diff(values, axis=1) / np.diff(grid)
    scale = np.maximum(np.abs(slopes).max(axis=1, initial=0.0), 1e-300)
    rises = np.diff(slopes, axis=1) > CONCAVITY_TOL * scale[:, None]
    return Tabulated(grid, values, ~rises.any(axis=1))


def _order(tab: Tabulated, members: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of ``members`` by decreasing slope: (owner, width, slope), cached per group."""
    key = members.tobytes()
    cached = tab._orders.get(key)
    if cached is None:
        slopes = tab.slopes[members].ravel()
        owner = np.repeat(np.arange(members.size), tab.grid.size - 1)
        widths = np.tile(np.diff(tab.grid), members.size)
        keep = slopes > 0.0
        order = np.argsort(-slopes[keep], kind="stable")
        cached = (owner[keep][order], widths[keep][order], slopes[keep][order])
        tab._orders[key] = cached
    return cached


def waterfill(tab: Tabulated, members: np.ndarray, budget: float, kappa: float) -> np.ndarray:
    """Raw bandwidth per member maximising sum_i phi_i(kappa * b_i) under ``sum b <= budget``.

    Exact on the tabulated (piecewise-linear, concave) curves. Budget left once every curve is
    flat (or at the grid's end) is split equally, which changes no tabulated utility.
    """
    m = np.asarray(members, dtype=np.int64)
    out = np.zeros(m.size)
    if m.size == 0 or budget <= 0.0:
        return out
    if kappa <= 0.0:
        return np.full(m.size, budget / m.size)
    owner, widths, _ = _order(tab, m)
    raw = widths / kappa
    cum = np.cumsum(raw)
    full = int(np.searchsorted(cum, budget, side="right"))
    out += np.bincount(owner[:full], weights=raw[:full], minlength=m.size)
    spent = float(cum[full - 1]) if full else 0.0
    if full < owner.size:
        out[owner[full]] += budget - spent
    else:
        out += (budget - spent) / m.size
    return out
