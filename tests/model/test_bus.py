"""Message bus: conservation (sent = delivered + in flight + undeliverable), (time, seq) order."""

from __future__ import annotations

from dataclasses import dataclass, field

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
