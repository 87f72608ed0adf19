"""Edge orchestrators: the tailored network orchestration of seed 000 Fig. 4 at one edge server.

A thin Mesa shell around :class:`policies.scheduling.orchestrator_core.OrchestratorCore`. The
orchestrator lives on an edge-server node (the "local controller" of Sec. III.A):

* it announces itself to the level-two slicing controller (``REGISTER``: the cells it serves);
* it hears its users' QoE models from their level-one DAs (``QOE_MODEL``) and the slice grants
  of the level-two DAs (``SLICE``) and hands them to the core;
* every ``das.orchestration_period_s`` the core allocates every slice unit, and the decisions
  leave as messages: bandwidth to each cell (``ALLOCATION``), computing to this node's edge
  server (``COMPUTE``), which enforce them inside the slices.

Its address book (the cell agents and the edge server it talks to) and its configuration are
given at deployment; it reads no other agent's state.
"""

from __future__ import annotations

from collections.abc import Mapping

import mesa

from agents.base import NetAgent
from model.messages import Allocation, ComputeAllocation, Kind, Registration
from policies.scheduling.orchestrator_core import Decision, OrchestratorConfig, OrchestratorCore


class EdgeOrchestrator(NetAgent):
    """Real-time allocation of an edge server's slices among its users."""

    role = "infrastructure"

    def __init__(
        self,
        model: mesa.Model,
        node: str,
        config: OrchestratorConfig,
        period_s: float,
        cell_agents: Mapping[int, int],
        edge_server: int,
    ) -> None:
        super().__init__(model, node)
        self.edge_index = config.edge_index
        self.period_s = float(period_s)
        self.cell_agents = dict(cell_agents)  # cell index -> its base-station agent id
        self.edge_server = int(edge_server)
        name = f"orchestrator-{config.edge_index}"
        self.core = OrchestratorCore(
            config,
            model.streams.get(name),
            model.streams.torch_generator(name, threads=model.cfg.scenario.torch_threads),
        )
        self.due_s = model.now_s + self.period_s
        model.wake(self, self.due_s)

    # -- read-only views of the core (the run's outputs) ------------------------------------
    @property
    def training_log(self) -> list[dict]:
        return self.core.training_log

    @property
    def trainings(self) -> int:
        return self.core.trainings

    @property
    def updates(self) -> dict[str, int]:
        return self.core.updates

    @property
    def schedulers(self) -> dict:
        return self.core.schedulers

    # -- messages ----------------------------------------------------------------------------
    def announce(self, controller: int) -> None:
        """REGISTER with the slicing controller: this orchestrator and the cells it serves."""
        cfg = self.core.config
        reg = Registration(
            "orchestrator", self.unique_id, self.node, (), cfg.cells, self.edge_index
        )
        self.send(controller, Kind.REGISTER, reg)

    def act(self) -> None:
        for msg in self.take_inbox():
            if msg.kind is Kind.QOE_MODEL:
                self.core.on_notice(msg.payload)
            elif msg.kind is Kind.SLICE:
                self.core.on_grant(msg.payload)
        if self.model.now_s + 1e-9 >= self.due_s:
            for decision in self.core.decide(self.model.now_s):
                self._apply(decision)
            self.due_s += self.period_s
            self.model.wake(self, self.due_s)

    def _apply(self, d: Decision) -> None:
        """Send one unit's allocation: computing to the edge server, bandwidth per cell."""
        self.send(
            self.edge_server,
            Kind.COMPUTE,
            ComputeAllocation(d.window, d.key, d.rows, tuple(float(c) for c in d.cycles_per_s)),
        )
        by_cell: dict[int, tuple[list[int], list[float]]] = {}
        for row, cell, bw in zip(d.rows, d.cells, d.bandwidth_hz, strict=True):
            users, weights = by_cell.setdefault(cell, ([], []))
            users.append(row)
            weights.append(float(bw))
        for cell, (users, weights) in by_cell.items():
            self.send(
                self.cell_agents[cell],
                Kind.ALLOCATION,
                Allocation(tuple(users), tuple(weights), d.key, d.window),
            )
