"""Infrastructure agents: base stations / RSUs, edge servers and the cloud.

They own the node's resource capacities in the model's ledger and are the endpoints that
users report to when no digital agent sits between them (seed 000 Fig. 1, seed 003 Fig. 1).
"""

from __future__ import annotations

import mesa

from agents.base import NetAgent
from model.messages import Kind
from model.resources import Kind as Res


class BaseStation(NetAgent):
    """A BS (campus) or RSU (highway): communication bandwidth and sensing at one cell."""

    role = "infrastructure"

    def __init__(
        self, model: mesa.Model, node: str, cell: int, bandwidth_hz: float, sensing: float
    ):
        super().__init__(model, node)
        self.cell = cell
        model.ledger.add_capacity(node, Res.COMM, bandwidth_hz)
        model.ledger.add_capacity(node, Res.SENSING, sensing)

    @property
    def xy(self) -> tuple[float, float]:
        return tuple(self.model.world.bs_pos[self.cell])

    def act(self) -> None:
        """Apply per-user allocation messages from the edge orchestrator to the cell's weights."""
        for msg in self.take_inbox():
            if msg.kind is Kind.ALLOCATION:
                users, weights = msg.payload.users, msg.payload.weights
                self.model.world.weight[list(users)] = weights


class EdgeServer(NetAgent):
    """An edge server: computing and caching; hosts level-one DAs and edge twins."""

    role = "infrastructure"

    def __init__(
        self,
        model: mesa.Model,
        node: str,
        index: int,
        cpu_hz: float,
        cache_b: float,
        sensing: float,
    ):
        super().__init__(model, node)
        self.index = index
        model.ledger.add_capacity(node, Res.COMPUTE, cpu_hz)
        model.ledger.add_capacity(node, Res.CACHE, cache_b)
        model.ledger.add_capacity(node, Res.SENSING, sensing)
        self.reports_received = 0
        self.latest: dict[int, object] = {}

    def act(self) -> None:
        """Keep the latest QoS report of every user that reports here directly."""
        for msg in self.take_inbox():
            if msg.kind is Kind.QOS_REPORT:
                self.reports_received += 1
                self.latest[msg.payload.user] = msg.payload


class Cloud(NetAgent):
    """The cloud: hosts level-two DAs and the cloud twin."""

    role = "infrastructure"

    def __init__(self, model: mesa.Model, node: str, cpu_hz: float, storage_b: float):
        super().__init__(model, node)
        model.ledger.add_capacity(node, Res.COMPUTE, cpu_hz)
        model.ledger.add_capacity(node, Res.CACHE, storage_b)

    def act(self) -> None:
        self.take_inbox()
