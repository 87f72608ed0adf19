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

Batches (:meth:`MessageBus.send_batch`): thousands of QoS reports per slot are sent as one
:class:`model.messages.MessageBatch` (arrays of senders, receivers, times and payload columns)
instead of as thousands of Python objects. Each row is still one message — own sequence number,
delivery time and route, counted in every tally — and receivers that do not declare
``accepts_batches`` get them as ordinary single messages.
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from model.messages import (
    DEFAULT_SIZE,
    PAYLOAD_TYPES,
    Kind,
    Message,
    MessageBatch,
    payload_fields,
)


class Receiver(Protocol):
    inbox: list[Any]


Observer = Callable[[Kind, int, int, int], None]  # (kind, sender, receiver, size in bytes)


@functools.cache
def _check_columns(payload_type: type, columns: tuple[str, ...]) -> None:
    """Raise TypeError unless ``columns`` name fields of ``payload_type``, all required ones
    included (cached: a batch sender passes the same columns every slot)."""
    names, optional = payload_fields(payload_type)
    unknown = set(columns) - set(names)
    missing = set(names) - optional - set(columns)
    if unknown or missing:
        raise TypeError(
            f"{payload_type.__name__} columns: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )


class MessageBus:
    """Heap of messages (and message batches) in flight plus per-kind counters."""

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
        self._heap: list[tuple[float, int, Message | MessageBatch]] = []
        self._seq = 0
        self._in_flight = 0
        self.sent: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.undeliverable: Counter[str] = Counter()
        self.bytes_sent: Counter[str] = Counter()
        self.undeliverable_log: list[tuple[int, str, int, int, float]] = []
        self.observers: list[Observer] = []  # told of every message accepted for delivery

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
        deliver_at = now + latency + size * 8.0 / bottleneck
        msg = Message(kind, sender, receiver, payload, size, now, deliver_at, self._seq)
        heapq.heappush(self._heap, (deliver_at, self._seq, msg))
        self._in_flight += 1
        for observe in self.observers:
            observe(kind, sender, receiver, size)
        return msg

    def send_batch(
        self,
        now: float,
        kind: Kind,
        payload_type: type,
        senders: np.ndarray,
        receivers: np.ndarray,
        columns: dict[str, np.ndarray],
        latency_s: np.ndarray,
        bottleneck_bps: np.ndarray,
        size_bytes: int | None = None,
    ) -> MessageBatch | None:
        """Send many messages of one kind at once, column-wise, on routes the caller computed.

        Same semantics and accounting as calling :meth:`send` once per row, in row order (the
        model's tests check the routes against :meth:`model.topology.Topology.route`): row
        ``i`` carries ``payload_type(**{k: columns[k][i]})`` from ``senders[i]`` to
        ``receivers[i]``. Rows to receivers that do not exist are undeliverable; the senders
        must exist (they are the caller's own agents).

        Raises:
            TypeError: if ``payload_type`` is not registered for ``kind`` or the columns do not
                match its fields.
        """
        allowed = PAYLOAD_TYPES.get(kind, ())
        if allowed and payload_type not in allowed:
            raise TypeError(f"{kind.value} message needs a {allowed} payload, got {payload_type}")
        _check_columns(payload_type, tuple(columns))
        n = len(senders)
        if n == 0:
            return None
        size = int(size_bytes if size_bytes is not None else DEFAULT_SIZE[kind])
        seq = np.arange(self._seq + 1, self._seq + 1 + n, dtype=np.int64)
        self._seq += n
        self.sent[kind.value] += n
        self.bytes_sent[kind.value] += size * n
        senders = np.asarray(senders, dtype=np.int64)
        receivers = np.asarray(receivers, dtype=np.int64)
        deliver_at = (
            now
            + np.asarray(latency_s, dtype=float)
            + size * 8.0 / np.asarray(bottleneck_bps, dtype=float)
        )
        ok = self._exists(receivers)
        if not ok.all():
            for q, snd, rcv in zip(seq[~ok], senders[~ok], receivers[~ok], strict=True):
                self._undeliverable(kind, int(q), int(snd), int(rcv), now)
        order = np.flatnonzero(ok)
        order = order[np.argsort(deliver_at[order], kind="stable")]  # (time, seq) order
        if not len(order):
            return None
        batch = MessageBatch(
            kind,
            payload_type,
            size,
            seq[order],
            np.full(len(order), float(now)),
            deliver_at[order],
            senders[order],
            receivers[order],
            {k: np.asarray(v)[order] for k, v in columns.items()},
        )
        for arr in (batch.seq, batch.sent_at, batch.deliver_at, batch.sender, batch.receiver):
            arr.flags.writeable = False  # receivers share these rows: nobody may edit them
        for arr in batch.columns.values():
            arr.flags.writeable = False
        heapq.heappush(self._heap, (*batch.key, batch))
        self._in_flight += len(batch)
        for observe in self.observers:
            for snd, rcv in zip(batch.sender.tolist(), batch.receiver.tolist(), strict=True):
                observe(kind, snd, rcv, size)
        return batch

    def _exists(self, ids: np.ndarray) -> np.ndarray:
        """Mask of the agent ids that exist (looked up once per distinct id)."""
        missing = [i for i in set(ids.tolist()) if self._locate(i) is None]
        if not missing:
            return np.ones(len(ids), dtype=bool)
        return ~np.isin(ids, missing)

    def _undeliverable(self, kind: Kind, seq: int, sender: int, receiver: int, t: float) -> None:
        self.undeliverable[kind.value] += 1
        self.undeliverable_log.append((seq, kind.value, sender, receiver, t))

    def deliver_due(self, now: float) -> list[Receiver]:
        """Move every message due by ``now`` into its receiver's inbox.

        Inboxes fill in global (time, seq) order. A receiver whose class sets
        ``accepts_batches`` gets each batch's rows for it as one :class:`MessageBatch`, placed
        at its first row's (time, seq); everyone else gets single :class:`Message` objects.

        Returns:
            The receivers that got mail, each once, in order of first delivery.
        """
        heap = self._heap
        limit = now + 1e-12
        due: list[Message | MessageBatch] = []
        batched = False
        while heap and heap[0][0] <= limit:
            item = heapq.heappop(heap)[2]
            if isinstance(item, MessageBatch):
                batched = True
                j = int(np.searchsorted(item.deliver_at, limit, side="right"))
                if j < len(item):  # later rows stay in flight
                    rest = item.take(slice(j, None))
                    heapq.heappush(heap, (*rest.key, rest))
                    item = item.take(slice(0, j))
            due.append(item)
        if batched:
            due = self._split_batches(due)
        woken: dict[int, Receiver] = {}
        for item in due:
            if isinstance(item, MessageBatch):
                n, rcv = len(item), int(item.receiver[0])
            else:
                n, rcv = 1, item.receiver
            agent = self._resolve(rcv)
            self._in_flight -= n
            if agent is None:
                rows = item.messages() if isinstance(item, MessageBatch) else [item]
                for m in rows:
                    self._undeliverable(m.kind, m.seq, m.sender, m.receiver, now)
                continue
            agent.inbox.append(item)
            self.delivered[item.kind.value] += n
            woken[rcv] = agent
        return list(woken.values())

    def _split_batches(self, due: list[Message | MessageBatch]) -> list[Message | MessageBatch]:
        """Per receiver: one sub-batch if it accepts batches, else single messages; then the
        whole delivery in (time, seq) order."""
        out: list[tuple[tuple[float, int], Message | MessageBatch]] = []
        for item in due:
            if not isinstance(item, MessageBatch):
                out.append(((item.deliver_at, item.seq), item))
                continue
            if item.receiver[0] == item.receiver[-1] and (item.receiver == item.receiver[0]).all():
                parts = [item]
            else:  # one part per receiver, rows kept in (time, seq) order within each
                order = np.argsort(item.receiver, kind="stable")
                rcv = item.receiver[order]
                cuts = np.flatnonzero(rcv[1:] != rcv[:-1]) + 1
                parts = [item.take(rows) for rows in np.split(order, cuts)]
            for part in parts:
                agent = self._resolve(int(part.receiver[0]))
                if agent is not None and getattr(agent, "accepts_batches", False):
                    out.append((part.key, part))
                else:
                    out.extend(((m.deliver_at, m.seq), m) for m in part.messages())
        out.sort(key=lambda kv: kv[0])
        return [item for _, item in out]

    @property
    def in_flight(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for _, _, item in self._heap:
            out[item.kind.value] += len(item) if isinstance(item, MessageBatch) else 1
        return out

    def totals(self) -> dict[str, int]:
        """Overall counters; ``sent == delivered + in_flight + undeliverable`` always holds."""
        return {
            "sent": sum(self.sent.values()),
            "delivered": sum(self.delivered.values()),
            "in_flight": self._in_flight,
            "undeliverable": sum(self.undeliverable.values()),
            "bytes": sum(self.bytes_sent.values()),
        }
