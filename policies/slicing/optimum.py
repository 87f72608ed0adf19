"""Exact scalar maximisation and the centralised slicing optimum (seed 000, Sec. III.D and IV).

The slicing utilities are separable across resource pools, so every best response reduces to
scalar problems on an interval, solved here exactly: by the root of the derivative when the
objective is concave, and by a grid refined with root finding otherwise, with a certified
Lipschitz upper bound (notes/equilibria.md, "Certificates").

Welfare. The social welfare of slices x is W(x) = sum_i w_i G_i(x_i) = sum_i sum_p w_i A_ip
g(x_ip / D_ip): the weighted QoE gain. Prices and bids are transfers between tenants and the
operator and cancel in social welfare (the convention of Johari & Tsitsiklis 2004). The
centralised optimum maximises W subject to sum_i x_ip <= C_p and 0 <= x_ip <= cap_ip. For the
concave families it is computed exactly by water-filling (a KKT multiplier per pool found by
root finding; the seed's Sec. IV "convex optimisation problem"); for the sigmoid family by a
dynamic programme over a grid of each pool, the best grid allocation (a lower bound).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from policies.slicing.abstraction import gain_curve, gain_slope, is_concave

ScalarFn = Callable[[np.ndarray], np.ndarray]


def brentq(f: Callable[[float], float], a: float, b: float, **kwargs: float) -> float:
    """``scipy.optimize.brentq``, imported on first use (config validation must not load scipy)."""
    from scipy.optimize import brentq as scipy_brentq

    return scipy_brentq(f, a, b, **kwargs)


@dataclass(frozen=True, slots=True)
class ScalarMax:
    """Maximum of a scalar function on [0, upper].

    Attributes:
        argmax: the maximiser found.
        value: f(argmax), a lower bound on the maximum (exact for concave f).
        upper_bound: a certified upper bound on the maximum.
    """

    argmax: float
    value: float
    upper_bound: float


@dataclass(frozen=True, slots=True)
class Payoff:
    """A payoff f(t) = gain(t) - cost(t) on [0, upper], gain and cost non-decreasing.

    Attributes:
        gain, gain_slope, cost, cost_slope: the two parts and their derivatives, vectorised.
        upper: right end of the interval (clipped at 0).
        lipschitz: bound on |f'| over the interval, or a function of the cells' left ends
            giving a bound per cell.
    """

    gain: ScalarFn
    gain_slope: ScalarFn
    cost: ScalarFn
    cost_slope: ScalarFn
    upper: float
    lipschitz: float | ScalarFn = np.inf

    def __call__(self, t: np.ndarray) -> np.ndarray:
        return self.gain(t) - self.cost(t)

    def slope(self, t: np.ndarray) -> np.ndarray:
        """f'(t)."""
        return self.gain_slope(t) - self.cost_slope(t)


def maximise_scalar(
    f: Payoff, concave: bool, grid_points: int = 513, grid: np.ndarray | None = None
) -> ScalarMax:
    """Maximise f on [0, f.upper].

    Concave f: the root of f' (brentq), or an end point where f' keeps its sign. Otherwise:
    the best of a grid (uniform unless given) and of every local maximum bracketed by a sign
    change of f' between grid points (refined by brentq). Upper bound on a cell [t_j, t_j+1]
    of width h: the smaller of the Lipschitz bound (f_j + f_j+1 + L_j h) / 2 (where the two
    Lipschitz cones meet) and the monotone bound gain(t_j+1) - cost(t_j).

    Args:
        f: the payoff.
        concave: whether f is concave on the interval.
        grid_points: grid size of the non-concave case.
        grid: increasing points from 0 to upper replacing the uniform grid (non-concave case).
    """
    upper = max(float(f.upper), 0.0)
    if upper == 0.0:
        v = float(f(np.array(0.0)))
        return ScalarMax(0.0, v, v)
    if concave:
        t = _concave_argmax(f.slope, upper)
        v = float(f(np.array(t)))
        return ScalarMax(t, v, v)
    grid = np.linspace(0.0, upper, grid_points) if grid is None else np.asarray(grid, float)
    values, slopes = f(grid), f.slope(grid)
    best = int(np.argmax(values))
    arg, val = float(grid[best]), float(values[best])
    for j in np.flatnonzero((slopes[:-1] > 0.0) & (slopes[1:] < 0.0)):
        t = brentq(lambda s: float(f.slope(np.array(s))), grid[j], grid[j + 1], xtol=1e-14)
        v = float(f(np.array(t)))
        if v > val:
            arg, val = float(t), v
    lips = f.lipschitz(grid[:-1]) if callable(f.lipschitz) else f.lipschitz
    cones = (values[:-1] + values[1:] + lips * np.diff(grid)) / 2.0
    monotone = f.gain(grid[1:]) - f.cost(grid[:-1])
    cells = np.maximum(np.minimum(cones, monotone), np.maximum(values[:-1], values[1:]))
    return ScalarMax(arg, val, max(float(np.max(cells)), val))


def _concave_argmax(df: ScalarFn, upper: float) -> float:
    if float(df(np.array(0.0))) <= 0.0:
        return 0.0
    if float(df(np.array(upper))) >= 0.0:
        return upper
    return float(brentq(lambda s: float(df(np.array(s))), 0.0, upper, xtol=1e-14, rtol=1e-15))


# --- welfare and the centralised optimum ------------------------------------------------------


def social_welfare(
    weights: np.ndarray,
    gain_scale: np.ndarray,
    demand_scale: np.ndarray,
    slices: np.ndarray,
    curve: str,
    steepness: float = 6.0,
) -> float:
    """W(x) = sum_i w_i sum_p A_ip g(x_ip / D_ip): weighted QoE gain of the slices."""
    amp = np.asarray(weights, dtype=float)[:, None] * gain_scale
    return float(np.sum(amp * gain_curve(curve, slices / demand_scale, steepness)))


@dataclass(frozen=True, slots=True, eq=False)
class Optimum:
    """Centralised optimum: slices, their welfare, and how it was computed."""

    slices: np.ndarray
    welfare: float
    method: str


def centralised_optimum(
    weights: np.ndarray,
    gain_scale: np.ndarray,
    demand_scale: np.ndarray,
    caps: np.ndarray,
    capacities: np.ndarray,
    curve: str,
    steepness: float = 6.0,
    grid_points: int = 513,
) -> Optimum:
    """Maximise W(x) s.t. sum_i x_ip <= C_p, 0 <= x_ip <= cap_ip, pool by pool.

    Returns:
        Water-filling optimum ("water-filling", exact) for concave curves, else the best
        allocation on a grid of grid_points per pool ("grid-dp", a lower bound).
    """
    amp = np.asarray(weights, dtype=float)[:, None] * gain_scale
    slices = np.zeros_like(amp)
    for p in range(amp.shape[1]):
        if is_concave(curve):
            slices[:, p] = water_filling(
                amp[:, p], demand_scale[:, p], caps[:, p], capacities[p], curve
            )
        else:
            slices[:, p] = _grid_dp(
                amp[:, p],
                demand_scale[:, p],
                caps[:, p],
                capacities[p],
                curve,
                steepness,
                grid_points,
            )
    method = "water-filling" if is_concave(curve) else "grid-dp"
    welfare = social_welfare(weights, gain_scale, demand_scale, slices, curve, steepness)
    return Optimum(slices, welfare, method)


def water_filling(
    amp: np.ndarray, scale: np.ndarray, caps: np.ndarray, capacity: float, curve: str
) -> np.ndarray:
    """Maximise sum_i amp_i g(x_i / scale_i) s.t. sum x_i <= capacity, 0 <= x_i <= caps_i.

    KKT: x_i(lam) = clip((g')^-1(lam scale_i / amp_i) scale_i, 0, cap_i) with the multiplier lam
    solving sum_i x_i(lam) = capacity (or lam = 0 when all caps fit). Concave curves only.
    """
    active = (amp > 0.0) & (caps > 0.0)
    if capacity <= 0.0:
        return np.zeros_like(amp, dtype=float)
    if caps[active].sum() <= capacity:
        return np.where(active, caps, 0.0)

    def alloc(lam: float) -> np.ndarray:
        ratio = np.where(active, amp / (lam * scale), 1.0)
        # (g')^-1 (1/ratio): log: ratio - 1; saturating: log(ratio).
        u = ratio - 1.0 if curve == "log" else np.log(np.maximum(ratio, 1e-300))
        return np.where(active, np.clip(u * scale, 0.0, caps), 0.0)

    marg0 = amp[active] / scale[active]
    marg_cap = marg0 * gain_slope(curve, caps[active] / scale[active])
    lo, hi = np.log(max(marg_cap.min(), 1e-300)), np.log(marg0.max())
    log_lam = brentq(lambda s: float(alloc(np.exp(s)).sum() - capacity), lo, hi, xtol=1e-15)
    x = alloc(float(np.exp(log_lam)))
    return x * min(1.0, capacity / x.sum()) if x.sum() > 0 else x


def _grid_dp(
    amp: np.ndarray,
    scale: np.ndarray,
    caps: np.ndarray,
    capacity: float,
    curve: str,
    steepness: float,
    grid_points: int,
) -> np.ndarray:
    """Best allocation of grid units of size capacity / (M - 1): a knapsack DP."""
    m = grid_points
    step = capacity / (m - 1)
    units = np.arange(m)
    value = np.zeros(m)  # best welfare of the players so far using at most u units
    choice = np.zeros((len(amp), m), dtype=int)
    take = units[:, None] - units[None, :]  # rows: units used, cols: units given to player
    for i in range(len(amp)):
        gain = amp[i] * gain_curve(curve, units * step / scale[i], steepness)
        gain = np.where(units * step <= caps[i] * (1 + 1e-12), gain, -np.inf)
        table = np.where(take >= 0, value[np.clip(take, 0, None)] + gain[None, :], -np.inf)
        choice[i] = np.argmax(table, axis=1)
        value = table[units, choice[i]]
    x, left = np.zeros(len(amp)), m - 1
    for i in reversed(range(len(amp))):
        x[i] = choice[i, left] * step
        left -= choice[i, left]
    return x
