"""Best-response dynamics, whatever the game: rounds of best responses until the Nash gap is
within epsilon (seed 000 Sec. III.D.2 "iterative best response"), sequential (players in turn,
fixed or shuffled order) or damped simultaneous, with the trajectory recorded round by round.

Used by the slicing game (:func:`policies.slicing.game.run_dynamics`) and by proportional-share
bidding (:func:`policies.slicing.kelly.run_kelly`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.params import SlicingParams


@dataclass(frozen=True, slots=True, eq=False)
class RoundRecord:
    """State after one round (round 0: the start)."""

    round: int
    profile: np.ndarray
    potential: float
    nash_gap: float


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """Best-response dynamics, round by round; ``converged`` when the last gap <= epsilon."""

    rounds: tuple[RoundRecord, ...]
    converged: bool

    @property
    def final_profile(self) -> np.ndarray:
        return self.rounds[-1].profile

    def to_dict(self) -> dict[str, Any]:
        """Columns for a Parquet/JSON table, one row per round (a NaN potential as None)."""
        return {
            "round": [r.round for r in self.rounds],
            "potential": [r.potential if np.isfinite(r.potential) else None for r in self.rounds],
            "nash_gap": [r.nash_gap for r in self.rounds],
            "profile": [r.profile.tolist() for r in self.rounds],
            "converged": self.converged,
        }


def iterate_best_responses(
    respond: Callable[[int, np.ndarray], np.ndarray],
    gap: Callable[[np.ndarray], float],
    potential_of: Callable[[np.ndarray], float],
    start: np.ndarray,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    damping: float | None = None,
) -> Trajectory:
    """Run best-response rounds until the Nash gap is <= epsilon or max_rounds are spent.

    Args:
        respond: respond(i, x) is player i's best response to profile x.
        gap: Nash gap of a profile; potential_of: potential (NaN when there is none).
        start: initial profile, shape (n, ...).
        params: dynamics, player_order, epsilon, max_rounds, damping.
        rng: draws the player order when params.player_order == "shuffled".
        damping: overrides params.damping (simultaneous dynamics).
    """
    if params.player_order == "shuffled" and rng is None:
        raise ValueError("player_order='shuffled' needs a numpy Generator")
    eta = params.damping if damping is None else damping
    x = np.array(start, dtype=float)
    n = x.shape[0]
    rounds = [RoundRecord(0, x.copy(), potential_of(x), gap(x))]
    while rounds[-1].nash_gap > params.epsilon and len(rounds) <= params.max_rounds:
        if params.dynamics == "sequential":
            order = (
                rng.permutation(n)
                if rng is not None and params.player_order == "shuffled"
                else range(n)
            )
            for i in order:
                x[i] = respond(int(i), x)
        else:
            responses = np.stack([respond(i, x) for i in range(n)])
            x = (1.0 - eta) * x + eta * responses
        rounds.append(RoundRecord(len(rounds), x.copy(), potential_of(x), gap(x)))
    return Trajectory(tuple(rounds), rounds[-1].nash_gap <= params.epsilon)
