"""Edge and cloud digital twins as Mesa agents (seed 003, Sec. III.B-III.C, Fig. 3 and 5).

Both are thin: they read their inbox, hand each message to their Mesa-free core
(:class:`policies.twins.twin_edge.EdgeTwinCore`, :class:`policies.twins.twin_cloud.CloudTwinCore`)
and send what the core returns over the message bus. What is Mesa-specific stays here:

* **hosting and migration** (Sec. III.B): an edge twin lives on the edge server of its
  cluster's RSU (its ``node``). When a report shows the cluster under an RSU of another edge
  server, the twin sends its state (a ``migration`` message of ``state_nbytes`` bytes) to that
  server; it keeps its mail, unprocessed, until the state has arrived, then changes ``node``.
* **compute time**: a learning step's result leaves after ``work_cycles`` over the twin's share
  of its edge server's CPU (shared with the other twins hosted there), times a random load
  factor (stream ``twin-compute-<plvn>``); this and migrations make stragglers in meta rounds.
* **timers** of the cloud twin: a meta round every ``meta_round_period_s``, a deadline
  ``round_timeout_s`` after each round opens (``model.wake``).

Every lifecycle event goes to the run's twins table (``log.add``).
"""

from __future__ import annotations

import heapq
from typing import Any

import mesa

from agents.base import NetAgent
from model.messages import Kind, Message, register_payload
from model.topology import CLOUD, edge_node
from policies.twins.twin_cloud import CloudOut, CloudTwinCore
from policies.twins.twin_edge import EdgeTwinCore, Outgoing, TwinEvent
from policies.twins.twin_params import TwinOpsParams
from policies.twins.twin_payloads import (
    AttributeReport,
    MetaUpdate,
    MigrationNotice,
    ModelRequest,
    ModelShipment,
    TwinReport,
)

_KINDS = {"attributes": Kind.ATTRIBUTES, "model_request": Kind.MODEL_REQUEST,
          "meta_update": Kind.META_UPDATE, "individual": Kind.META_MODEL}


def register_twin_payloads() -> None:
    """Declare the payload type of every message kind of the twin protocol (idempotent)."""
    register_payload(Kind.TWIN_REPORT, TwinReport)
    register_payload(Kind.ATTRIBUTES, AttributeReport)
    register_payload(Kind.MODEL_REQUEST, ModelRequest)
    register_payload(Kind.META_MODEL, ModelShipment)
    register_payload(Kind.META_UPDATE, MetaUpdate)
    register_payload(Kind.MIGRATION, MigrationNotice)


register_twin_payloads()


class EdgeTwin(NetAgent):
    """The edge digital twin of one PLVN (same ID), hosted on an edge server."""

    role = "edge_twin"

    def __init__(self, model: mesa.Model, plvn: int, node: str, core: EdgeTwinCore,
                 cluster_id: int, cloud_id: int, log: Any) -> None:
        super().__init__(model, node)
        self.plvn = plvn
        self.core = core
        self.cluster_id = cluster_id
        self.cloud_id = cloud_id
        self.log = log
        self.migrations = 0
        self.migrating_to: str | None = None
        self.arrival_s = 0.0
        self._outbox: list[tuple[float, int, Outgoing]] = []
        self._seq = 0
        self._load = model.streams.get(f"twin-compute-{plvn}")

    def act(self) -> None:
        now = self.model.now_s
        if self.migrating_to is not None:
            if now + 1e-9 < self.arrival_s:
                return  # the state is in transit: mail waits in the inbox
            self._arrive(now)
        self._flush(now)
        mail = self.take_inbox()
        for k, msg in enumerate(mail):
            for out in self._handle(msg):
                self._queue(out, now)
            self._record(self.core.drain_events(), now)
            if msg.kind is Kind.TWIN_REPORT:
                self._follow(msg.payload.rsu, now)
            if self.migrating_to is not None:  # the rest waits for the state to arrive
                self.inbox = mail[k + 1:] + self.inbox
                break
        self._flush(now)

    def _handle(self, msg: Message) -> list[Outgoing]:
        if msg.kind is Kind.TWIN_REPORT:
            return self.core.on_report(msg.payload)
        if msg.kind is Kind.META_MODEL:
            return self.core.on_shipment(msg.payload)
        return []

    # -- compute delay and sending -----------------------------------------------------------
    def _cpu_share_hz(self) -> float:
        hosted = sum(1 for t in self.model.agents_by_type[EdgeTwin] if t.node == self.node)
        return self.model.cfg.edge.cpu_gcycles * 1e9 / max(hosted, 1)

    def _queue(self, out: Outgoing, now: float) -> None:
        delay = 0.0
        if out.work_cycles > 0:
            extra = self._load.exponential(self.core.s.ops.compute_jitter) \
                if self.core.s.ops.compute_jitter > 0 else 0.0
            delay = out.work_cycles / self._cpu_share_hz() * (1.0 + extra)
        self._seq += 1
        heapq.heappush(self._outbox, (now + delay, self._seq, out))
        if delay > 0:
            self.model.wake(self, now + delay)

    def _flush(self, now: float) -> None:
        """Send every result whose computation has finished (at its finishing time)."""
        if self.migrating_to is not None:
            return
        while self._outbox and self._outbox[0][0] <= now + 1e-9:
            done_s, _, out = heapq.heappop(self._outbox)
            receiver = self.cloud_id if out.to == "cloud" else self.cluster_id
            sent_s = max(done_s, self.arrival_s)  # results wait on board during a migration
            self.model.bus.send(sent_s, self.unique_id, receiver, _KINDS[out.kind], out.payload,
                                out.size_bytes)

    # -- migration (seed III.B: the edge DT follows its vehicle cluster) -------------------
    def _follow(self, rsu: int, now: float) -> None:
        target = edge_node(int(self.model.topology.cell_edge[rsu]))
        if target == self.node or self.migrating_to is not None:
            return
        server = next(e for e in self.model.edges if e.node == target)
        size = self.core.state_nbytes()
        msg = self.model.bus.send(now, self.unique_id, server.unique_id, Kind.MIGRATION,
                                  MigrationNotice(self.plvn, self.node, target, size), size)
        assert msg is not None
        self.migrating_to, self.arrival_s = target, msg.deliver_at
        self.migrations += 1
        self.model.wake(self, msg.deliver_at)
        self.log.add(now, self.unique_id, self.plvn, "migration_start", self.core.path,
                     f"{self.node} -> {target}, {size} B")

    def _arrive(self, now: float) -> None:
        source, target = self.node, self.migrating_to
        assert target is not None
        self.node, self.migrating_to = target, None
        self.log.add(self.arrival_s, self.unique_id, self.plvn, "migration", self.core.path,
                     f"{source} -> {self.node} arrived (processed at {now:g} s)")

    def _record(self, events: list[TwinEvent], now: float) -> None:
        for ev in events:
            self.log.add(now, self.unique_id, self.plvn, ev.event, ev.category, ev.details)


class CloudTwin(NetAgent):
    """The cloud digital twin: PLVN categories, hierarchical meta models, meta training."""

    role = "cloud_twin"

    def __init__(self, model: mesa.Model, core: CloudTwinCore, ops: TwinOpsParams,
                 log: Any) -> None:
        super().__init__(model, CLOUD)
        self.core = core
        self.ops = ops
        self.log = log
        self.twin_of: dict[int, int] = {}  # PLVN -> edge twin agent, learnt from messages
        self._timers: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._at(ops.meta_round_start_s, "tick", 0)

    def act(self) -> None:
        now = self.model.now_s
        out: list[CloudOut] = []
        for msg in self.take_inbox():
            out += self._handle(msg, now)
        while self._timers and self._timers[0][0] <= now + 1e-9:
            _, _, what, arg = heapq.heappop(self._timers)
            out += self._on_timer(what, arg, now)
        for o in out:
            self.send(self.twin_of[o.plvn], Kind.META_MODEL, o.payload, o.size_bytes)
        for plvn, ev in self.core.drain_events():
            self.log.add(now, self.unique_id, plvn, ev.event, ev.category, ev.details)

    def _handle(self, msg: Message, now: float) -> list[CloudOut]:
        if msg.kind is Kind.ATTRIBUTES:
            self.twin_of[msg.payload.plvn] = msg.sender
            self.core.on_attributes(msg.payload)
            return []
        if msg.kind is Kind.MODEL_REQUEST:
            self.twin_of[msg.payload.plvn] = msg.sender
            return self.core.on_request(msg.payload)
        if msg.kind is Kind.META_UPDATE:
            return self.core.on_update(msg.payload, now)
        return []

    def _on_timer(self, what: str, arg: int, now: float) -> list[CloudOut]:
        if what == "timeout":
            return self.core.on_timeout(arg, now)
        self._at(now + self.ops.meta_round_period_s, "tick", 0)
        out = self.core.on_tick(now)
        if self.core.round is not None and self.core.round.opened_s == now:
            self._at(self.core.round.deadline_s, "timeout", self.core.round.round_id)
        return out

    def _at(self, at_s: float, what: str, arg: int) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at_s, self._seq, what, arg))
        self.model.wake(self, at_s)
