"""The slicing controller's Mesa-free core: the level-two DA's slice windows (seed 000 Sec. III.D).

The Mesa agent (``agents.slicing_controller.SlicingController``) only reads its inbox, hands
each message to this core, sends what the core puts in its outbox and wakes when asked. What
the core knows came in a message or is its own state:

* who is out there: REGISTER messages (level-one DAs, orchestrators, cells, edge servers) in a
  :class:`~policies.slicing.window_state.Registry`;
* per window: it opens the window — its length is the first window's, the fixed one, or the
  adaptive window of Sec. III.D.2 (dynamics index of the DAs' DYNAMICS reports, discretised into
  five stages, thresholds tuned by the DAs' reported ELA ratio) — and sends a WINDOW notice to
  every registered level-one DA; it collects their DEMAND reports until every DA registered at
  the opening has reported or ``collect_deadline_s`` has passed; it abstracts the demand by
  (service type = ELA tier, base station) (Sec. III.D.1; QoS/SLA-based under HSLA-L2,
  ``reports.gain_at_demand``);
* the mechanism: greedy or demand-proportional directly; the game or proportional share (Kelly)
  as the resumable best-response dynamics of ``policies.slicing.play.steps_for`` — each step a
  STRATEGY message to a player agent (a sequential round is one token passed from player to
  player, a simultaneous round one broadcast), each reply fed back — until the dynamics stop
  (Nash gap <= epsilon, ``max_rounds``) or ``round_budget`` of the window is spent;
* the certificate of the final profile on exactly the game the players were sent
  (``play.conclude``), and a SLICE grant (window, start and length included) to every
  registered orchestrator, cell and edge server.

Capacities (the operator's inventory of free capacity per pool) come from a function the shell
passes in (the model's resource ledger); the players' agent ids from ``player_for`` (the
controller's own player agents, created on demand).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.slicing import decide_slices
from policies.slicing.abstraction import aggregate_demand, feasible_slices
from policies.slicing.dynamics import Step, StopDynamics
from policies.slicing.game import SlicingGame, game_from_distribution
from policies.slicing.params import SlicingParams, dynamics_of
from policies.slicing.play import GAME_MECHANISMS, conclude, steps_for
from policies.slicing.reports import (
    DEMAND_OF_KIND,
    HISTORY,
    as_profile,
    demand_records,
    ela_tier,
    group_key,
    split_shared_pools,
    strategy_size,
    window_dynamics,
)
from policies.slicing.window import slice_window_for, tune_thresholds
from policies.slicing.window_state import Registry, WindowOutcome, WindowState


@dataclass(frozen=True, slots=True)
class ControllerConfig:
    """What the controller is configured with (the scenario's keys, resolved by the shell).

    ``demand``: "qoe" or "sla" (HSLA-L2, ``model.schemes``); ``adaptive``: adaptive windows
    (else every window after the first is ``fixed_window_s``); ``ela_*``: the ELA tiers of the
    groups (``behaviour.ela_low/high``, ``das.ela_tiers``). Demand reports need two hops edge
    <-> cloud (~2 slots): a DA silent for ``collect_deadline_s`` is left out of the window.
    ``round_budget``: share of a window the rounds may take before the current profile is
    certified and granted, so slices are always granted well inside their window.
    ``first_open_s``: when the first window opens (once every DA has heard from its user: it
    needs the cell; the shell passes the users' report period).
    """

    params: SlicingParams
    first_window_s: float
    fixed_window_s: float
    adaptive: bool
    demand: str
    ela_low: float
    ela_high: float
    ela_tiers: int
    first_open_s: float = 0.0
    collect_deadline_s: float = 10.0
    round_budget: float = 0.5


@dataclass(frozen=True, slots=True)
class Send:
    """A message for the shell to send: ``kind`` is "window", "game", "strategy" or "slice"
    (``model.messages`` WindowNotice, GameNotice, Strategy, SliceGrant built from ``fields``)."""

    to: int
    kind: str
    fields: dict[str, Any]
    size: int | None = None


@dataclass(eq=False)
class Outbox:
    """Messages to send, times to wake at, and windows opened (index, start s, length s)."""

    sends: list[Send] = field(default_factory=list)
    wakes: list[float] = field(default_factory=list)
    opened: list[tuple[int, float, float]] = field(default_factory=list)


class ControllerCore:
    """The level-two slicing controller: registrations, windows, demand, game, grants."""

    def __init__(
        self,
        config: ControllerConfig,
        me: int,
        gen: np.random.Generator,
        capacity_of: Callable[[Sequence[str], tuple[str, ...]], np.ndarray],
        player_for: Callable[[str], int],
    ) -> None:
        for kind in config.params.resource_kinds:
            if kind not in DEMAND_OF_KIND:
                raise ValueError(f"slicing.resource_kinds: level-one DAs report no {kind!r} demand")
        self.config = config
        self.params = dynamics_of(config.params)
        self.me, self.gen = me, gen
        self.capacity_of, self.player_for = capacity_of, player_for
        self.registry = Registry()
        self.thresholds = tuple(self.params.stage_thresholds)
        self.history: dict[int, list[Any]] = {}
        self.lengths_s: list[float] = []
        self.window: WindowState | None = None
        self.next_start_s = 0.0
        self.granted: tuple[str, ...] = ()
        self.last_strategy: dict[tuple[str, str], float] = {}
        self.late_reports = 0
        self.unregistered_reports = 0  # DEMAND from agents that never registered: ignored
        self.unplaced_reports = 0  # DEMAND naming a cell no registration placed: left out
        self.out = Outbox()
        self.concluded: list[WindowOutcome] = []

    def drain(self) -> Outbox:
        """What to send and when to wake, emptied."""
        out, self.out = self.out, Outbox()
        return out

    # -- inbox ------------------------------------------------------------------------------
    def on_register(self, reg: Any) -> None:
        self.registry.add(reg)

    def on_demand(self, sender: int, report: Any) -> None:
        w = self.window
        if sender not in self.registry.by_role["level-one"]:
            self.unregistered_reports += 1
        elif w is not None and w.phase == "collect" and report.window == w.index:
            w.demands[report.user] = report
            w.reporters.add(sender)
        else:
            self.late_reports += 1

    def on_dynamics(self, report: Any) -> None:
        hist = self.history.setdefault(report.user, [])
        hist.append(report)
        del hist[:-HISTORY]

    def on_strategy(self, s: Any, now: float) -> None:
        w = self.window
        if w is None or w.phase != "rounds" or (s.window, s.round) != (w.index, w.round):
            return
        if w.step.simultaneous:
            w.replies[s.player] = (np.array(s.profile[0], dtype=float), s.improvement)
            if len(w.replies) < len(w.step.order):
                return
            replies = {i: v[0] for i, v in w.replies.items()}
            improvement = max(v[1] for v in w.replies.values())
        else:
            final = np.array(s.profile, dtype=float)
            replies = {i: final[i] for i in w.step.order}
            improvement = s.improvement
        w.improvements.append(float(improvement))
        self._feed(w, replies, now)

    # -- timers -----------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        w, t = self.window, now + 1e-9
        if w is None and t < self.config.first_open_s:
            return
        if w is None or (w.phase == "done" and t >= self.next_start_s):
            self._open_window(now)
        elif w.phase == "collect" and (set(w.expected) <= w.reporters or t >= w.deadline_s):
            self._decide(w, now)
        elif w.phase == "rounds" and t >= w.round_deadline_s:
            self._stop(w, "round-budget", now)

    # -- slice windows (Sec. III.D.2, adaptive slice window) --------------------------------
    def _open_window(self, now: float) -> None:
        index = 0 if self.window is None else self.window.index + 1
        if self.window is not None:
            self.lengths_s.append(self.window.length_s)
        length_s, dyn, feedback = self.window_length(index)
        deadline = now + self.config.collect_deadline_s
        expected = self.registry.agents("level-one")
        w = WindowState(index, now, length_s, dyn, self.thresholds, feedback, deadline, expected)
        self.window = w
        self.next_start_s = now + length_s
        notice = {"window": index, "start_s": now, "length_s": length_s}
        for da in expected:
            self.out.sends.append(Send(da, "window", notice))
        self.out.wakes += [deadline, self.next_start_s]
        self.out.opened.append((index, now, length_s))

    def window_length(self, index: int) -> tuple[float, float, float]:
        """(length s, dynamics index, QoE feedback) of window ``index``, opened now.

        Adaptive windows first tune the stage thresholds by the QoE feedback (the mean of the
        DAs' latest reported ELA ratios), then map the dynamics index to a stage.
        """
        cfg = self.config
        if index == 0:
            return cfg.first_window_s, float("nan"), float("nan")
        if not cfg.adaptive:
            return cfg.fixed_window_s, float("nan"), float("nan")
        ratios = [h[-1].ela_ratio for h in self.history.values() if h]
        finite = [r for r in ratios if np.isfinite(r)]
        feedback = float(np.mean(finite)) if finite else float("nan")
        if finite:
            self.thresholds = tune_thresholds(self.thresholds, feedback, self.params)
        interval_min = float(np.mean(self.lengths_s[-(HISTORY - 1) :])) / 60.0
        dyn = window_dynamics(self.history, interval_min, self.params)
        minutes = slice_window_for(dyn, self.thresholds, self.params.window_stages_min)
        return minutes * 60.0, dyn, feedback

    # -- demand abstraction and the mechanism (Sec. III.D.1-2) -----------------------------
    def _tier(self, r: Any) -> int:
        cfg = self.config
        return ela_tier(r.ela, cfg.ela_low, cfg.ela_high, cfg.ela_tiers)

    def service_of(self, r: Any) -> str:
        """Service type of a report: its service and its user's ELA tier (``video/t<k>``)."""
        return f"{r.service}/t{self._tier(r)}"

    def group_of(self, r: Any) -> str:
        """The slicing group of a report's user (``video/t<k>@bs<j>``)."""
        return group_key(r.service, r.cell, self._tier(r))

    def _decide(self, w: WindowState, now: float) -> None:
        w.decided_at_s = now
        params = self.params
        edge_of = self.registry.edge_of_cell()
        reports = [r for r in w.demands.values() if r.cell in edge_of]
        self.unplaced_reports += sum(r.cell >= 0 for r in w.demands.values()) - len(reports)
        records = demand_records(
            reports, self.service_of, params.resource_kinds, self.config.demand
        )
        if not records:
            w.phase = "done"
            return
        dist = split_shared_pools(aggregate_demand(records, params), edge_of)
        caps = self.capacity_of(dist.pools, self.granted)
        w.dist, w.capacities = dist, caps
        if params.mechanism not in GAME_MECHANISMS:
            d = decide_slices(dist, caps, params)
            self._conclude(w, d.game, d.slices, d.slices, d.welfare, d.optimum_welfare, now)
            return
        self._start_game(w, game_from_distribution(dist, caps, params), now)

    # -- best-response rounds as messages ----------------------------------------------------
    def _start_game(self, w: WindowState, game: SlicingGame, now: float) -> None:
        w.game = game
        w.players = tuple(self.player_for(f"{s}@bs{b}") for s, b in w.dist.keys)
        w.start_profile = self._warm_start(w.dist, game)
        w.steps = steps_for(game, self.params, self.gen, w.start_profile)
        w.phase = "rounds"
        w.round_deadline_s = w.start_s + self.config.round_budget * w.length_s
        try:
            w.step = next(w.steps)
        except StopIteration as stop:  # the warm start is already an equilibrium
            self._finish(w, stop.value, "converged", now)
            return
        size = 64 + 8 * (3 * game.n_players * game.n_pools + 2 * game.n_pools + game.n_players)
        p = self.params
        for i, pid in enumerate(w.players):
            notice = {
                "window": w.index,
                "player": i,
                "players": w.players,
                "game": game,
                "mechanism": p.mechanism,
                "dynamics": p.dynamics,
                "reserve_bid": p.kelly_reserve_bid,
            }
            self.out.sends.append(Send(pid, "game", notice, size))
        self.out.wakes.append(w.round_deadline_s)
        self._send_round(w)

    def _warm_start(self, dist: Any, game: SlicingGame) -> np.ndarray:
        """Players start from their last window's strategies (0 for new groups or pools)."""
        x = np.array(
            [
                [self.last_strategy.get((f"{s}@bs{b}", pool), 0.0) for pool in dist.pools]
                for s, b in dist.keys
            ]
        ).reshape(game.n_players, game.n_pools)
        x = np.minimum(x, game.caps)
        if self.params.mechanism == "game" and game.variant == "capacity-coupled":
            x = feasible_slices(x, game.capacities)
        return x

    def _send_round(self, w: WindowState) -> None:
        """The round opened by ``w.step``: a token along its order, or one broadcast."""
        step: Step = w.step
        w.round, w.replies = step.round, {}
        n, pools = w.game.n_players, w.game.n_pools
        state = {
            "window": w.index,
            "round": step.round,
            "player": -1,
            "profile": as_profile(step.profile),
            "improvement": 0.0,
        }
        if step.simultaneous:
            for i in step.order:
                msg = {**state, "route": (self.me,)}
                self.out.sends.append(Send(w.players[i], "strategy", msg, strategy_size(n, pools)))
            return
        route = tuple(w.players[i] for i in step.order[1:]) + (self.me,)
        first = w.players[step.order[0]]
        self.out.sends.append(
            Send(first, "strategy", {**state, "route": route}, strategy_size(n, pools))
        )

    def _feed(self, w: WindowState, replies: dict[int, np.ndarray], now: float) -> None:
        """Feed a completed round's replies to the dynamics, in step order."""
        try:
            for _ in w.step.order:
                w.step = w.steps.send(replies[w.step.player])
        except StopIteration as stop:
            traj = stop.value
            reason = "converged" if traj.converged else "max-rounds"
            self._finish(w, traj, reason, now)
            return
        self._send_round(w)

    def _stop(self, w: WindowState, reason: str, now: float) -> None:
        try:
            w.steps.throw(StopDynamics())
        except StopIteration as stop:
            self._finish(w, stop.value, reason, now)

    def _finish(self, w: WindowState, traj: Any, reason: str, now: float) -> None:
        # converged: the equilibrium reached; stopped unconverged (round budget, max_rounds):
        # the least-regret profile played (best iterate), whose certificate is recorded
        x = traj.final_profile if traj.converged else traj.best_profile
        cert, slices = conclude(w.game, x, self.params)
        for i, (s, b) in enumerate(w.dist.keys):
            for p, pool in enumerate(w.dist.pools):
                self.last_strategy[(f"{s}@bs{b}", pool)] = float(x[i, p])
        w.stop_reason = reason
        self._conclude(w, w.game, x, slices, cert.welfare, cert.optimum_welfare, now, cert, traj)

    # -- grants (SLICE messages) -------------------------------------------------------------
    def _conclude(
        self,
        w: WindowState,
        game: SlicingGame,
        profile: np.ndarray,
        slices: np.ndarray,
        welfare: float,
        optimum: float,
        now: float,
        cert: Any = None,
        trajectory: Any = None,
    ) -> None:
        dist = w.dist
        groups = tuple(f"{s}@bs{b}" for s, b in dist.keys)
        members = tuple(
            tuple(sorted(r.user for r in w.demands.values() if self.group_of(r) == key))
            for key in groups
        )
        grant = {
            "window": w.index,
            "groups": groups,
            "members": members,
            "pools": dist.pools,
            "slices": as_profile(slices),
            "start_s": w.start_s,
            "length_s": w.length_s,
        }
        for agent in self.registry.agents("orchestrator", "cell", "edge-server"):
            self.out.sends.append(Send(agent, "slice", grant))
        self.granted = groups
        w.phase, w.steps = "done", None
        reason = w.stop_reason or self.params.mechanism
        played = self.params.dynamics if trajectory is not None else ""
        self.concluded.append(
            WindowOutcome(
                w,
                self.params.mechanism,
                dist,
                game,
                np.array(profile),
                np.array(slices),
                members,
                welfare,
                optimum,
                cert,
                trajectory,
                0,
                now,
                reason,
                played,
            )
        )
