"""Edge orchestrators: the tailored network orchestration of seed 000 Fig. 4 at one edge server.

An orchestrator lives on an edge-server node (the "local controller" of Sec. III.A). It hears
its users' QoE models from their level-one DAs (``QOE_MODEL`` messages) and the slice grants of
the level-two DAs (``SLICE``). Every ``das.orchestration_period_s`` it allocates, inside each
slice (a group of users at one cell), the slice's bandwidth and computing: users are grouped by
QoE model structure, a branching dueling Q-network sets group shares, and SLSQP (or the
knapsack DP) splits each group's share among its users — or round robin / the PDRL network for
the benchmark schemes (``policies.scheduling.orchestrate``). Bandwidth decisions travel to the
cells as ``ALLOCATION`` messages; computing is this node's own resource and is set directly.
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import Allocation, ComputeAllocation, Kind, QoeModelNotice, SliceGrant
from policies.qoe import qoe_vs_bandwidth
from policies.scheduling import group_by_structure
from policies.scheduling.orchestrate import orchestrate, train_scheduler


def _qoe_fn(n: QoeModelNotice):  # noqa: ANN202 - a QoE-vs-bandwidth callable
    ctx = {k: v for k, v in n.context.items() if k in ("delay", "jitter", "loss", "B", "C")}

    def qoe(b: Any) -> np.ndarray:
        b = np.asarray(b, float)
        return np.broadcast_to(qoe_vs_bandwidth(n.model, b, n.spectral_eff, ctx), b.shape).copy()

    return qoe


class EdgeOrchestrator(NetAgent):
    """Real-time allocation of an edge server's slices among its users."""

    role = "infrastructure"

    def __init__(self, model: mesa.Model, node: str, edge_index: int, ext: Any) -> None:
        super().__init__(model, node)
        self.edge_index = edge_index
        self.ext = ext
        self.gen = model.streams.get(f"orchestrator-{edge_index}")
        self.torch_gen = model.streams.torch_generator(
            f"orchestrator-{edge_index}", threads=model.cfg.scenario.torch_threads
        )
        self.notices: dict[int, QoeModelNotice] = {}
        self.grant: SliceGrant | None = None
        self.schedulers: dict[str, Any] = {}
        self.trained_window = -1
        self.rr_offset: dict[str, int] = {}
        self.trainings = 0
        self.updates: dict[str, int] = {}  # gradient steps each unit's scheduler received in total
        self.training_log: list[dict[str, Any]] = []
        self.due_s = model.now_s + ext.cfg.das.orchestration_period_s
        model.wake(self, self.due_s)

    def act(self) -> None:
        for msg in self.take_inbox():
            if msg.kind is Kind.QOE_MODEL:
                self.notices[msg.payload.user] = msg.payload
            elif msg.kind is Kind.SLICE:
                self.grant = msg.payload
        if self.model.now_s + 1e-9 >= self.due_s:
            self._orchestrate()
            self.due_s += self.ext.cfg.das.orchestration_period_s
            self.model.wake(self, self.due_s)

    # -- slices: which users share which budget -------------------------------------------
    def _units(self) -> list[tuple[str, list[QoeModelNotice], float, float]]:
        """(unit key, members, bandwidth Hz, cycles/s) per slice unit served by this edge.

        A unit's budget is its grant (SLICE message); before any grant, a fair share of the
        cell's bandwidth and of this server's computing among the users this orchestrator has
        heard of (its own QOE_MODEL notices; capacities from the scenario configuration).
        """
        cfg = self.model.cfg
        cell_edge = self.model.topology.cell_edge
        mine = [n for n in self.notices.values() if int(cell_edge[n.cell]) == self.edge_index]
        cell_hz = cfg.base_stations.bandwidth_mhz * 1e6
        cpu = cfg.edge.cpu_gcycles * 1e9
        per_cell: dict[int, int] = {}
        for n in mine:
            per_cell[n.cell] = per_cell.get(n.cell, 0) + 1
        units = []
        for key, members in self.ext.slice_units(mine).items():
            cell = members[0].cell
            grant = self.grant
            if grant is not None and key in grant.groups:
                pools = dict(zip(grant.pools, grant.slices[grant.groups.index(key)], strict=True))
                bw = pools.get(f"comm@bs{cell}", 0.0)
                cyc = pools.get(f"compute@edge{self.edge_index}", pools.get("compute", 0.0))
            else:
                bw = cell_hz * len(members) / per_cell[cell]
                cyc = cpu * len(members) / len(mine)
            units.append((key, members, min(bw, cell_hz), cyc))
        return units

    def _orchestrate(self) -> None:
        """Allocate every unit this edge serves, empty grants included: a unit granted nothing
        gets an all-zero allocation (its users' weights 0), never its old weights."""
        for key, members, budget_hz, budget_cycles in self._units():
            if not members:
                continue
            if budget_hz <= 0 and budget_cycles <= 0:
                zero = np.zeros(len(members))
                self._apply(key, members, zero, zero)
                continue
            alloc = self._allocate(key, members, max(budget_hz, 0.0), max(budget_cycles, 0.0))
            self._apply(key, members, alloc.bandwidth_hz, alloc.cycles_per_s)

    def _allocate(
        self, key: str, members: list[QoeModelNotice], budget_hz: float, budget_cycles: float
    ):  # noqa: ANN202 - scheduling Allocation
        # Groups by model family pair (S x I): users sharing a structure share a network branch.
        grouping = group_by_structure([f"{m.model.s_family}*{m.model.i_family}" for m in members])
        fns = [_qoe_fn(m) for m in members]
        ela = np.array([m.ela for m in members])
        se = np.array([m.spectral_eff for m in members])
        index = np.asarray(grouping.structure_index)[grouping.labels]
        states = np.array(
            [
                [
                    m.context.get("buffer_s", 0.0),
                    m.context.get("throughput", 0.0) * self.ext.cycles_per_bit,
                    m.context.get("quality", 0.0),
                    i,
                ]
                for m, i in zip(members, index, strict=True)
            ]
        )
        scheduler = self._scheduler(
            key, grouping.labels, index, fns, budget_hz, budget_cycles, ela, se
        )
        alloc = orchestrate(
            scheduler,
            grouping.labels,
            states,
            fns,
            budget_hz,
            budget_cycles,
            self.gen,
            ela=ela,
            spectral_efficiency=se,
            rr_offset=self.rr_offset.get(key, 0),
        )
        self.rr_offset[key] = alloc.next_rr_offset
        return alloc

    def _scheduler(self, key, labels, index, fns, budget_hz, budget_cycles, ela, se):  # noqa: ANN001, ANN202
        """The unit's scheduler, (re)trained in the DAs' emulator once per window, or sooner
        when the unit now has more groups (users, for PDRL) than its network has branches."""
        params = self.ext.scheduler_params
        size = len(fns) if params.scheduler == "pdrl" else int(labels.max()) + 1
        window = self.grant.window if self.grant is not None else -1  # from SLICE messages
        cached = self.schedulers.get(key)
        every = self.ext.cfg.das.retrain_every_windows
        if cached is not None:
            trained_size, trained_window, sched = cached
            if size <= trained_size and window - trained_window < every:
                return sched
        previous = cached[2] if cached is not None and cached[2].network is not None else None
        sched, log = train_scheduler(
            params,
            labels,
            index,
            fns,
            budget_hz,
            budget_cycles,
            self.gen,
            self.torch_gen,
            emulator=self.ext.cfg.scheduler_emulator,
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
                        "time_s": self.model.now_s,
                        "edge": self.edge_index,
                        "unit": key,
                        "window": window,
                        "training": self.trainings,
                        "warm_start": previous is not None,
                        **row,
                    }
                )
        return sched

    def _apply(
        self, key: str, members: list[QoeModelNotice], bandwidth_hz: np.ndarray, cycles: np.ndarray
    ) -> None:
        """Send the unit's allocation: bandwidth to each cell (ALLOCATION), computing to this
        edge server (COMPUTE); the cells and the server enforce them inside the slice."""
        rows = [self.model.agent(m.user).index for m in members]
        window = self.grant.window if self.grant is not None else -1
        self.send(
            self.model.edges[self.edge_index].unique_id,
            Kind.COMPUTE,
            ComputeAllocation(window, key, tuple(rows), tuple(float(c) for c in cycles)),
        )
        by_cell: dict[int, tuple[list[int], list[float]]] = {}
        for row, m, bw in zip(rows, members, bandwidth_hz, strict=True):
            users, weights = by_cell.setdefault(m.cell, ([], []))
            users.append(row)
            weights.append(float(max(bw, 0.0)))
        for cell, (users, weights) in by_cell.items():
            self.send(
                self.model.cells[cell].unique_id,
                Kind.ALLOCATION,
                Allocation(tuple(users), tuple(weights), key, window),
            )
