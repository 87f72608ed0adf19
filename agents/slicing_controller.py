"""The slicing controller: the level-two DA that runs the slice windows (seed 000 Sec. III.D).

It lives on the cloud node and knows users only through the level-one DAs' messages. Each
slice window it

1. opens the window: its length is the first window's, the fixed one of schemes without
   adaptive windows, or the adaptive window of Sec. III.D.2 — the network dynamics analysed
   from the DAs' DYNAMICS reports (``dynamics_index``), discretised into five stages
   (``slice_window_for``), with stage thresholds tuned by the DAs' QoE feedback, their ELA
   achievable ratio (``tune_thresholds``) — and sends a WINDOW notice to every level-one DA;
2. collects their DEMAND reports (until all arrived or ``COLLECT_DEADLINE_S``) and abstracts the
   demand distribution by (service type = ELA tier, base station) (Sec. III.D.1);
3. slices: greedy (or demand-proportional) directly; the best-response game or proportional
   share (Kelly) as message rounds with the :class:`agents.level_two.LevelTwoDA` players —
   Gauss-Seidel token passing or damped simultaneous replies, every hop one STRATEGY message
   over the topology — until no player improved by more than epsilon, ``max_rounds`` are spent
   or ``ROUND_BUDGET`` of the window has passed;
4. certifies the final profile (regrets by exact best response, Nash gap, NashConv, welfare,
   centralised optimum, price of anarchy), reserves the slices in the model's ledger (owner =
   group key, the previous window's reservations released first) and sends SLICE grants to
   every edge orchestrator.

Which information each step uses is stated where it is used; the dynamics analysis runs on
reports one window old, since the DAs report dynamics together with their demand (after the
window length must already be known).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np

from agents.base import NetAgent
from agents.level_two_helpers import (
    DEMAND_OF_KIND,
    HISTORY,
    as_profile,
    demand_records,
    split_shared_pools,
    strategy_size,
    window_dynamics,
)
from agents.slicing_window import WindowOutcome, WindowState
from model.messages import (
    DemandReport,
    DynamicsReport,
    GameNotice,
    Kind,
    Message,
    SliceGrant,
    Strategy,
    WindowNotice,
)
from model.resources import Kind as Res
from policies.slicing import (
    DemandDistribution,
    EquilibriumCertificate,
    RoundRecord,
    SlicingGame,
    SlicingParams,
    Trajectory,
    aggregate_demand,
    certify_game,
    certify_kelly,
    decide_slices,
    feasible_slices,
    game_from_distribution,
    kelly_nash_gap,
    kelly_shares,
    nash_gap,
    potential,
    slice_window_for,
    tune_thresholds,
)

# Demand reports need two hops edge <-> cloud (~2 slots); a DA silent this long is left out.
COLLECT_DEADLINE_S = 10.0
# Share of a window the game may spend in rounds before its current profile is certified, so
# slices of a window are always granted well inside it.
ROUND_BUDGET = 0.5
GAME_MECHANISMS = ("game", "kelly")


# --- the agent -----------------------------------------------------------------------------------


class SlicingController(NetAgent):
    """Level-two DA on the cloud: slice windows, demand abstraction, slicing, grants."""

    role = "level_two"

    def __init__(
        self,
        model: mesa.Model,
        ext: Any,
        record: Callable[[WindowOutcome], None],
        player_for: Callable[[str], int],
    ) -> None:
        super().__init__(model, model.cloud.node)
        self.ext = ext
        self.params: SlicingParams = ext.slicing_params
        for kind in self.params.resource_kinds:
            if kind not in DEMAND_OF_KIND:
                raise ValueError(f"slicing.resource_kinds: level-one DAs report no {kind!r} demand")
        self.record = record
        self.player_for = player_for
        self.gen = model.streams.get("level-two")
        self.thresholds = tuple(self.params.stage_thresholds)
        self.history: dict[int, list[DynamicsReport]] = {}
        self.lengths_s: list[float] = []
        self.window: WindowState | None = None
        self.next_start_s = 0.0
        self.granted: tuple[str, ...] = ()
        self.last_strategy: dict[tuple[str, str], float] = {}
        self.late_reports = 0
        # The first window opens once every DA has heard from its user (it needs the cell).
        model.wake(self, ext.cfg.users.report_period_s)

    # -- inbox and timers ---------------------------------------------------------------------
    def act(self) -> None:
        for msg in self.take_inbox():
            self._receive(msg)
        w, now = self.window, self.model.now_s + 1e-9
        if w is None or (w.phase == "done" and now >= self.next_start_s):
            self._open_window()
        elif w.phase == "collect" and (len(w.demands) >= len(self.ext.das) or now >= w.deadline_s):
            self._decide(w)
        elif w.phase == "rounds" and now >= w.round_deadline_s:
            self._finish(w, converged=False)

    def _receive(self, msg: Message) -> None:
        p, w = msg.payload, self.window
        if msg.kind is Kind.DEMAND:
            if w is not None and w.phase == "collect" and p.window == w.index:
                w.demands[p.user] = p
            else:
                self.late_reports += 1
        elif msg.kind is Kind.DYNAMICS:
            hist = self.history.setdefault(p.user, [])
            hist.append(p)
            del hist[:-HISTORY]
        elif msg.kind is Kind.STRATEGY and isinstance(p, Strategy):
            if w is not None and w.phase == "rounds" and (p.window, p.round) == (w.index, w.round):
                self._on_strategy(w, p)

    # -- slice windows (Sec. III.D.2, adaptive slice window) ------------------------------------
    def _open_window(self) -> None:
        now = self.model.now_s
        index = 0 if self.window is None else self.window.index + 1
        if self.window is not None:
            self.lengths_s.append(self.window.length_s)
        length_s, dyn, feedback = self.window_length(index)
        w = WindowState(
            index,
            now,
            length_s,
            dyn,
            self.thresholds,
            feedback,
            deadline_s=now + COLLECT_DEADLINE_S,
        )
        self.window = w
        self.next_start_s = now + length_s
        self.ext.begin_window(index, now, length_s)
        notice = WindowNotice(index, now, length_s)
        for da in self.ext.das:
            self.send(da.unique_id, Kind.WINDOW, notice)
        self.model.wake(self, w.deadline_s)
        self.model.wake(self, self.next_start_s)

    def window_length(self, index: int) -> tuple[float, float, float]:
        """(length s, dynamics index, QoE feedback) of window ``index``, opened now.

        Adaptive windows first tune the stage thresholds by the QoE feedback (the mean of the
        DAs' latest reported ELA ratios), then map the dynamics index to a stage.
        """
        das = self.ext.cfg.das
        if index == 0:
            return das.first_window_min * 60.0, float("nan"), float("nan")
        if self.ext.policies.window == "fixed":
            return das.fixed_window_min * 60.0, float("nan"), float("nan")
        ratios = [h[-1].ela_ratio for h in self.history.values() if h]
        finite = [r for r in ratios if np.isfinite(r)]
        feedback = float(np.mean(finite)) if finite else float("nan")
        if finite:
            self.thresholds = tune_thresholds(self.thresholds, feedback, self.params)
        interval_min = float(np.mean(self.lengths_s[-(HISTORY - 1) :])) / 60.0
        dyn = window_dynamics(self.history, interval_min, self.params)
        minutes = slice_window_for(dyn, self.thresholds, self.params.window_stages_min)
        return minutes * 60.0, dyn, feedback

    # -- demand abstraction and the mechanism (Sec. III.D.1-2) ---------------------------------
    def _decide(self, w: WindowState) -> None:
        w.decided_at_s = self.model.now_s
        params = self.params
        records = demand_records(list(w.demands.values()), self._service_of, params.resource_kinds)
        if not records:
            w.phase = "done"
            return
        edge_of = {j: int(e) for j, e in enumerate(self.model.topology.cell_edge)}
        dist = split_shared_pools(aggregate_demand(records, params), edge_of)
        caps = self._capacities(dist.pools)
        w.dist, w.capacities = dist, caps
        if params.mechanism not in GAME_MECHANISMS:
            d = decide_slices(dist, caps, params)
            self._conclude(w, d.game, d.slices, d.slices, d.welfare, d.optimum_welfare)
            return
        self._start_game(w, game_from_distribution(dist, caps, params))

    def _service_of(self, r: DemandReport) -> str:
        return self.ext.group_key(r.cell, r.ela).rsplit("@", 1)[0]

    def _pool_node(self, pool: str) -> tuple[str, Res]:
        kind, where = pool.split("@")
        if where.startswith("edge"):
            return self.model.edges[int(where.removeprefix("edge"))].node, Res(kind)
        return self.model.cells[int(where.removeprefix("bs"))].node, Res(kind)

    def _capacities(self, pools: Sequence[str]) -> np.ndarray:
        """What the slices may use: free capacity plus what our own groups hold now."""
        ledger, out = self.model.ledger, []
        for pool in pools:
            node, kind = self._pool_node(pool)
            mine = sum(ledger.held(node, kind, key) for key in self.granted)
            out.append(ledger.free(node, kind) + mine)
        return np.array(out, dtype=float)

    # -- best-response rounds as messages --------------------------------------------------------
    def _start_game(self, w: WindowState, game: SlicingGame) -> None:
        params = self.params
        w.game = game
        w.players = tuple(self.player_for(f"{s}@bs{b}") for s, b in w.dist.keys)
        w.profile = self._warm_start(w.dist, game)
        w.phase = "rounds"
        w.round_deadline_s = w.start_s + ROUND_BUDGET * w.length_s
        w.strategy_base = self.model.bus.sent[Kind.STRATEGY.value]
        w.records = [self._round_record(w, 0)]
        size = 64 + 8 * (3 * game.n_players * game.n_pools + 2 * game.n_pools + game.n_players)
        for i, pid in enumerate(w.players):
            self.send(
                pid,
                Kind.STRATEGY,
                GameNotice(
                    w.index,
                    i,
                    w.players,
                    game,
                    params.mechanism,
                    params.dynamics,
                    params.kelly_reserve_bid,
                ),
                size,
            )
        self.model.wake(self, w.round_deadline_s)
        self._next_round(w)

    def _warm_start(self, dist: DemandDistribution, game: SlicingGame) -> np.ndarray:
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

    def _next_round(self, w: WindowState) -> None:
        w.round += 1
        w.replies = {}
        n = len(w.players)
        size = strategy_size(n, w.game.n_pools)
        state = Strategy(w.index, w.round, -1, as_profile(w.profile), 0.0)
        if self.params.dynamics == "sequential":
            order = self.gen.permutation(n) if self.params.player_order == "shuffled" else range(n)
            order = [int(i) for i in order]
            route = tuple(w.players[i] for i in order[1:]) + (self.unique_id,)
            self.send(
                w.players[order[0]], Kind.STRATEGY, dataclasses.replace(state, route=route), size
            )
            return
        for pid in w.players:
            self.send(pid, Kind.STRATEGY, dataclasses.replace(state, route=(self.unique_id,)), size)

    def _on_strategy(self, w: WindowState, s: Strategy) -> None:
        if self.params.dynamics == "sequential":
            w.profile = np.array(s.profile, dtype=float)
            improvement = s.improvement
        else:
            w.replies[s.player] = (np.array(s.profile[0], dtype=float), s.improvement)
            if len(w.replies) < len(w.players):
                return
            eta = self.params.damping
            if self.params.mechanism == "game" and w.game.variant == "capacity-coupled":
                eta = min(eta, 1.0 / len(w.players))  # keeps every iterate within capacity
            responses = np.stack([w.replies[i][0] for i in range(len(w.players))])
            w.profile = (1.0 - eta) * w.profile + eta * responses
            improvement = max(v[1] for v in w.replies.values())
        w.improvements.append(float(improvement))
        w.records.append(self._round_record(w, w.round))
        if improvement <= self.params.epsilon:
            self._finish(w, converged=True)
        elif w.round >= self.params.max_rounds:
            self._finish(w, converged=False)
        else:
            self._next_round(w)

    def _round_record(self, w: WindowState, r: int) -> RoundRecord:
        """Monitor of the dynamics (not used to decide): potential and Nash gap per round."""
        x, game = w.profile.copy(), w.game
        if self.params.mechanism == "kelly":
            return RoundRecord(
                r, x, float("nan"), kelly_nash_gap(game, x, self.params.kelly_reserve_bid)
            )
        return RoundRecord(r, x, potential(game, x), nash_gap(game, x))

    def _finish(self, w: WindowState, converged: bool) -> None:
        game, x, reserve = w.game, w.profile, self.params.kelly_reserve_bid
        if self.params.mechanism == "kelly":
            cert = certify_kelly(game, x, reserve)
            slices = kelly_shares(game, x, reserve)
        else:
            cert = certify_game(game, x)
            slices = feasible_slices(x, w.capacities)
        for i, (s, b) in enumerate(w.dist.keys):
            for p, pool in enumerate(w.dist.pools):
                self.last_strategy[(f"{s}@bs{b}", pool)] = float(x[i, p])
        trajectory = Trajectory(tuple(w.records), converged)
        self._conclude(w, game, x, slices, cert.welfare, cert.optimum_welfare, cert, trajectory)

    # -- grants (ledger + SLICE messages) ---------------------------------------------------------
    def _conclude(
        self,
        w: WindowState,
        game: SlicingGame,
        profile: np.ndarray,
        slices: np.ndarray,
        welfare: float,
        optimum: float,
        cert: EquilibriumCertificate | None = None,
        trajectory: Trajectory | None = None,
    ) -> None:
        dist = w.dist
        groups = tuple(f"{s}@bs{b}" for s, b in dist.keys)
        self._reserve(groups, dist.pools, slices)
        members = tuple(
            tuple(
                sorted(
                    r.user
                    for r in w.demands.values()
                    if r.cell >= 0 and self.ext.group_key(r.cell, r.ela) == key
                )
            )
            for key in groups
        )
        grant = SliceGrant(w.index, groups, members, dist.pools, as_profile(slices))
        for orch in self.ext.orchestrators:
            self.send(orch.unique_id, Kind.SLICE, grant)
        w.phase = "done"
        messages = self.model.bus.sent[Kind.STRATEGY.value] - w.strategy_base if w.players else 0
        self.record(
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
                messages,
                self.model.now_s,
            )
        )

    def _reserve(self, groups: tuple[str, ...], pools: tuple[str, ...], slices: np.ndarray) -> None:
        """Release the previous window's reservations, then hold this window's (ledger-checked)."""
        ledger = self.model.ledger
        for key in self.granted:
            ledger.release_owner(key)
        for i, key in enumerate(groups):
            for p, pool in enumerate(pools):
                if slices[i, p] > 0:
                    node, kind = self._pool_node(pool)
                    ledger.reserve(node, kind, key, float(slices[i, p]))
        self.granted = groups
