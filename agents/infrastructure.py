"""Infrastructure agents: base stations / RSUs, edge servers and the cloud.

They own the node's resource capacities in the model's ledger and are the endpoints that
users report to when no digital agent sits between them (seed 000 Fig. 1, seed 003 Fig. 1).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import Kind, MessageBatch
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


class LatestReports:
    """The newest QoS report of every user that reported, kept column-wise.

    Batches are stored as they arrive and compacted (last row per user wins) once they hold
    four times as many rows as there are users, so the cost per report is a few array
    operations.
    """

    def __init__(self) -> None:
        self._parts: list[MessageBatch] = []
        self._rows = 0
        self._users = 0

    def add(self, batch: MessageBatch) -> None:
        self._parts.append(batch)
        self._rows += len(batch)
        if self._rows > 4 * max(self._users, 1024):
            self._compact()

    def _compact(self) -> MessageBatch | None:
        if not self._parts:
            return None
        merged = MessageBatch.concat(self._parts)
        users = merged.columns["user"]
        _, last_rev = np.unique(users[::-1], return_index=True)
        merged = merged.take(np.sort(len(users) - 1 - last_rev))
        self._parts, self._rows, self._users = [merged], len(merged), len(merged)
        return merged

    def as_dict(self) -> dict[int, object]:
        """user id -> its newest :class:`model.messages.QosReport`."""
        merged = self._compact()
        if merged is None:
            return {}
        return dict(zip(merged.columns["user"].tolist(), merged.payloads(), strict=True))


class EdgeServer(NetAgent):
    """An edge server: computing and caching; hosts level-one DAs and edge twins.

    Users without a digital agent report here; the server takes their reports as batches
    (``accepts_batches``), thousands per slot at 10^5 users.
    """

    role = "infrastructure"
    accepts_batches = True

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
        self._latest = LatestReports()

    @property
    def latest(self) -> dict[int, object]:
        """user id -> the newest QoS report it sent here."""
        return self._latest.as_dict()

    def act(self) -> None:
        """Keep the latest QoS report of every user that reports here directly."""
        for item in self.take_inbox():
            if item.kind is not Kind.QOS_REPORT:
                continue
            batch = item if isinstance(item, MessageBatch) else MessageBatch.from_messages([item])
            self.reports_received += len(batch)
            self._latest.add(batch)


class Cloud(NetAgent):
    """The cloud: hosts level-two DAs and the cloud twin."""

    role = "infrastructure"

    def __init__(self, model: mesa.Model, node: str, cpu_hz: float, storage_b: float):
        super().__init__(model, node)
        model.ledger.add_capacity(node, Res.COMPUTE, cpu_hz)
        model.ledger.add_capacity(node, Res.CACHE, storage_b)

    def act(self) -> None:
        self.take_inbox()
