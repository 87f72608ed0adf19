"""The message bus: timed delivery over the topology, with exact accounting.

``send`` stamps a message with its delivery time — now + path latency + size / bottleneck
bandwidth (:meth:`model.topology.Topology.route`) — and a global sequence number, and pushes
it on a heap. At the start of each step the model calls :meth:`MessageBus.deliver_due`, which
pops every message due by then in (time, sequence) order — ties always break the same way, as
in SimPy — into its receiver's inbox.

Accounting invariant, at all times and per kind: ``sent = delivered + in_flight +
undeliverable``. A message whose receiver no longer exists (at send or delivery time) is
recorded as undeliverable with its details, never silently dropped.

Why not Mesa's ``schedule_event``: Mesa holds callbacks by weak reference and pays one event
per message; one heap drained once per slot is simpler and cheaper for thousands of reports per
slot (see ``runs/benchmarks/world.py`` for the measured cost per message).
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from model.messages import DEFAULT_SIZE, PAYLOAD_TYPES, Kind, Message


class Receiver(Protocol):
    inbox: list[Message]


class MessageBus:
    """Heap of messages in flight plus per-kind counters."""

    def __init__(
        self,
        route: Callable[[str, str], tuple[float, float]],
        locate: Callable[[int], str | None],
        resolve: Callable[[int], Receiver | None],
    ) -> None:
        """
        Args:
            route: (src node, dst node) -> (latency s, bottleneck bit/s).
            locate: agent id -> the topology node it lives on (None if it no longer exists).
            resolve: agent id -> the agent object (None if it no longer exists).
        """
        self._route = route
        self._locate = locate
        self._resolve = resolve
        self._heap: list[tuple[float, int, Message]] = []
        self._seq = 0
        self.sent: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.undeliverable: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.undeliverable_log: list[tuple[int, str, int, int, float]] = []

    def send(
        self,
        now: float,
        sender: int,
        receiver: int,
        kind: Kind,
        payload: Any,
        size_bytes: int | None = None,
    ) -> Message | None:
        """Send ``payload`` from agent ``sender`` to agent ``receiver`` at time ``now`` (s).

        Returns the message, or None when the receiver does not exist (then it is counted as
        undeliverable and logged).

        Raises:
            TypeError: if the payload is not of the type registered for ``kind``.
        """
        allowed = PAYLOAD_TYPES.get(kind)
        if allowed and not isinstance(payload, allowed):
            names = ", ".join(t.__name__ for t in allowed)
            raise TypeError(
                f"{kind.value} message needs a {names} payload, got {type(payload).__name__}"
            )
        size = int(size_bytes if size_bytes is not None else DEFAULT_SIZE[kind])
        self._seq += 1
        self.sent[kind.value] += 1
        self.bytes_sent[kind.value] += size
        src, dst = self._locate(sender), self._locate(receiver)
        if src is None or dst is None:
            self._undeliverable(kind, self._seq, sender, receiver, now)
            return None
        latency, bottleneck = self._route(src, dst)
        return self._push(
            kind, sender, receiver, payload, size, now, now + latency + size * 8.0 / bottleneck
        )

    def _push(
        self,
        kind: Kind,
        sender: int,
        receiver: int,
        payload: Any,
        size: int,
        now: float,
        deliver_at: float,
    ) -> Message:
        msg = Message(kind, sender, receiver, payload, size, now, deliver_at, self._seq)
        heapq.heappush(self._heap, (deliver_at, self._seq, msg))
        return msg

    def send_routed(
        self,
        now: float,
        kind: Kind,
        senders: list[int],
        receivers: list[int],
        payloads: list[Any],
        latency_s: list[float],
        bottleneck_bps: list[float],
        size_bytes: int | None = None,
    ) -> None:
        """Send many messages of one kind whose routes the caller computed (vectorised).

        Same semantics and accounting as calling :meth:`send` once per message, in order; the
        caller guarantees every sender and receiver exists and that the routes are those of
        :meth:`model.topology.Topology.route` (the model's tests check both agree).
        """
        allowed = PAYLOAD_TYPES.get(kind, (object,))
        size = int(size_bytes if size_bytes is not None else DEFAULT_SIZE[kind])
        bits = size * 8.0
        for snd, rcv, payload, lat, bw in zip(
            senders, receivers, payloads, latency_s, bottleneck_bps, strict=True
        ):
            if not isinstance(payload, allowed):
                raise TypeError(f"{kind.value} message needs a {allowed} payload")
            self._seq += 1
            self._push(kind, snd, rcv, payload, size, now, now + lat + bits / bw)
        self.sent[kind.value] += len(senders)
        self.bytes_sent[kind.value] += size * len(senders)

    def _undeliverable(self, kind: Kind, seq: int, sender: int, receiver: int, t: float) -> None:
        self.undeliverable[kind.value] += 1
        self.undeliverable_log.append((seq, kind.value, sender, receiver, t))

    def deliver_due(self, now: float) -> list[Receiver]:
        """Move every message due by ``now`` into its receiver's inbox.

        Returns:
            The receivers that got mail, each once, in order of first delivery.
        """
        woken: dict[int, Receiver] = {}
        heap = self._heap
        while heap and heap[0][0] <= now + 1e-12:
            msg = heapq.heappop(heap)[2]
            agent = self._resolve(msg.receiver)
            if agent is None:
                self._undeliverable(msg.kind, msg.seq, msg.sender, msg.receiver, now)
                continue
            agent.inbox.append(msg)
            self.delivered[msg.kind.value] += 1
            woken[msg.receiver] = agent
        return list(woken.values())

    @property
    def in_flight(self) -> Counter[str]:
        return Counter(m.kind.value for _, _, m in self._heap)

    def totals(self) -> dict[str, int]:
        """Overall counters; ``sent == delivered + in_flight + undeliverable`` always holds."""
        return {
            "sent": sum(self.sent.values()),
            "delivered": sum(self.delivered.values()),
            "in_flight": len(self._heap),
            "undeliverable": sum(self.undeliverable.values()),
            "bytes": sum(self.bytes_sent.values()),
        }
