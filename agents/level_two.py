"""Level-two digital agents on the cloud (seed 000 Sec. III.B and III.D).

* :class:`agents.slicing_controller.SlicingController` opens slice windows, abstracts the demand
  distribution and runs the slicing mechanism (see that module).
* :class:`LevelTwoDA`: one player per user group (service type = ELA tier, base station) of the
  game-based slice adjustment (Sec. III.D.2). Created when its group first appears and reused
  by group key. Each round it receives the current profile (STRATEGY), computes its exact best
  response against the others' last announced strategies (``policies.slicing.best_response``
  or ``kelly_best_response``) and announces it: to the next player (sequential token passing)
  or back to the controller (damped simultaneous).
  Its reply is ``policies.slicing.best_reply``, the same function a direct call
  (``policies.slicing.play``) answers the same steps with.
* :class:`LevelTwo`: what the video extension sees — the controller's agent id and the run's
  outputs: ``games`` (per window: the mechanism, its certificate with every player's regret,
  why the dynamics stopped, and the game itself as JSON, so anyone can re-check the
  certificate), ``rounds`` (potential, Nash gap and every player's regret per round),
  ``slices`` (demand and grant per group and pool), model reporters, summary entries and
  ``convergence.png``.
* :func:`build_level_two` builds them with the controller's configuration from the scenario.
  The controller learns who is out there only from the REGISTER messages the level-one DAs,
  orchestrators, cells and edge servers send it themselves when they are deployed
  (``VideoExtension._deploy``) or when a DA's user moves to another edge server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import pandas as pd

from agents.base import NetAgent
from agents.slicing_controller import SlicingController
from model.messages import GameNotice, Kind, Strategy
from policies.slicing import best_reply as play_reply
from policies.slicing import plot_convergence
from policies.slicing.controller_core import ControllerConfig
from policies.slicing.reports import as_profile, strategy_size

if TYPE_CHECKING:
    from policies.slicing.window_state import WindowOutcome

# --- the players -------------------------------------------------------------------------------


def best_reply(notice: GameNotice, profile: np.ndarray) -> tuple[np.ndarray, float]:
    """(player's exact best response, its utility improvement) against ``profile``."""
    return play_reply(notice.game, notice.player, profile, notice.mechanism, notice.reserve_bid)


class LevelTwoDA(NetAgent):
    """A user group's player in the slicing game: inbox -> exact best response -> announce."""

    role = "level_two"

    def __init__(self, model: mesa.Model, node: str, key: str) -> None:
        super().__init__(model, node)
        self.key = key
        self.notice: GameNotice | None = None
        self.responses = 0

    def act(self) -> None:
        for msg in self.take_inbox():
            if isinstance(msg.payload, GameNotice):
                self.notice = msg.payload
            elif isinstance(msg.payload, Strategy):
                self._respond(msg.payload)

    def _respond(self, state: Strategy) -> None:
        notice = self.notice
        if notice is None or notice.window != state.window or not state.route:
            return
        self.responses += 1
        to, out, size = player_reply(notice, state)
        self.send(to, Kind.STRATEGY, out, size)


def player_reply(notice: GameNotice, state: Strategy) -> tuple[int, Strategy, int]:
    """(receiver, STRATEGY payload, size) of a player's answer to a round's profile.

    Sequential: the player replaces its row by its best response and passes the token on
    along ``route`` (the last hop is the controller), the round's largest gain so far with it;
    damped simultaneous: it sends its best response and gain back to the controller.
    """
    x = np.array(state.profile, dtype=float)
    br, gain = best_reply(notice, x)
    i, pools = notice.player, x.shape[1]
    if notice.dynamics == "sequential":
        x[i] = br
        improvement = max(state.improvement, gain)
        out = Strategy(state.window, state.round, i, as_profile(x), improvement, state.route[1:])
        return state.route[0], out, strategy_size(x.shape[0], pools)
    out = Strategy(state.window, state.round, i, as_profile(br[None, :]), gain)
    return state.route[0], out, strategy_size(1, pools)


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=False, default=float)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def game_row(o: WindowOutcome) -> dict[str, Any]:
    """One ``games`` table row: the window, the mechanism's certificate and the game as JSON."""
    w, cert, traj = o.window, o.certificate, o.trajectory
    c = cert.to_dict() if cert is not None else {}
    optimum = o.optimum_welfare
    return {
        "window": w.index,
        "start_s": w.start_s,
        "length_s": w.length_s,
        "decided_at_s": w.decided_at_s,
        "granted_at_s": o.granted_at_s,
        "mechanism": o.mechanism,
        "variant": o.game.variant,
        "players": o.game.n_players,
        "pools": _json(list(o.dist.pools)),
        "groups": _json(list(o.groups)),
        "demand_reports": len(w.demands),
        "rounds": 0 if traj is None else len(traj.rounds) - 1,
        "converged": bool(traj.converged) if traj is not None else False,
        "stop_reason": o.stop_reason,
        "dynamics": o.dynamics,
        "regrets": _json(c.get("regrets", [])),
        "regret_upper": _json(c.get("regret_upper", [])),
        "nash_gap": _nan(c.get("nash_gap")),
        "nash_gap_upper": _nan(c.get("nash_gap_upper")),
        "nash_conv": _nan(c.get("nash_conv")),
        "regret_method": c.get("regret_method", ""),
        "potential": _nan(c.get("potential")),
        "welfare": o.welfare,
        "optimum_welfare": optimum,
        "price_of_anarchy": o.welfare / optimum if optimum > 0 else float("nan"),
        "capacity_violation": _nan(c.get("capacity_violation", 0.0)),
        "messages": o.messages,
        "dynamics_index": w.dynamics_index,
        "ela_feedback": w.ela_feedback,
        "thresholds": _json(list(w.thresholds)),
        "game": _json(o.game.to_dict()),
        "profile": _json(o.profile.tolist()),
        "slices": _json(o.slices.tolist()),
    }


def round_rows(o: WindowOutcome) -> list[dict[str, Any]]:
    """``rounds`` table rows of one window (round 0 = the warm start).

    ``improvement`` is what the players announced (the largest utility gain of a best
    response in the round); ``nash_gap`` (the stopping rule: <= epsilon ends the dynamics) and
    ``regrets`` (every player's, JSON, in group order) are of the profile after the round.
    """
    if o.trajectory is None:
        return []
    announced = [float("nan"), *o.window.improvements]
    return [
        {
            "window": o.window.index,
            "round": r.round,
            "potential": r.potential,
            "nash_gap": r.nash_gap,
            "regrets": _json([] if r.regrets is None else r.regrets.tolist()),
            "improvement": announced[r.round] if r.round < len(announced) else float("nan"),
        }
        for r in o.trajectory.rounds
    ]


def slice_rows(o: WindowOutcome) -> list[dict[str, Any]]:
    """``slices`` table rows of one window: demand and grant per group and pool."""
    rows = []
    for i, group in enumerate(o.groups):
        for p, pool in enumerate(o.dist.pools):
            if o.dist.demand[i, p] > 0 or o.slices[i, p] > 0:
                rows.append(
                    {
                        "window": o.window.index,
                        "group": group,
                        "pool": pool,
                        "members": len(o.members[i]),
                        "demand": float(o.dist.demand[i, p]),
                        "granted": float(o.slices[i, p]),
                    }
                )
    return rows


class LevelTwo:
    """The level-two DAs of one run and their outputs."""

    def __init__(self, model: mesa.Model, ext: Any) -> None:
        self.model = model
        self.ext = ext
        self.players: dict[str, LevelTwoDA] = {}
        self.outcomes: list[WindowOutcome] = []
        self.controller = SlicingController(
            model,
            controller_config(ext),
            self.outcomes.append,
            self.player_for,
            window_log=ext.begin_window,
        )
        self.controller_id = self.controller.unique_id

    def player_for(self, key: str) -> int:
        """Agent id of the player of group ``key`` (created on the cloud when first needed)."""
        if key not in self.players:
            self.players[key] = LevelTwoDA(self.model, self.model.cloud.node, key)
        return self.players[key].unique_id

    # -- outputs ------------------------------------------------------------------------------
    def _last(self, attr: str) -> float:
        for o in reversed(self.outcomes):
            if o.certificate is not None:
                return float(getattr(o.certificate, attr))
        return float("nan")

    def model_reporters(self) -> dict[str, Any]:
        def rounds(_: Any) -> int:
            traj = self.outcomes[-1].trajectory if self.outcomes else None
            return 0 if traj is None else len(traj.rounds) - 1

        def window_s(_: Any) -> float:
            w = self.controller.core.window
            return float("nan") if w is None else w.length_s

        return {
            "nash_gap": lambda m: self._last("nash_gap"),
            "potential": lambda m: self._last("potential"),
            "br_rounds": rounds,
            "slice_window_s": window_s,
            "groups": lambda m: len(self.outcomes[-1].groups) if self.outcomes else 0,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "games": pd.DataFrame([game_row(o) for o in self.outcomes]),
            "rounds": pd.DataFrame([r for o in self.outcomes for r in round_rows(o)]),
            "slices": pd.DataFrame([r for o in self.outcomes for r in slice_rows(o)]),
        }

    def summary(self) -> dict[str, Any]:
        games = pd.DataFrame([game_row(o) for o in self.outcomes])
        out: dict[str, Any] = {
            "windows_sliced": len(self.outcomes),
            "late_demand_reports": self.controller.core.late_reports,
            "unregistered_demand_reports": self.controller.core.unregistered_reports,
        }
        if games.empty:
            return {"slicing": out}
        certified = games[games["nash_gap"].notna()]
        out.update(
            mechanism=str(games["mechanism"].iloc[0]),
            mean_window_s=float(games["length_s"].mean()),
            mean_price_of_anarchy=float(games["price_of_anarchy"].mean()),
            rounds_total=int(games["rounds"].sum()),
            rounds_mean=float(games["rounds"].mean()),
            strategy_messages=int(games["messages"].sum()),
        )
        if not certified.empty:
            out.update(
                mean_nash_gap=float(certified["nash_gap"].mean()),
                max_nash_gap=float(certified["nash_gap"].max()),
                converged_share=float(certified["converged"].mean()),
            )
        return {"slicing": out}

    def write_files(self, folder: Path) -> None:
        """``convergence.png``: Nash gap and potential per round of the last game window."""
        for o in reversed(self.outcomes):
            if o.trajectory is not None:
                title = f"window {o.window.index}: {o.game.n_players} groups, {o.mechanism}"
                plot_convergence(o.trajectory, Path(folder) / "convergence.png", title)
                return


def controller_config(ext: Any) -> ControllerConfig:
    """The slicing controller's configuration: the scenario's keys and the scheme's policies."""
    cfg = ext.cfg
    return ControllerConfig(
        params=ext.slicing_params,
        first_window_s=cfg.das.first_window_min * 60.0,
        fixed_window_s=cfg.das.fixed_window_min * 60.0,
        adaptive=ext.policies.window == "adaptive",
        demand=ext.policies.demand,
        ela_low=cfg.behaviour.ela_low,
        ela_high=cfg.behaviour.ela_high,
        ela_tiers=cfg.das.ela_tiers,
        first_open_s=cfg.users.report_period_s,
    )


def build_level_two(model: mesa.Model, ext: Any) -> LevelTwo:
    """Create the slicing controller (and, as groups appear, the players) on the cloud node."""
    return LevelTwo(model, ext)
