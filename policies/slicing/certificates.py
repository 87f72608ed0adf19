"""Equilibrium certificates of a slicing outcome (seed 000, Sec. III.D.2; notes/equilibria.md).

For a profile of the slicing game (or a bid profile of proportional share) this computes each
player's regret by an exact best response (concave curves) or by a refined grid with a
Lipschitz upper bound (the non-concave sigmoid), the Nash gap (max regret) and NashConv (sum of
regrets; not OpenSpiel's "exploitability"), the potential, the social welfare of the slices
actually granted, the centralised optimum of the same problem and the efficiency ratio
welfare / optimum that the project reports as the price of anarchy (<= 1; 1 is efficient).

Regret feasibility: the strategy box in the congestion game and in bids; in the
capacity-coupled game the capacity left by the others (generalised-Nash regret).
Welfare: W(x) = sum_i w_i G_i(x_i), payments excluded (``optimum`` module docstring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.abstraction import feasible_slices, is_concave
from policies.slicing.game import SlicingGame, player_regret, potential
from policies.slicing.kelly import eligible_bidders, kelly_player_regret, kelly_shares
from policies.slicing.optimum import centralised_optimum, social_welfare


@dataclass(frozen=True, slots=True, eq=False)
class EquilibriumCertificate:
    """How close a profile is to equilibrium and to the optimum.

    Attributes:
        mechanism: "game:<variant>" or "kelly".
        regrets: per-player regret found (exact for concave curves; else a lower bound).
        regret_upper: per-player certified upper bound (Frank-Wolfe gap or grid + Lipschitz).
        nash_gap, nash_gap_upper: max of the two above; nash_conv: sum of ``regrets``.
        regret_method: "exact-best-response" or "grid-lipschitz".
        feasible_set: what a deviation may choose ("box", "capacity-left-by-others", "bids").
        potential: the game's exact potential (NaN for proportional share).
        welfare: W of the granted slices; optimum_welfare: W at the centralised optimum.
        optimum_method: "water-filling" (exact) or "grid-dp" (lower bound).
        price_of_anarchy: welfare / optimum_welfare (1 when both are 0; NaN if only the
            optimum is, which a grid-DP lower bound of a sigmoid optimum could cause).
        capacity_violation: max_p (load_p - C_p) / C_p of the profile before the operator
            scales it, 0 when within capacity.
    """

    mechanism: str
    regrets: np.ndarray
    regret_upper: np.ndarray
    nash_gap: float
    nash_gap_upper: float
    nash_conv: float
    regret_method: str
    feasible_set: str
    potential: float
    welfare: float
    optimum_welfare: float
    optimum_method: str
    price_of_anarchy: float
    capacity_violation: float

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON/Parquet-ready record: arrays as lists, undefined numbers (NaN) as None."""
        out: dict[str, Any] = {}
        for name in self.__slots__:  # type: ignore[attr-defined]
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, float) and not np.isfinite(value):
                value = None
            out[name] = value
        return out


def _ratio(welfare: float, optimum: float) -> float:
    if optimum <= 0.0:
        return 1.0 if welfare <= 0.0 else float("nan")
    return welfare / optimum


def _violation(load: np.ndarray, capacities: np.ndarray) -> float:
    over = (load - capacities) / np.where(capacities > 0, capacities, 1.0)
    return float(max(np.max(over, initial=0.0), 0.0))


def _certificate(
    game: SlicingGame,
    mechanism: str,
    regrets: list[tuple[float, float]],
    feasible_set: str,
    phi: float,
    slices: np.ndarray,
    load: np.ndarray,
) -> EquilibriumCertificate:
    found = np.array([r[0] for r in regrets])
    upper = np.array([r[1] for r in regrets])
    welfare = social_welfare(
        game.weights, game.gain_scale, game.demand_scale, slices, game.curve, game.steepness
    )
    opt = centralised_optimum(
        game.weights,
        game.gain_scale,
        game.demand_scale,
        game.caps,
        game.capacities,
        game.curve,
        game.steepness,
        game.grid_points,
    )
    return EquilibriumCertificate(
        mechanism=mechanism,
        regrets=found,
        regret_upper=upper,
        nash_gap=float(found.max(initial=0.0)),
        nash_gap_upper=float(upper.max(initial=0.0)),
        nash_conv=float(found.sum()),
        regret_method="exact-best-response" if is_concave(game.curve) else "grid-lipschitz",
        feasible_set=feasible_set,
        potential=phi,
        welfare=welfare,
        optimum_welfare=opt.welfare,
        optimum_method=opt.method,
        price_of_anarchy=_ratio(welfare, opt.welfare),
        capacity_violation=_violation(load, game.capacities),
    )


def certify_game(game: SlicingGame, profile: np.ndarray) -> EquilibriumCertificate:
    """Certificate of a reservation profile (n, P) of the slicing game."""
    profile = np.asarray(profile, dtype=float)
    regrets = [player_regret(game, i, profile) for i in range(game.n_players)]
    coupled = game.variant == "capacity-coupled"
    return _certificate(
        game,
        f"game:{game.variant}",
        regrets,
        "capacity-left-by-others" if coupled else "box",
        potential(game, profile),
        feasible_slices(profile, game.capacities),
        profile.sum(axis=0),
    )


def certify_kelly(
    game: SlicingGame, bids: np.ndarray, reserve: float = 1e-9
) -> EquilibriumCertificate:
    """Certificate of a bid profile (n, P) of proportional share on the game's pools.

    The optimum is taken over the pools a group is eligible for, up to the whole pool.
    """
    bids = np.asarray(bids, dtype=float)
    regrets = [kelly_player_regret(game, i, bids, reserve) for i in range(game.n_players)]
    shares = kelly_shares(game, bids, reserve)
    caps = np.where(eligible_bidders(game), game.capacities[None, :], 0.0)
    market = SlicingGame(
        game.weights,
        game.gain_scale,
        game.demand_scale,
        caps,
        game.capacities,
        game.prices,
        game.variant,
        game.curve,
        game.steepness,
        game.grid_points,
    )
    return _certificate(market, "kelly", regrets, "bids", float("nan"), shares, shares.sum(axis=0))
