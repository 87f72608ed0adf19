"""Best-response dynamics, whatever the game: rounds of best responses until the Nash gap is
within epsilon (seed 000 Sec. III.D.2 "iterative best response"), sequential (players in turn,
fixed or shuffled order) or damped simultaneous, with the trajectory recorded round by round.

One implementation, resumable: :func:`best_response_steps` is a generator that yields one
:class:`Step` per move — "player i, best-respond to profile x" — and is sent the player's reply
(its best response, a row of the profile). Whoever drives it decides how a reply is obtained:
:func:`iterate_best_responses` calls a function (``policies.slicing.game.run_dynamics``,
``policies.slicing.kelly.run_kelly``); the slicing controller's agents send each step as a
STRATEGY message and feed back the replies that come in (``agents.slicing_controller``). The
stopping rule (Nash gap of the profile after a round <= epsilon, or ``max_rounds``) and the
update (sequential: the mover's row is replaced; simultaneous: x <- (1 - eta) x + eta BR(x)
once every player has replied) live only here.

A step also says which players move in its round and in what order (``order``), so a driver
can run a sequential round as one token passed from player to player and a simultaneous round
as one broadcast, and feed the replies afterwards in step order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.params import SlicingParams


@dataclass(frozen=True, slots=True, eq=False)
class RoundRecord:
    """State after one round (round 0: the start); ``regrets``: each player's, the Nash gap
    their max."""

    round: int
    profile: np.ndarray
    potential: float
    nash_gap: float
    regrets: np.ndarray | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """Best-response dynamics, round by round; ``converged`` when the last gap <= epsilon."""

    rounds: tuple[RoundRecord, ...]
    converged: bool

    @property
    def final_profile(self) -> np.ndarray:
        return self.rounds[-1].profile

    @property
    def best_profile(self) -> np.ndarray:
        """The profile of the round with the smallest Nash gap (the best iterate; the first of
        ties): what a controller grants when the dynamics stop unconverged."""
        return min(self.rounds, key=lambda r: r.nash_gap).profile

    def to_dict(self) -> dict[str, Any]:
        """Columns for a Parquet/JSON table, one row per round (a NaN potential as None)."""
        return {
            "round": [r.round for r in self.rounds],
            "potential": [r.potential if np.isfinite(r.potential) else None for r in self.rounds],
            "nash_gap": [r.nash_gap for r in self.rounds],
            "regrets": [None if r.regrets is None else r.regrets.tolist() for r in self.rounds],
            "profile": [r.profile.tolist() for r in self.rounds],
            "converged": self.converged,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Step:
    """One move asked for: player ``player`` best-responds to ``profile`` (a copy).

    ``round`` counts from 1; ``order`` lists the players moving in this round, in move order;
    ``simultaneous``: every step of the round answers the same profile (damped simultaneous),
    else each sees the moves before it (sequential).
    """

    round: int
    player: int
    profile: np.ndarray
    order: tuple[int, ...]
    simultaneous: bool

    @property
    def opens_round(self) -> bool:
        return self.player == self.order[0]


def round_order(n: int, params: SlicingParams, rng: np.random.Generator | None) -> tuple[int, ...]:
    """Move order of one round: by index, or a fresh permutation (sequential, shuffled)."""
    if params.dynamics == "sequential" and params.player_order == "shuffled":
        return tuple(int(i) for i in rng.permutation(n))  # type: ignore[union-attr]
    return tuple(range(n))


StepGenerator = Generator[Step, np.ndarray, Trajectory]


class StopDynamics(Exception):  # noqa: N818 (a signal, not an error)
    """Thrown into a step generator to end the dynamics now (e.g. the controller's round
    budget is spent): it returns the trajectory so far, not converged unless the last
    completed round was."""


def _record(r: int, x: np.ndarray, regrets: Callable, potential_of: Callable) -> RoundRecord:
    reg = np.asarray(regrets(x), dtype=float)
    return RoundRecord(r, x.copy(), potential_of(x), float(reg.max(initial=0.0)), reg)


def best_response_steps(
    regrets: Callable[[np.ndarray], np.ndarray],
    potential_of: Callable[[np.ndarray], float],
    start: np.ndarray,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    damping: float | None = None,
) -> StepGenerator:
    """Best-response rounds until the Nash gap is <= epsilon or max_rounds are spent.

    Yields a :class:`Step` per move and expects its reply (the player's best response, shape
    ``start.shape[1:]``) sent back; returns the :class:`Trajectory` (``StopIteration.value``).
    Throwing :class:`StopDynamics` in ends it early (the round in progress is dropped).

    Args:
        regrets: each player's regret at a profile (the Nash gap is their max);
            potential_of: potential (NaN when there is none).
        start: initial profile, shape (n, ...).
        params: dynamics ("sequential" or "damped-simultaneous"; ``params.dynamics_of``
            resolves "auto"), player_order, epsilon, max_rounds, damping.
        rng: draws the player order when params.player_order == "shuffled".
        damping: overrides params.damping (simultaneous dynamics).
    """
    if params.dynamics not in ("sequential", "damped-simultaneous"):
        raise ValueError(f"dynamics {params.dynamics!r}: resolve 'auto' with dynamics_of first")
    if params.dynamics == "sequential" and params.player_order == "shuffled" and rng is None:
        raise ValueError("player_order='shuffled' needs a numpy Generator")
    eta = params.damping if damping is None else damping
    simultaneous = params.dynamics == "damped-simultaneous"
    x = np.array(start, dtype=float)
    rounds = [_record(0, x, regrets, potential_of)]
    try:
        while rounds[-1].nash_gap > params.epsilon and len(rounds) <= params.max_rounds:
            r = len(rounds)
            order = round_order(x.shape[0], params, rng)
            base = x.copy()
            if simultaneous:
                responses = np.empty_like(base)
                for i in order:
                    responses[i] = yield Step(r, i, base.copy(), order, True)
                x = (1.0 - eta) * base + eta * responses
            else:
                for i in order:
                    base[i] = yield Step(r, i, base.copy(), order, False)
                x = base
            rounds.append(_record(r, x, regrets, potential_of))
            if simultaneous and rounds[-1].nash_gap > rounds[-2].nash_gap:
                # the gap rose: a smaller step (backtracking), never below damping_min
                eta = max(eta * params.damping_backoff, min(params.damping_min, eta))
    except StopDynamics:
        pass
    return Trajectory(tuple(rounds), rounds[-1].nash_gap <= params.epsilon)


def drive(steps: StepGenerator, respond: Callable[[int, np.ndarray], np.ndarray]) -> Trajectory:
    """Run ``steps`` to the end, answering each step with ``respond(player, profile)``."""
    try:
        step = next(steps)
        while True:
            step = steps.send(np.asarray(respond(step.player, step.profile), dtype=float))
    except StopIteration as stop:
        return stop.value


def iterate_best_responses(
    respond: Callable[[int, np.ndarray], np.ndarray],
    regrets: Callable[[np.ndarray], np.ndarray],
    potential_of: Callable[[np.ndarray], float],
    start: np.ndarray,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    damping: float | None = None,
) -> Trajectory:
    """:func:`best_response_steps` answered by ``respond(i, x)`` (player i's best response)."""
    return drive(best_response_steps(regrets, potential_of, start, params, rng, damping), respond)
