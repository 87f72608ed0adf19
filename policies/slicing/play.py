"""The best-response game of one slice window, whoever plays it (seed 000 Sec. III.D.2).

One place says, per mechanism, what a player's reply is and which resumable dynamics run:

* :func:`best_reply`: a player's exact best response to a profile and the utility it gains by
  it — what a level-two player agent computes on a STRATEGY message, and what a direct call
  computes;
* :func:`steps_for`: the step generator of the mechanism (``game.game_steps`` or
  ``kelly.kelly_steps``, both ``dynamics.best_response_steps``);
* :func:`play`: the dynamics answered by :func:`best_reply` in-process (what
  :func:`policies.slicing.decide_slices` runs; the agents run the same steps over messages);
* :func:`conclude`: the certificate of the final profile on exactly the game played, and the
  slices it grants.
"""

from __future__ import annotations

import numpy as np

from policies.slicing.abstraction import feasible_slices
from policies.slicing.certificates import EquilibriumCertificate, certify_game, certify_kelly
from policies.slicing.dynamics import StepGenerator, Trajectory, drive
from policies.slicing.game import SlicingGame, best_response, game_steps, utility
from policies.slicing.kelly import kelly_best_response, kelly_shares, kelly_steps, kelly_utility
from policies.slicing.params import SlicingParams

GAME_MECHANISMS = ("game", "kelly")


def best_reply(
    game: SlicingGame, i: int, profile: np.ndarray, mechanism: str, reserve_bid: float
) -> tuple[np.ndarray, float]:
    """(player i's exact best response to ``profile``, its utility gain by moving there)."""
    profile = np.asarray(profile, dtype=float)
    if mechanism == "kelly":
        br = kelly_best_response(game, i, profile, reserve_bid)

        def value(x: np.ndarray) -> float:
            return kelly_utility(game, i, x, reserve_bid)
    else:
        br = best_response(game, i, profile)

        def value(x: np.ndarray) -> float:
            return utility(game, i, x)

    moved = profile.copy()
    moved[i] = br
    return br, max(value(moved) - value(profile), 0.0)


def steps_for(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> StepGenerator:
    """The resumable best-response dynamics of ``params.mechanism`` ("game" or "kelly")."""
    if params.mechanism == "kelly":
        return kelly_steps(game, params, rng, start)
    if params.mechanism != "game":
        raise ValueError(f"mechanism {params.mechanism!r} has no best-response dynamics")
    return game_steps(game, params, rng, start)


def play(
    game: SlicingGame,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> Trajectory:
    """The mechanism's dynamics, every step answered in-process by :func:`best_reply`."""
    mech, reserve = params.mechanism, params.kelly_reserve_bid
    return drive(
        steps_for(game, params, rng, start),
        lambda i, x: best_reply(game, i, x, mech, reserve)[0],
    )


def conclude(
    game: SlicingGame, profile: np.ndarray, params: SlicingParams
) -> tuple[EquilibriumCertificate, np.ndarray]:
    """(certificate of ``profile`` on exactly ``game``, the slices it grants).

    game: the reservations scaled into capacity (``feasible_slices``); kelly: each pool split
    in proportion to the bids (``kelly_shares``).
    """
    if params.mechanism == "kelly":
        reserve = params.kelly_reserve_bid
        return certify_kelly(game, profile, reserve), kelly_shares(game, profile, reserve)
    return certify_game(game, profile), feasible_slices(profile, game.capacities)
