"""Message bus: conservation (sent = delivered + in flight + undeliverable), (time, seq) order."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from model.bus import MessageBus
from model.messages import Generic, Kind, register_payload

register_payload(Kind.STRATEGY, Generic)


class LoggedInbox(list):
    """An inbox that also appends to a log shared by all receivers (global delivery order)."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def append(self, msg):
        self.log.append(msg)
        super().append(msg)


@dataclass
class Box:
    log: list = field(default_factory=list)
    inbox: list = field(init=False)

    def __post_init__(self):
        self.inbox = LoggedInbox(self.log)


def _bus(n_agents, latencies):
    log: list = []
    agents = {i: Box(log) for i in range(n_agents)}

    def route(a, b):
        return latencies[(int(a[1:]) + int(b[1:])) % len(latencies)], 8e6

    bus = MessageBus(route, lambda i: f"n{i}" if i in agents else None, agents.get)
    bus.log = log
    return bus, agents


ops = st.lists(
    st.tuples(
        st.sampled_from(["send", "step", "kill"]),
        st.integers(0, 5),
        st.integers(0, 5),
        st.integers(1, 5000),
    ),
    min_size=1,
    max_size=80,
)


@given(ops=ops, lat=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=4))
@settings(max_examples=120, deadline=None)
def test_conservation_and_order(ops, lat):
    bus, agents = _bus(6, lat)
    now = 0.0
    last_key = (-1.0, -1)
    for op, a, b, size in ops:
        if op == "send":
            bus.send(now, a, b, Kind.STRATEGY, Generic({"x": size}), size)
        elif op == "kill":
            agents.pop(a, None)
        else:
            now += 1.0
            bus.log.clear()
            bus.deliver_due(now)
            for msg in bus.log:
                key = (msg.deliver_at, msg.seq)
                assert key > last_key  # delivery in (time, sequence) order, across receivers
                assert msg.deliver_at <= now
                last_key = key
        t = bus.totals()
        assert t["sent"] == t["delivered"] + t["in_flight"] + t["undeliverable"]
        for kind, sent in bus.sent.items():
            assert sent == bus.delivered[kind] + bus.in_flight[kind] + bus.undeliverable[kind]


def test_delivery_time_is_latency_plus_serialisation():
    bus, agents = _bus(2, [0.010])
    msg = bus.send(5.0, 0, 1, Kind.STRATEGY, Generic({}), 1000)
    assert msg.deliver_at == 5.0 + 0.010 + 1000 * 8 / 8e6


def test_message_to_a_removed_agent_is_reported():
    bus, agents = _bus(3, [0.5])
    bus.send(0.0, 0, 1, Kind.STRATEGY, Generic({}), 10)
    del agents[1]
    bus.deliver_due(1.0)
    assert bus.totals()["undeliverable"] == 1
    assert bus.undeliverable_log[0][1:4] == ("strategy", 0, 1)
    assert bus.send(1.0, 0, 1, Kind.STRATEGY, Generic({}), 10) is None
    assert bus.totals()["undeliverable"] == 2


def test_payload_type_is_checked():
    import pytest

    from model.messages import QosReport

    bus, _ = _bus(2, [0.0])
    with pytest.raises(TypeError, match="qos_report"):
        bus.send(0.0, 0, 1, Kind.QOS_REPORT, Generic({}), 10)
    assert QosReport  # the registered payload type


# -- batches ------------------------------------------------------------------------------

from model.messages import MessageBatch, QosReport  # noqa: E402


def _report_columns(users, seed):
    n = len(users)
    base = np.arange(n, dtype=float) + seed
    return {
        "user": np.asarray(users, dtype=np.int64),
        "cell": np.zeros(n, dtype=np.int64),
        "throughput_mbps": base,
        "delay_ms": base + 0.5,
        "jitter_ms": base * 0,
        "loss": base * 0,
        "sinr_db": -base,
        "speed_mps": base + 1,
    }


def _routes(bus, senders, receivers):
    pairs = [bus._route(f"n{s}", f"n{r}") for s, r in zip(senders, receivers, strict=True)]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


batch_ops = st.lists(
    st.tuples(
        st.sampled_from(["send", "batch", "step", "kill"]),
        st.integers(0, 5),
        st.lists(st.integers(0, 5), min_size=1, max_size=6),
        st.integers(1, 5000),
    ),
    min_size=1,
    max_size=60,
)


@given(ops=batch_ops, lat=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=4))
@settings(max_examples=120, deadline=None)
def test_a_batch_delivers_exactly_the_single_messages(ops, lat):
    """send_batch == one send per row: same messages, times, sequence numbers and tallies."""
    bus_b, agents_b = _bus(6, lat)
    bus_s, agents_s = _bus(6, lat)
    now = 0.0
    for op, a, receivers, size in ops:
        if op in ("send", "batch") and a in agents_b:  # a batch's senders must exist
            senders = [a] * len(receivers)
            cols = _report_columns(senders, size)
            if op == "send":
                receivers = receivers[:1]
                senders, cols = senders[:1], {k: v[:1] for k, v in cols.items()}
            lat_s, bw = _routes(bus_b, senders, receivers)
            bus_b.send_batch(
                now, Kind.QOS_REPORT, QosReport, senders, receivers, cols, lat_s, bw, size
            )
            for i, (s, r) in enumerate(zip(senders, receivers, strict=True)):
                bus_s.send(
                    now,
                    s,
                    r,
                    Kind.QOS_REPORT,
                    QosReport(**{k: v[i].item() for k, v in cols.items()}),
                    size,
                )
        elif op in ("send", "batch"):
            continue
        elif op == "kill":
            agents_b.pop(a, None)
            agents_s.pop(a, None)
        else:
            now += 0.5
            bus_b.log.clear()
            bus_s.log.clear()
            bus_b.deliver_due(now)
            bus_s.deliver_due(now)
            assert bus_b.log == bus_s.log
        assert bus_b.totals() == bus_s.totals()
        assert bus_b.in_flight == bus_s.in_flight
    assert bus_b.undeliverable_log == bus_s.undeliverable_log


class BatchBox(Box):
    accepts_batches = True


@given(ops=batch_ops, lat=st.lists(st.floats(0.0, 2.0), min_size=1, max_size=4))
@settings(max_examples=120, deadline=None)
def test_batch_receivers_get_their_rows_in_order_and_nothing_is_lost(ops, lat):
    bus, agents = _bus(6, lat)
    for i in (0, 2, 4):
        agents[i] = BatchBox(bus.log)
    now = 0.0
    for op, a, receivers, size in ops:
        if op in ("send", "batch"):
            if a not in agents:
                continue
            senders = [a] * len(receivers)
            lat_s, bw = _routes(bus, senders, receivers)
            bus.send_batch(
                now,
                Kind.QOS_REPORT,
                QosReport,
                senders,
                receivers,
                _report_columns(senders, size),
                lat_s,
                bw,
            )
        elif op == "kill":
            agents.pop(a, None)
        else:
            now += 0.5
            bus.log.clear()
            bus.deliver_due(now)
            for item in bus.log:
                if isinstance(item, MessageBatch):
                    assert len(set(item.receiver.tolist())) == 1
                    assert getattr(agents.get(int(item.receiver[0])), "accepts_batches", False)
                    keys = list(zip(item.deliver_at.tolist(), item.seq.tolist(), strict=True))
                    assert keys == sorted(keys) and keys[-1][0] <= now
                else:
                    assert not getattr(agents.get(item.receiver), "accepts_batches", False)
        t = bus.totals()
        assert t["sent"] == t["delivered"] + t["in_flight"] + t["undeliverable"]
        assert sum(bus.in_flight.values()) == t["in_flight"]


def test_batch_columns_must_match_the_payload_type():
    import pytest

    bus, _ = _bus(2, [0.0])
    cols = _report_columns([0], 1)
    del cols["sinr_db"]
    with pytest.raises(TypeError, match="missing \\['sinr_db'\\]"):
        bus.send_batch(0.0, Kind.QOS_REPORT, QosReport, [0], [1], cols, [0.0], [1e6])
    with pytest.raises(TypeError, match="qos_report"):
        bus.send_batch(0.0, Kind.QOS_REPORT, Generic, [0], [1], {}, [0.0], [1e6])


def test_delivered_batch_rows_are_read_only():
    import pytest

    bus, agents = _bus(3, [0.0])
    agents[1] = BatchBox(bus.log)
    lat, bw = _routes(bus, [0, 0], [1, 1])
    bus.send_batch(
        0.0, Kind.QOS_REPORT, QosReport, [0, 0], [1, 1], _report_columns([0, 0], 1), lat, bw
    )
    bus.deliver_due(1.0)
    (batch,) = agents[1].inbox
    with pytest.raises(ValueError, match="read-only"):
        batch.columns["throughput_mbps"][0] = 99.0
