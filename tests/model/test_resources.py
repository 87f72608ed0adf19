"""The reservation ledger never over-allocates, whatever the sequence of requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.resources import Kind, OverAllocation, ResourceLedger

requests = st.lists(
    st.tuples(
        st.sampled_from(["bs:0", "edge:0"]),
        st.sampled_from(list(Kind)),
        st.sampled_from(["g1", "g2", "g3"]),
        st.floats(0, 150),
    ),
    max_size=60,
)


@given(reqs=requests)
@settings(max_examples=200, deadline=None)
def test_never_over_allocates(reqs):
    ledger = ResourceLedger()
    for node in ("bs:0", "edge:0"):
        for kind in Kind:
            ledger.add_capacity(node, kind, 100.0)
    for node, kind, owner, amount in reqs:
        before = ledger.used(node, kind)
        try:
            ledger.reserve(node, kind, owner, amount)
        except OverAllocation:
            assert ledger.used(node, kind) == before  # a refused request changes nothing
        total = sum(r.amount for r in ledger.reservations() if (r.node, r.kind) == (node, kind))
        assert total <= 100.0 * (1 + 1e-9)
        assert total == pytest.approx(ledger.used(node, kind), abs=1e-9)


def test_refuses_unknown_capacity_and_bad_amounts():
    ledger = ResourceLedger()
    ledger.add_capacity("bs:0", Kind.COMM, 10.0)
    with pytest.raises(OverAllocation):
        ledger.reserve("bs:0", Kind.COMPUTE, "g", 1.0)
    with pytest.raises(OverAllocation):
        ledger.reserve("bs:0", Kind.COMM, "g", 10.5)
    with pytest.raises(ValueError):
        ledger.reserve("bs:0", Kind.COMM, "g", -1.0)
    ledger.reserve("bs:0", Kind.COMM, "g", 6.0)
    with pytest.raises(OverAllocation):
        ledger.add_capacity("bs:0", Kind.COMM, 5.0)
    ledger.release_owner("g")
    assert ledger.free("bs:0", Kind.COMM) == 10.0
