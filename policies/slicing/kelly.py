"""Proportional-share (Kelly) slicing: groups bid, pools are shared in proportion to bids.

Seed 000, Sec. III.D.2 names game-based slice adjustment; this is its market form (Kelly 1997;
Johari & Tsitsiklis 2004; the share-constrained proportional allocation of Caballero et al.,
"Network Slicing Games", IEEE/ACM ToN 2019). Each pool p is a separate market: group i bids
b_ip >= 0 and receives

    x_ip = C_p b_ip / (sum_j b_jp + r),

where r > 0 is a tiny reserve bid of the operator (so a lone bidder's best response exists;
``SlicingParams.kelly_reserve_bid``). Group i's payoff is u_i = sum_p (w_i A_ip g(x_ip / D_ip)
- b_ip), the same gain curves as the slicing game. Given the others' bids B = sum_{j != i} b_jp
+ r, x_ip = C b / (b + B) is concave increasing in b, so for concave g the payoff is concave in
the bid and the best response is the root of

    h'(b) = (w_i A_ip / D_ip) g'(x / D_ip) C B / (b + B)^2 - 1,

found by brentq on [0, b_hi], b_hi = max(sqrt(w_i A_ip sup g' C B / D_ip) - B, 0), beyond which
h' < 0. With concave utilities the equilibrium is unique and loses at most 25 % of the optimal
welfare (Johari & Tsitsiklis 2004). Symmetric closed form (n equal players, r -> 0): every
player bids b* = (w A / D) g'(C / (n D)) C (n - 1) / n^2 (:func:`symmetric_kelly_bid`).
"""

from __future__ import annotations

import numpy as np

from policies.slicing.abstraction import gain_curve, gain_slope, gain_slope_sup, is_concave
from policies.slicing.dynamics import StepGenerator, Trajectory, best_response_steps, drive
from policies.slicing.game import SlicingGame
from policies.slicing.optimum import Payoff, ScalarMax, maximise_scalar
from policies.slicing.params import SlicingParams, dynamics_of


def eligible_bidders(game: SlicingGame) -> np.ndarray:
    """(n, P) mask of bids that buy something: the group uses the pool and the pool exists."""
    return (game.caps > 0.0) & (game.amplitude > 0.0) & (game.capacities[None, :] > 0.0)


def kelly_shares(game: SlicingGame, bids: np.ndarray, reserve: float = 1e-9) -> np.ndarray:
    """Resource shares x_ip = C_p b_ip / (sum_j b_jp + r); ineligible bids buy nothing."""
    bids = np.where(eligible_bidders(game), np.asarray(bids, dtype=float), 0.0)
    total = bids.sum(axis=0) + reserve
    return np.where(total > 0, game.capacities * bids / np.where(total > 0, total, 1.0), 0.0)


def kelly_utility(game: SlicingGame, i: int, bids: np.ndarray, reserve: float = 1e-9) -> float:
    """u_i = sum_p w_i A_ip g(x_ip / D_ip) - b_ip at the bid profile (n, P)."""
    x = kelly_shares(game, bids, reserve)[i]
    gain = game.amplitude[i] * gain_curve(game.curve, x / game.demand_scale[i], game.steepness)
    return float(np.sum(gain) - np.sum(np.asarray(bids, dtype=float)[i]))


def _bid_problem(game: SlicingGame, i: int, p: int, others: float) -> Payoff:
    """Player i's payoff from its bid in pool p, the others' bids plus reserve being ``others``."""
    amp, d, cap = float(game.amplitude[i, p]), float(game.demand_scale[i, p]), game.capacities[p]
    curve, s = game.curve, game.steepness
    sup = gain_slope_sup(curve, s)

    def gain(b: np.ndarray) -> np.ndarray:
        return amp * gain_curve(curve, cap * b / (b + others) / d, s)

    def gain_rate(b: np.ndarray) -> np.ndarray:
        x = cap * b / (b + others)
        return amp / d * gain_slope(curve, x / d, s) * cap * others / (b + others) ** 2

    def lipschitz(b: np.ndarray) -> np.ndarray:
        # h' = (gain rate) - 1 and the share's rate falls with b: bound it at the left end.
        return np.maximum(amp / d * sup * cap * others / (b + others) ** 2, 1.0)

    upper = max(float(np.sqrt(amp * sup * cap * others / d)) - others, 0.0)
    return Payoff(gain, gain_rate, lambda b: b, lambda b: 1.0 + 0.0 * b, upper, lipschitz)


def _share_grid(others: float, capacity: float, upper: float, points: int) -> np.ndarray:
    """Bids whose shares C b / (b + B) are evenly spaced up to the share of ``upper``.

    Payoffs vary on the scale of the share, not of the bid (a lone bidder's B is the tiny
    reserve), so an even share grid keeps the cells of the upper bound small.
    """
    top = capacity * upper / (upper + others)
    shares = np.linspace(0.0, top, points)
    bids = others * shares / np.maximum(capacity - shares, 1e-300)
    bids[-1] = upper
    return np.maximum.accumulate(bids)


def _bid_payoffs(
    game: SlicingGame, i: int, bids: np.ndarray, reserve: float
) -> list[tuple[int, float, Payoff]]:
    """(pool, others' bids + reserve, payoff) for each pool player i may bid in."""
    if reserve <= 0.0:
        raise ValueError("proportional share needs a positive reserve bid")
    eligible = eligible_bidders(game)
    bids = np.where(eligible, np.asarray(bids, dtype=float), 0.0)
    others = bids.sum(axis=0) - bids[i] + reserve
    return [
        (p, float(others[p]), _bid_problem(game, i, p, float(others[p])))
        for p in range(game.n_pools)
        if eligible[i, p]
    ]


def _best_bid(game: SlicingGame, p: int, others: float, f: Payoff) -> ScalarMax:
    grid = _share_grid(others, float(game.capacities[p]), f.upper, game.grid_points)
    return maximise_scalar(f, is_concave(game.curve), game.grid_points, grid)


def kelly_best_response(
    game: SlicingGame, i: int, bids: np.ndarray, reserve: float = 1e-9
) -> np.ndarray:
    """Player i's exact best bid vector against the others' bids (row i is not read)."""
    out = np.zeros(game.n_pools)
    for p, others, f in _bid_payoffs(game, i, bids, reserve):
        out[p] = _best_bid(game, p, others, f).argmax
    return out


def kelly_player_regret(
    game: SlicingGame, i: int, bids: np.ndarray, reserve: float = 1e-9
) -> tuple[float, float]:
    """(regret found, certified upper bound) of player i over its bids (exact when concave)."""
    found = upper = 0.0
    for p, others, f in _bid_payoffs(game, i, bids, reserve):
        best = _best_bid(game, p, others, f)
        now = float(f(np.array(float(bids[i, p]))))
        found += max(best.value - now, 0.0)
        upper += max(best.upper_bound - now, 0.0)
    return found, max(found, upper)


def kelly_regrets(game: SlicingGame, bids: np.ndarray, reserve: float = 1e-9) -> np.ndarray:
    """Each bidder's regret at the bid profile."""
    return np.array(
        [kelly_player_regret(game, i, bids, reserve)[0] for i in range(game.n_players)]
    )


def kelly_nash_gap(game: SlicingGame, bids: np.ndarray, reserve: float = 1e-9) -> float:
    """Largest regret over players at the bid profile."""
    return max(
        (kelly_player_regret(game, i, bids, reserve)[0] for i in range(game.n_players)), default=0.0
    )


def kelly_steps(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> StepGenerator:
    """The resumable best-response dynamics in bids (no potential: recorded as NaN), from
    ``start`` (default: zero bids), ``dynamics="auto"`` resolved (``dynamics_of``)."""
    r = params.kelly_reserve_bid
    b0 = np.zeros((game.n_players, game.n_pools)) if start is None else start
    return best_response_steps(
        lambda b: kelly_regrets(game, b, r), lambda b: float("nan"), b0, dynamics_of(params), rng
    )


def run_kelly(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> Trajectory:
    """Best-response dynamics in bids, every reply ``kelly_best_response``."""
    r = params.kelly_reserve_bid
    return drive(
        kelly_steps(game, params, rng, start), lambda i, b: kelly_best_response(game, i, b, r)
    )


def symmetric_kelly_bid(
    n: int,
    amplitude: float,
    scale: float,
    capacity: float,
    curve: str = "log",
    steepness: float = 6.0,
) -> float:
    """Equilibrium bid of n identical players, payoff amplitude g(x / scale) - b (r -> 0).

    From the first-order condition at x = C / n, B = (n - 1) b: b* = (amplitude / scale)
    g'(C / (n scale)) C (n - 1) / n^2. An equilibrium for concave curves.
    """
    slope = (
        amplitude / scale * float(gain_slope(curve, np.array(capacity / (n * scale)), steepness))
    )
    return slope * capacity * (n - 1) / n**2
