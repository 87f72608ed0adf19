"""Level-two digital agents on the cloud (seed 000 Sec. III.B and III.D).

* :class:`agents.slicing_controller.SlicingController` opens slice windows, abstracts the demand
  distribution and runs the slicing mechanism (see that module).
* :class:`LevelTwoDA`: one player per user group (service type = ELA tier, base station) of the
  game-based slice adjustment (Sec. III.D.2). Created when its group first appears and reused
  by group key. Each round it receives the current profile (STRATEGY), computes its exact best
  response against the others' last announced strategies (``policies.slicing.best_response``
  or ``kelly_best_response``) and announces it: to the next player (sequential token passing)
  or back to the controller (damped simultaneous).
* Pure helpers the controller calls: DEMAND reports -> demand records, shared pools split per
  edge server, and the network dynamics analysis of the DYNAMICS reports (``window_dynamics``).
* :class:`LevelTwo`: what the video extension sees — the controller's agent id and the run's
  outputs: ``games`` (per window: the mechanism, its certificate and the game itself as JSON,
  so anyone can re-check the certificate), ``rounds`` (potential and Nash gap per round),
  ``slices`` (demand and grant per group and pool), model reporters, summary entries and
  ``convergence.png``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import pandas as pd

from agents.base import NetAgent
from model.messages import DemandReport, DynamicsReport, GameNotice, Kind, Strategy
from policies.slicing import (
    DemandDistribution,
    DemandRecord,
    SlicingParams,
    best_response,
    dynamics_index,
    kelly_best_response,
    kelly_utility,
    plot_convergence,
    utility,
)

if TYPE_CHECKING:
    from agents.slicing_window import WindowOutcome

# DYNAMICS reports kept per user for the dynamics analysis (rate of change needs two).
HISTORY = 3
DEMAND_OF_KIND = {"comm": "comm_hz", "compute": "cpu_hz"}


# --- pure helpers: demand abstraction and dynamics analysis -----------------------------------


def demand_records(
    reports: Sequence[DemandReport], service_of: Callable[[DemandReport], str], kinds: Sequence[str]
) -> list[DemandRecord]:
    """Turn DEMAND reports into the abstraction's records (users without a cell are skipped).

    Gains: the DA's QoE gain per Hz (``gain_per_hz``) for bandwidth; computing is the other
    half of a Leontief pair (playback needs both), so its gain at the demand is the same QoE
    gain, per cycle. A DA without a QoE model yet (structure "sla") cannot say; it gets the
    neutral prior "meeting the demand lifts QoE by one MOS point". A DA whose model sees no
    gain (e.g. a constant fit) reports 0 and its user is not eligible for slices.
    """
    out = []
    for r in sorted(reports, key=lambda rep: rep.user):
        if r.cell < 0:
            continue
        amount = {k: max(float(getattr(r, DEMAND_OF_KIND[k])), 0.0) for k in kinds}
        comm = amount.get("comm", 0.0)
        unknown = r.structure == "sla" or not np.isfinite(r.gain_per_hz)
        gain_at_demand = 1.0 if unknown else max(r.gain_per_hz, 0.0) * comm
        gain = tuple(gain_at_demand / amount[k] if amount[k] > 0 else 0.0 for k in kinds)
        out.append(
            DemandRecord(
                r.user, service_of(r), r.cell, tuple(amount[k] for k in kinds), gain, r.ela
            )
        )
    return out


def split_shared_pools(
    dist: DemandDistribution, edge_of_station: Mapping[int, int]
) -> DemandDistribution:
    """Split each shared pool (e.g. "compute") into one pool per edge server ("compute@edge0").

    A base station hangs off one edge server, so a group can use only its own edge's computing.
    """
    edge_of_row = np.array([edge_of_station[b] for _, b in dist.keys], dtype=int)
    edges = sorted(set(edge_of_row.tolist()))
    pools: list[str] = []
    cols: list[tuple[int, int | None]] = []
    for p, name in enumerate(dist.pools):
        if "@" in name:
            pools.append(name)
            cols.append((p, None))
            continue
        for e in edges:
            pools.append(f"{name}@edge{e}")
            cols.append((p, e))

    def column(arr: np.ndarray, p: int, e: int | None) -> np.ndarray:
        return arr[:, p] if e is None else np.where(edge_of_row == e, arr[:, p], 0.0)

    def stack(arr: np.ndarray) -> np.ndarray:
        if not cols:
            return np.zeros((len(dist.keys), 0))
        return np.stack([column(arr, p, e) for p, e in cols], axis=1)

    return dataclasses.replace(
        dist, pools=tuple(pools), demand=stack(dist.demand), gain_scale=stack(dist.gain_scale)
    )


def _component(
    b: np.ndarray,
    c: np.ndarray,
    handovers: float,
    interval_min: float,
    params: SlicingParams,
    j: int,
) -> float:
    only = tuple(1.0 if k == j else 0.0 for k in range(3))
    return dynamics_index(
        b, c, handovers, interval_min, dataclasses.replace(params, dynamics_weights=only)
    )


def window_dynamics(
    history: Mapping[int, Sequence[DynamicsReport]], interval_min: float, params: SlicingParams
) -> float:
    """Dynamics index in [0, 1) from the users' latest DYNAMICS reports (Sec. III.D.2).

    Components, each evaluated by ``dynamics_index`` and weighted by ``dynamics_weights``:
    variability = the emulated standard deviation of B and C in the latest forecasts (a
    two-point +-sigma series has exactly that deviation); rate = change of the forecast means
    between successive reports, ``interval_min`` apart; handovers = those counted between the
    reports (or over the last interval when a user has one report).
    """
    rows = [list(h)[-HISTORY:] for h in history.values() if h]
    if not rows:
        return 0.0
    s = min(len(r) for r in rows)
    rows = [r[-s:] for r in rows]
    last = [r[-1] for r in rows]
    spread_b = np.array([[x.b_mean - x.b_std, x.b_mean + x.b_std] for x in last])
    spread_c = np.array([[x.c_mean - x.c_std, x.c_mean + x.c_std] for x in last])
    means_b = np.array([[x.b_mean for x in r] for r in rows])
    means_c = np.array([[x.c_mean for x in r] for r in rows])
    handovers = sum(x.handovers for r in rows for x in (r[1:] if s > 1 else r))
    parts = (
        _component(spread_b, spread_c, 0.0, interval_min, params, 0),
        _component(means_b, means_c, 0.0, interval_min, params, 1),
        _component(means_b, means_c, float(handovers), interval_min, params, 2),
    )
    weights = np.asarray(params.dynamics_weights, dtype=float)
    return float(np.dot(weights, parts) / weights.sum())


def as_profile(x: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """A profile array as the nested tuples a STRATEGY message carries."""
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(x))


def strategy_size(n_rows: int, n_pools: int) -> int:
    """Bytes of a STRATEGY message: header + the profile's float64s."""
    return 48 + 8 * n_rows * n_pools


# --- the players -------------------------------------------------------------------------------


def best_reply(notice: GameNotice, profile: np.ndarray) -> tuple[np.ndarray, float]:
    """(player's exact best response, its utility improvement) against ``profile``."""
    game, i = notice.game, notice.player
    if notice.mechanism == "kelly":
        br = kelly_best_response(game, i, profile, notice.reserve_bid)

        def value(x: np.ndarray) -> float:
            return kelly_utility(game, i, x, notice.reserve_bid)
    else:
        br = best_response(game, i, profile)

        def value(x: np.ndarray) -> float:
            return utility(game, i, x)

    moved = profile.copy()
    moved[i] = br
    return br, max(value(moved) - value(profile), 0.0)


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
        x = np.array(state.profile, dtype=float)
        br, gain = best_reply(notice, x)
        self.responses += 1
        i, pools = notice.player, x.shape[1]
        if notice.dynamics == "sequential":
            x[i] = br
            out = Strategy(
                state.window,
                state.round,
                i,
                as_profile(x),
                max(state.improvement, gain),
                state.route[1:],
            )
            size = strategy_size(x.shape[0], pools)
        else:
            out = Strategy(state.window, state.round, i, as_profile(br[None, :]), gain)
            size = strategy_size(1, pools)
        self.send(state.route[0], Kind.STRATEGY, out, size)


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
    response in the round: the stopping rule); ``nash_gap`` is the controller's monitor.
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
        from agents.slicing_controller import SlicingController  # it imports this module

        self.model = model
        self.ext = ext
        self.players: dict[str, LevelTwoDA] = {}
        self.outcomes: list[WindowOutcome] = []
        self.controller = SlicingController(model, ext, self.outcomes.append, self.player_for)
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
            w = self.controller.window
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
            "late_demand_reports": self.controller.late_reports,
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


def build_level_two(model: mesa.Model, ext: Any) -> LevelTwo:
    """Create the slicing controller (and, as groups appear, the players) on the cloud node."""
    return LevelTwo(model, ext)
