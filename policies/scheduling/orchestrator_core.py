"""The edge orchestrator's decisions, Mesa-free (seed 000 Sec. III.C.3, Fig. 4).

:class:`OrchestratorCore` holds what an orchestrator knows — the QoE model notices of its users'
level-one DAs and the latest slice grant — and, when asked, allocates every slice unit it serves
(``policies.scheduling.units``): users grouped by QoE model structure, the unit's scheduler (a
branching dueling Q-network, or PDRL / round robin for the benchmark schemes) sets the group
shares, SLSQP / water-filling / the knapsack DP splits them among the users
(``policies.scheduling.orchestrate``). A unit granted nothing gets an all-zero allocation.

Each unit's scheduler persists across windows: it is fine-tuned (warm-started) every
``retrain_every`` windows, or sooner when the unit now has more groups (users, for PDRL) than
its network has branches; the learning curve of every training is kept in ``training_log``
(the run's ``scheduler_training`` table). The agent shell (``agents.orchestrator``) turns the
decisions into ALLOCATION / COMPUTE messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.qoe import qoe_vs_bandwidth
from policies.scheduling.grouping import group_by_structure
from policies.scheduling.units import UnitRules, lift_to_floors, unit_budgets

_CONTEXT = ("delay", "jitter", "loss", "B", "C")


def qoe_fn(n: Any):  # noqa: ANN201 - a QoE-vs-bandwidth callable of one notice
    ctx = {k: v for k, v in n.context.items() if k in _CONTEXT}

    def qoe(b: Any) -> np.ndarray:
        b = np.asarray(b, float)
        return np.broadcast_to(qoe_vs_bandwidth(n.model, b, n.spectral_eff, ctx), b.shape).copy()

    return qoe


@dataclass(frozen=True, slots=True)
class OrchestratorConfig:
    """An orchestrator's configuration (from the scenario and the scheme)."""

    edge_index: int
    cells: tuple[int, ...]  # the cells whose users this edge serves (its deployment)
    rules: UnitRules
    scheduler: Any  # SchedulerParams
    emulator: Any  # EmulatorParams
    retrain_every: int
    cycles_per_bit: float


@dataclass(frozen=True, slots=True)
class Decision:
    """One unit's allocation: per member (row, cell) its Hz and cycles/s."""

    key: str
    window: int
    rows: tuple[int, ...]
    cells: tuple[int, ...]
    bandwidth_hz: np.ndarray
    cycles_per_s: np.ndarray


class OrchestratorCore:
    """What one edge orchestrator knows and decides (module docstring)."""

    def __init__(self, config: OrchestratorConfig, rng: np.random.Generator, torch_gen: Any):
        self.config = config
        self.rng = rng
        self.torch_gen = torch_gen
        self.notices: dict[int, Any] = {}
        self.grant: Any = None
        self.schedulers: dict[str, tuple[int, int, Any]] = {}
        self.rr_offset: dict[str, int] = {}
        self.trainings = 0
        self.updates: dict[str, int] = {}  # gradient steps each unit's scheduler received
        self.training_log: list[dict[str, Any]] = []

    # -- what arrives ----------------------------------------------------------------------
    def on_notice(self, notice: Any) -> None:
        self.notices[notice.user] = notice

    def on_grant(self, grant: Any) -> None:
        self.grant = grant

    @property
    def window(self) -> int:
        """The window of the latest grant (-1 before any): from SLICE messages only."""
        return self.grant.window if self.grant is not None else -1

    # -- what it decides -------------------------------------------------------------------
    def decide(self, now_s: float) -> list[Decision]:
        """Allocate every unit this edge serves, empty grants included (zeros, never the old
        weights)."""
        cfg = self.config
        mine = [n for n in self.notices.values() if n.cell in cfg.cells]
        out = []
        for unit in unit_budgets(mine, self.grant, cfg.edge_index, cfg.rules):
            members = unit.members
            if unit.bandwidth_hz <= 0 and unit.cycles_per_s <= 0:
                bw = cyc = np.zeros(len(members))
            else:
                alloc = self._allocate(
                    now_s, unit.key, members, max(unit.bandwidth_hz, 0.0),
                    max(unit.cycles_per_s, 0.0),
                )
                bw, cyc = self._floors(members, unit, alloc.bandwidth_hz, alloc.cycles_per_s)
            out.append(
                Decision(
                    unit.key,
                    self.window,
                    tuple(int(m.row) for m in members),
                    tuple(int(m.cell) for m in members),
                    np.maximum(np.asarray(bw, float), 0.0),
                    np.asarray(cyc, float),
                )
            )
        return out

    def _floors(self, members, unit, bw, cyc):  # noqa: ANN001, ANN202
        """Every user of a granted unit gets at least ``scheduler.min_user_rate_mbps`` worth
        of bandwidth (at its spectral efficiency) and computing, paid from the headroom of users
        above it (``units.lift_to_floors``): starvation inside a slice is never an accident."""
        rate = self.config.scheduler.min_user_rate_mbps * 1e6
        if rate <= 0:
            return bw, cyc
        se = np.array([max(float(m.spectral_eff), 1e-6) for m in members])
        bw = lift_to_floors(bw, rate / se, unit.bandwidth_hz)
        cyc = lift_to_floors(cyc, np.full(len(members), rate * self.config.cycles_per_bit),
                             unit.cycles_per_s)
        return bw, cyc

    def _allocate(self, now_s, key, members, budget_hz, budget_cycles):  # noqa: ANN001, ANN202
        # Groups by model family pair (S x I): users sharing a structure share a network branch.
        grouping = group_by_structure([f"{m.model.s_family}*{m.model.i_family}" for m in members])
        fns = [qoe_fn(m) for m in members]
        ela = np.array([m.ela for m in members])
        se = np.array([m.spectral_eff for m in members])
        index = np.asarray(grouping.structure_index)[grouping.labels]
        cpb = self.config.cycles_per_bit
        states = np.array(
            [
                [
                    m.context.get("buffer_s", 0.0),
                    m.context.get("throughput", 0.0) * cpb,
                    m.context.get("quality", 0.0),
                    i,
                ]
                for m, i in zip(members, index, strict=True)
            ]
        )
        from policies.scheduling.orchestrate import orchestrate  # torch: only when scheduling

        scheduler = self._scheduler(
            now_s, key, grouping.labels, index, fns, budget_hz, budget_cycles, ela, se
        )
        alloc = orchestrate(
            scheduler,
            grouping.labels,
            states,
            fns,
            budget_hz,
            budget_cycles,
            self.rng,
            ela=ela,
            spectral_efficiency=se,
            rr_offset=self.rr_offset.get(key, 0),
        )
        self.rr_offset[key] = alloc.next_rr_offset
        return alloc

    def _scheduler(self, now_s, key, labels, index, fns, budget_hz, budget_cycles, ela, se):  # noqa: ANN001, ANN202
        """The unit's scheduler, (re)trained in the DAs' emulator (module docstring)."""
        cfg = self.config
        params = cfg.scheduler
        size = len(fns) if params.scheduler == "pdrl" else int(labels.max()) + 1
        window = self.window
        cached = self.schedulers.get(key)
        if cached is not None:
            trained_size, trained_window, sched = cached
            if size <= trained_size and window - trained_window < cfg.retrain_every:
                return sched
        previous = cached[2] if cached is not None and cached[2].network is not None else None
        from policies.scheduling.orchestrate import train_scheduler

        sched, log = train_scheduler(
            params,
            labels,
            index,
            fns,
            budget_hz,
            budget_cycles,
            self.rng,
            self.torch_gen,
            emulator=cfg.emulator,
            ela=ela,
            spectral_efficiency=se,
            previous=previous,
        )
        self.schedulers[key] = (size, window, sched)
        if params.scheduler != "round-robin":
            self.trainings += 1
            self.updates[key] = self.updates.get(key, 0) + log.updates
            for row in log.rows:  # the learning curve of this training (scheduler_training)
                self.training_log.append(
                    {
                        "time_s": now_s,
                        "edge": cfg.edge_index,
                        "unit": key,
                        "window": window,
                        "training": self.trainings,
                        "warm_start": previous is not None,
                        **row,
                    }
                )
        return sched
