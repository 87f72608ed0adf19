"""Level-two DA slicing policies (seed 000, Sec. III.D and Sec. IV): the public API.

* ``abstraction``: demand records -> demand distribution by (service, base station); greedy and
  demand-proportional slicing (III.D.1).
* ``window``: network dynamics -> five-stage slice window, tuned by QoE feedback (III.D.2).
* ``game``: the slicing game (congestion-potential or capacity-coupled), exact best responses
  (III.D.2); ``dynamics``: best-response rounds for any game; ``kelly``: proportional-share
  bidding.
* ``play``: per mechanism, a player's best reply, the resumable dynamics (``steps_for``) and the
  certificate of the game played (``conclude``); ``controller_core``: the slicing controller's
  Mesa-free core (windows, demand abstraction, game, dynamics as steps, grants).
* ``certificates``: regret, Nash gap, NashConv, welfare, optimum, price of anarchy;
  ``optimum``: exact scalar maximisation and the centralised optimum; ``plots``: convergence.

:func:`decide_slices` runs the mechanism a :class:`SlicingParams` names on one window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.abstraction import (
    DemandDistribution,
    DemandRecord,
    aggregate_demand,
    capacity_vector,
    feasible_slices,
    gain_curve,
    gain_slope,
    greedy_slices,
)
from policies.slicing.certificates import EquilibriumCertificate, certify_game, certify_kelly
from policies.slicing.dynamics import (
    RoundRecord,
    Step,
    Trajectory,
    best_response_steps,
    drive,
    iterate_best_responses,
)
from policies.slicing.game import (
    SlicingGame,
    best_response,
    game_from_distribution,
    market_clearing_price,
    nash_gap,
    player_regret,
    potential,
    potential_gradient,
    run_dynamics,
    utility,
    utility_gradient,
)
from policies.slicing.kelly import (
    kelly_best_response,
    kelly_nash_gap,
    kelly_shares,
    kelly_utility,
    run_kelly,
    symmetric_kelly_bid,
)
from policies.slicing.optimum import centralised_optimum, social_welfare, water_filling
from policies.slicing.params import SlicingParams, dynamics_of
from policies.slicing.play import GAME_MECHANISMS, best_reply, conclude, play, steps_for
from policies.slicing.window import (
    dynamics_index,
    dynamics_stage,
    slice_window_for,
    tune_thresholds,
)


def __getattr__(name: str) -> Any:
    """``plot_convergence`` loads matplotlib on first use (config validation stays light)."""
    if name == "plot_convergence":
        from policies.slicing.plots import plot_convergence

        return plot_convergence
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True, eq=False)
class SliceDecision:
    """Slices of one window and how they were reached.

    Attributes:
        keys: (service, base station) per group; pools: pool names.
        slices: granted reservations (groups, pools), within capacity.
        mechanism: the mechanism used.
        game: the window's game (always built: it records the problem that was solved).
        trajectory: best-response dynamics (game and kelly only).
        certificate: equilibrium certificate (game and kelly only).
        welfare: W of the slices; optimum_welfare: the centralised optimum's W.
    """

    keys: tuple[tuple[str, int], ...]
    pools: tuple[str, ...]
    slices: np.ndarray
    mechanism: str
    game: SlicingGame
    trajectory: Trajectory | None
    certificate: EquilibriumCertificate | None
    welfare: float
    optimum_welfare: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record of the decision, game and certificate."""
        return {
            "keys": [list(k) for k in self.keys],
            "pools": list(self.pools),
            "slices": self.slices.tolist(),
            "mechanism": self.mechanism,
            "game": self.game.to_dict(),
            "trajectory": None if self.trajectory is None else self.trajectory.to_dict(),
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            "welfare": self.welfare,
            "optimum_welfare": self.optimum_welfare,
        }


def decide_slices(
    dist: DemandDistribution,
    capacities: np.ndarray,
    params: SlicingParams,
    rng: np.random.Generator | None = None,
    start: np.ndarray | None = None,
) -> SliceDecision:
    """Slice the pools of one window with ``params.mechanism``.

    Args:
        dist: the abstracted demand distribution.
        capacities: pool capacities in ``dist.pools`` order (see ``capacity_vector``).
        params: mechanism and its settings.
        rng: needed for shuffled player order.
        start: warm start of the dynamics (reservations for "game", bids for "kelly").
    """
    capacities = np.asarray(capacities, dtype=float)
    game = game_from_distribution(dist, capacities, params)
    trajectory, certificate = None, None
    if params.mechanism == "greedy":
        slices = greedy_slices(
            dist.weights,
            game.gain_scale,
            np.where(dist.eligible, dist.demand, 0.0),
            capacities,
            params.gain_curve,
            params.sigmoid_steepness,
            params.greedy_quanta,
        )
    elif params.mechanism == "proportional-demand":
        slices = feasible_slices(np.where(dist.eligible, dist.demand, 0.0), capacities)
    else:
        trajectory = play(game, params, rng, start)
        certificate, slices = conclude(game, trajectory.final_profile, params)
    welfare = social_welfare(
        game.weights, game.gain_scale, game.demand_scale, slices, game.curve, game.steepness
    )
    opt = centralised_optimum(
        game.weights,
        game.gain_scale,
        game.demand_scale,
        game.caps,
        capacities,
        game.curve,
        game.steepness,
        game.grid_points,
    )
    return SliceDecision(
        dist.keys,
        dist.pools,
        slices,
        params.mechanism,
        game,
        trajectory,
        certificate,
        welfare,
        opt.welfare,
    )


__all__ = [
    "GAME_MECHANISMS",
    "Step",
    "best_reply",
    "best_response_steps",
    "conclude",
    "drive",
    "dynamics_of",
    "play",
    "steps_for",
    "DemandDistribution",
    "DemandRecord",
    "EquilibriumCertificate",
    "RoundRecord",
    "SliceDecision",
    "SlicingGame",
    "SlicingParams",
    "Trajectory",
    "aggregate_demand",
    "best_response",
    "capacity_vector",
    "centralised_optimum",
    "certify_game",
    "certify_kelly",
    "decide_slices",
    "dynamics_index",
    "dynamics_stage",
    "feasible_slices",
    "gain_curve",
    "gain_slope",
    "game_from_distribution",
    "greedy_slices",
    "iterate_best_responses",
    "kelly_best_response",
    "kelly_nash_gap",
    "kelly_shares",
    "kelly_utility",
    "nash_gap",
    "player_regret",
    "plot_convergence",
    "potential",
    "potential_gradient",
    "market_clearing_price",
    "run_dynamics",
    "run_kelly",
    "slice_window_for",
    "social_welfare",
    "symmetric_kelly_bid",
    "tune_thresholds",
    "utility",
    "utility_gradient",
    "water_filling",
]
