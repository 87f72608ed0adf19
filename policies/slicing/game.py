"""Game-based slice adjustment by best-response dynamics (seed 000, Sec. III.D.2).

Players are the user groups of the demand abstraction; player i's strategy is its reservation
x_i = (x_i1, ..., x_iP) over the resource pools (communication per base station, computing;
caching and sensing when present), in the box 0 <= x_ip <= cap_ip (cap_ip = 0 where group i
cannot use pool p). Utility = QoE improvement minus the price of the reserved resources:

    u_i(x) = w_i G_i(x_i) - sum_p price_ip(x),   G_i(x_i) = sum_p A_ip g(x_ip / D_ip),

with g a concave (log, saturating) or sigmoid gain curve (see ``abstraction``). Two variants:

* "congestion-potential": price_ip = p_p(x) x_ip with the congestion price
  p_p(x) = c_p S_p / C_p, S_p = sum_j x_jp. This is an exact potential game with

      Phi(x) = sum_i w_i G_i(x_i) - sum_p c_p / (2 C_p) (S_p^2 + sum_i x_ip^2).

  Proof: d Phi / d x_ip = w_i G_i'(x_ip) - (c_p / C_p)(S_p + x_ip) = d u_i / d x_ip, and
  u_i - Phi = sum_{j != i} (-w_j G_j) + sum_p c_p / (2 C_p)(R_ip^2 + sum_{j != i} x_jp^2) with
  R_ip = S_p - x_ip does not depend on x_i. Cross-partials: d^2 u_i / d x_ip d x_jp =
  -c_p / C_p = d^2 u_j / d x_jp d x_ip for j != i (and 0 across pools): symmetric, as an exact
  potential requires (Monderer & Shapley 1996). Capacity is not a constraint here; the price
  keeps demand within it (``SlicingParams.price_rule`` sets a price that guarantees it).
* "capacity-coupled": price_ip = c_p x_ip (fixed unit prices) and player i's feasible set is
  x_ip <= C_p - sum_{j != i} x_jp: a generalised Nash game with shared constraints. Its
  utilities depend on the player's own strategy only, so Phi = sum_i u_i is an exact
  (generalised) potential (Facchinei, Piccialli & Sciandrone 2011); it is not an ordinary
  potential game, and its equilibria (GNE) are many.

Sequential (Gauss-Seidel) exact best response never lowers Phi in either variant. Best
responses are exact: scalar root finding of the concave per-pool problems (or a refined grid
with a Lipschitz bound for the sigmoid). A Mesa agent can compute its own best response from
the others' last announced strategies with :func:`best_response` and :func:`utility`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.abstraction import (
    DemandDistribution,
    gain_curve,
    gain_slope,
    gain_slope_sup,
    is_concave,
)
from policies.slicing.dynamics import StepGenerator, Trajectory, best_response_steps, drive
from policies.slicing.optimum import Payoff, ScalarMax, maximise_scalar
from policies.slicing.params import GAIN_CURVES, GAME_VARIANTS, SlicingParams, dynamics_of

_ARRAYS = ("weights", "gain_scale", "demand_scale", "caps", "capacities", "prices")


@dataclass(frozen=True, slots=True, eq=False)
class SlicingGame:
    """The slicing game, from plain arrays (n players, P pools).

    Attributes:
        weights: w_i >= 0, shape (n,).
        gain_scale: A_ip >= 0, shape (n, P).
        demand_scale: D_ip > 0, shape (n, P).
        caps: upper bounds cap_ip >= 0 of the strategy box, shape (n, P).
        capacities: C_p >= 0, shape (P,).
        prices: c_p >= 0, shape (P,).
        variant: "congestion-potential" or "capacity-coupled".
        curve: gain curve family; steepness: its sigmoid steepness.
        grid_points: grid of non-concave best responses.
    """

    weights: np.ndarray
    gain_scale: np.ndarray
    demand_scale: np.ndarray
    caps: np.ndarray
    capacities: np.ndarray
    prices: np.ndarray
    variant: str = "congestion-potential"
    curve: str = "log"
    steepness: float = 6.0
    grid_points: int = 513

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            object.__setattr__(self, name, np.array(getattr(self, name), dtype=float))
        n, npool = self.weights.size, self.capacities.size
        for name in ("gain_scale", "demand_scale", "caps"):
            if getattr(self, name).size == 0 == n * npool:  # JSON drops an empty array's shape
                object.__setattr__(self, name, getattr(self, name).reshape(n, npool))
        shapes = {
            "weights": (n,),
            "gain_scale": (n, npool),
            "demand_scale": (n, npool),
            "caps": (n, npool),
            "capacities": (npool,),
            "prices": (npool,),
        }
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(self, name).shape}, not {shape}")
        for name in _ARRAYS:
            if not np.all(np.isfinite(getattr(self, name))) or np.any(getattr(self, name) < 0):
                raise ValueError(f"{name} must be finite and non-negative")
        if np.any(self.demand_scale <= 0):
            raise ValueError("demand_scale must be positive")
        if self.variant not in GAME_VARIANTS or self.curve not in GAIN_CURVES:
            raise ValueError(f"unknown variant {self.variant!r} or curve {self.curve!r}")

    @property
    def n_players(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_pools(self) -> int:
        return int(self.capacities.shape[0])

    @property
    def amplitude(self) -> np.ndarray:
        """w_i A_ip, the weighted gain amplitudes."""
        return self.weights[:, None] * self.gain_scale

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able description; ``from_dict`` rebuilds an identical game."""
        out: dict[str, Any] = {name: getattr(self, name).tolist() for name in _ARRAYS}
        out.update(
            variant=self.variant,
            curve=self.curve,
            steepness=self.steepness,
            grid_points=self.grid_points,
        )
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SlicingGame:
        """Inverse of :meth:`to_dict`."""
        return cls(
            **{key: data[key] for key in (*_ARRAYS, "variant", "curve", "steepness", "grid_points")}
        )


def game_from_distribution(
    dist: DemandDistribution, capacities: np.ndarray, params: SlicingParams
) -> SlicingGame:
    """Build the game of a window from the demand distribution and pool capacities.

    A group may reserve up to a whole pool it is eligible for. Prices start from
    ``params.price_coefficients``; in the congestion variant ``params.price_rule`` may raise them
    so the equilibrium respects capacity:

    * "worst-case": c_p >= max_i w_i A_ip sup g' / D_ip. An active player at an equilibrium
      (or after a best response) has (c_p / C_p)(S_p + x_ip) = w_i G_i' <= c_p, so S_p < C_p.
    * "market-clearing": c_p >= the price whose equilibrium load is C_p
      (:func:`market_clearing_price`).
    """
    capacities = np.asarray(capacities, dtype=float)
    eligible = dist.eligible
    demand_scale = np.where(eligible, dist.demand, 1.0)
    gain_scale = np.where(eligible, dist.gain_scale, 0.0)
    caps = np.where(eligible, capacities[None, :], 0.0)
    prices = np.broadcast_to(np.asarray(params.price_coefficients, float), capacities.shape)
    game = SlicingGame(
        dist.weights,
        gain_scale,
        demand_scale,
        caps,
        capacities,
        prices.copy(),
        params.game_variant,
        params.gain_curve,
        params.sigmoid_steepness,
        params.grid_points,
    )
    if params.game_variant != "congestion-potential" or params.price_rule == "fixed":
        return game
    if params.price_rule == "market-clearing":
        floor = np.array([market_clearing_price(game, p) for p in range(game.n_pools)])
    else:
        slope = game.amplitude / demand_scale * gain_slope_sup(game.curve, game.steepness)
        floor = slope.max(axis=0, initial=0.0)
    return SlicingGame.from_dict({**game.to_dict(), "prices": np.maximum(game.prices, floor)})


def market_clearing_price(game: SlicingGame, p: int, iterations: int = 48) -> float:
    """Congestion coefficient c_p at which the equilibrium load of pool p is C_p.

    At an equilibrium with load S_p = C_p, player i's reservation t_i(k), k = c_p / C_p, meets
    its first-order condition w_i A_ip g'(t / D_ip) / D_ip = k (C_p + t), the stationarity of
    F_i(t) = w_i A_ip g(t / D_ip) - k (C_p t + t^2 / 2) on [0, cap_ip]; t_i is taken as the
    maximiser of F_i. F_i has decreasing differences in (t, k), so t_i(k) is non-increasing
    (Topkis) and bisection on log k finds the smallest price with sum_i t_i(k) <= C_p.

    For concave curves t_i is continuous, the load at the returned price k* equals C_p (to
    the bisection's precision), and at any price k >= k* every equilibrium has S_p <= C_p: if
    S_p > C_p, an active player's condition w_i A_ip g'(x_i / D_ip) / D_ip >= k (S_p + x_i) >
    k (C_p + x_i) says F_i'(x_i) > 0, so x_i <= t_i(k) <= t_i(k*), and summing, S_p <= C_p, a
    contradiction. For the sigmoid this is a heuristic: the operator's admission
    (``feasible_slices``) trims any excess. Returns 0 when the caps together fit the pool.
    """
    amp, d, cap = game.amplitude[:, p], game.demand_scale[:, p], game.caps[:, p]
    capacity, curve, s = float(game.capacities[p]), game.curve, game.steepness
    active = np.flatnonzero((amp > 0) & (cap > 0))
    if capacity <= 0 or cap[active].sum() <= capacity:
        return 0.0

    def load(k: float) -> float:
        return sum(
            _clearing_reservation(float(amp[i]), float(d[i]), float(cap[i]), capacity, k, game)
            for i in active
        )

    # At k_hi, k C_p >= every player's steepest gain slope, so nobody reserves anything.
    hi = float(np.log(np.max(amp[active] / d[active]) * gain_slope_sup(curve, s) / capacity))
    lo = hi - np.log(2.0)
    for _ in range(2000):  # halve until the pool is over-subscribed (t_i -> cap_i as k -> 0)
        if load(np.exp(lo)) > capacity:
            break
        lo -= np.log(2.0)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if load(np.exp(mid)) > capacity else (lo, mid)
    return float(np.exp(hi) * capacity)


def _clearing_reservation(
    amp: float, d: float, cap: float, capacity: float, k: float, game: SlicingGame
) -> float:
    """argmax over [0, cap] of F(t) = amp g(t / d) - k (C t + t^2 / 2)."""
    curve, s = game.curve, game.steepness
    payoff = Payoff(
        lambda t: amp * gain_curve(curve, t / d, s),
        lambda t: amp / d * gain_slope(curve, t / d, s),
        lambda t: k * (capacity * t + t * t / 2),
        lambda t: k * (capacity + t),
        cap,
    )
    return maximise_scalar(payoff, is_concave(curve), game.grid_points).argmax


# --- one player's view ------------------------------------------------------------------------


def _price_slope(game: SlicingGame) -> np.ndarray:
    return game.prices / np.where(game.capacities > 0, game.capacities, np.inf)


def _pool_problem(game: SlicingGame, i: int, p: int, others: float) -> Payoff:
    """Player i's payoff from pool p as a function of its reservation t, given the others'."""
    amp, d = float(game.amplitude[i, p]), float(game.demand_scale[i, p])
    curve, s = game.curve, game.steepness

    def gain(t: np.ndarray) -> np.ndarray:
        return amp * gain_curve(curve, t / d, s)

    def gain_rate(t: np.ndarray) -> np.ndarray:
        return amp / d * gain_slope(curve, t / d, s)

    steepest = amp / d * gain_slope_sup(curve, s)
    if game.variant == "congestion-potential":
        k = float(_price_slope(game)[p])
        upper = float(game.caps[i, p]) if game.capacities[p] > 0 else 0.0
        return Payoff(
            gain,
            gain_rate,
            lambda t: k * (others + t) * t,
            lambda t: k * (others + 2.0 * t),
            upper,
            max(steepest, k * (others + 2.0 * upper)),
        )
    c = float(game.prices[p])
    upper = max(min(float(game.caps[i, p]), float(game.capacities[p]) - others), 0.0)
    return Payoff(gain, gain_rate, lambda t: c * t, lambda t: c + 0.0 * t, upper, max(steepest, c))


def _others_load(profile: np.ndarray, i: int) -> np.ndarray:
    return profile.sum(axis=0) - profile[i]


def utility(game: SlicingGame, i: int, profile: np.ndarray) -> float:
    """u_i(x): player i's weighted QoE gain minus its payment, at the full profile (n, P)."""
    profile = np.asarray(profile, dtype=float)
    gain = float(
        np.sum(
            game.amplitude[i]
            * gain_curve(game.curve, profile[i] / game.demand_scale[i], game.steepness)
        )
    )
    if game.variant == "congestion-potential":
        pay = _price_slope(game) * profile.sum(axis=0) * profile[i]
    else:
        pay = game.prices * profile[i]
    return gain - float(np.sum(pay))


def utility_gradient(game: SlicingGame, i: int, profile: np.ndarray) -> np.ndarray:
    """d u_i / d x_i (analytic), shape (P,)."""
    profile = np.asarray(profile, dtype=float)
    d = game.demand_scale[i]
    grad = game.amplitude[i] / d * gain_slope(game.curve, profile[i] / d, game.steepness)
    if game.variant == "congestion-potential":
        return grad - _price_slope(game) * (profile.sum(axis=0) + profile[i])
    return grad - game.prices


def potential(game: SlicingGame, profile: np.ndarray) -> float:
    """The exact potential Phi(x) of the variant (module docstring)."""
    profile = np.asarray(profile, dtype=float)
    if game.variant == "capacity-coupled":
        return float(sum(utility(game, i, profile) for i in range(game.n_players)))
    gain = np.sum(
        game.amplitude * gain_curve(game.curve, profile / game.demand_scale, game.steepness)
    )
    load = profile.sum(axis=0)
    congestion = _price_slope(game) / 2.0 * (load**2 + np.sum(profile**2, axis=0))
    return float(gain - np.sum(congestion))


def potential_gradient(game: SlicingGame, profile: np.ndarray) -> np.ndarray:
    """d Phi / d x, shape (n, P); equals each player's own utility gradient."""
    return np.stack([utility_gradient(game, i, profile) for i in range(game.n_players)])


def _payoffs(game: SlicingGame, i: int, profile: np.ndarray) -> list[Payoff]:
    others = _others_load(np.asarray(profile, dtype=float), i)
    return [_pool_problem(game, i, p, float(others[p])) for p in range(game.n_pools)]


def pool_maxima(game: SlicingGame, i: int, profile: np.ndarray) -> list[ScalarMax]:
    """Player i's best reservation of each pool given the others' (exact or certified)."""
    concave = is_concave(game.curve)
    return [maximise_scalar(f, concave, game.grid_points) for f in _payoffs(game, i, profile)]


def best_response(game: SlicingGame, i: int, profile: np.ndarray) -> np.ndarray:
    """Player i's exact best reservation vector x_i against the others' strategies in profile.

    Only rows j != i of ``profile`` are read (row i may hold anything).
    """
    return np.array([m.argmax for m in pool_maxima(game, i, profile)])


def player_regret(game: SlicingGame, i: int, profile: np.ndarray) -> tuple[float, float]:
    """(regret found, certified upper bound) of player i at profile.

    Regret = max over i's feasible x_i' of u_i(x_i', x_-i) - u_i(x). Feasible means the box in
    the congestion game and the capacity the others leave in the capacity-coupled game (GNE
    regret). Utilities are separable over pools, so it sums per-pool gaps. For concave curves
    the upper bound is the Frank-Wolfe gap max_y <grad_i u_i, y - x_i> over the feasible box;
    otherwise the grid's Lipschitz / monotone bound.
    """
    concave = is_concave(game.curve)
    found = upper = 0.0
    for f, t in zip(_payoffs(game, i, profile), np.asarray(profile, float)[i], strict=True):
        best = maximise_scalar(f, concave, game.grid_points)
        now = float(f(np.array(t)))
        found += max(best.value - now, 0.0)
        if concave and t <= f.upper:
            slope = float(f.slope(np.array(t)))
            upper += max(slope * (f.upper - t), -slope * t, 0.0)
        else:
            upper += max(best.upper_bound - now, 0.0)
    return found, max(found, upper)


def regrets(game: SlicingGame, profile: np.ndarray) -> np.ndarray:
    """Each player's regret (exact best response; the found value for the sigmoid)."""
    return np.array([player_regret(game, i, profile)[0] for i in range(game.n_players)])


def nash_gap(game: SlicingGame, profile: np.ndarray) -> float:
    """Largest regret over players (an exact-best-response Nash gap)."""
    return max((player_regret(game, i, profile)[0] for i in range(game.n_players)), default=0.0)


# --- best-response dynamics of the game (the loop itself: policies.slicing.dynamics) -----


def game_damping(game: SlicingGame, params: SlicingParams) -> float:
    """eta of damped simultaneous steps: ``params.damping``, at most 1/n in the capacity-coupled
    game — then S' <= (1 - n eta) S + n eta C <= C, so every iterate stays feasible."""
    if game.variant == "capacity-coupled":
        return min(params.damping, 1.0 / max(game.n_players, 1))
    return params.damping


def game_steps(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> StepGenerator:
    """The resumable best-response dynamics of the slicing game (``dynamics.best_response_steps``)
    from ``start`` (default: no reservations), ``dynamics="auto"`` resolved (``dynamics_of``)."""
    x0 = np.zeros((game.n_players, game.n_pools)) if start is None else start
    return best_response_steps(
        lambda x: regrets(game, x),
        lambda x: potential(game, x),
        x0,
        dynamics_of(params),
        rng,
        game_damping(game, params),
    )


def run_dynamics(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> Trajectory:
    """Best-response dynamics of the slicing game, every reply ``best_response``."""
    return drive(game_steps(game, params, rng, start), lambda i, x: best_response(game, i, x))
