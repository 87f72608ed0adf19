"""Round robin (w/o-DA benchmark, seed 000 Sec. IV): capacity, fairness and rotation."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from policies.scheduling.round_robin import (
    round_robin_allocation,
    round_robin_units,
    whole_blocks,
)

masks = st.lists(st.booleans(), min_size=1, max_size=25).map(np.array)


@given(masks, st.integers(0, 500), st.integers(0, 100))
def test_units_are_conserved_and_fair(active, units, offset):
    alloc, nxt = round_robin_units(active, units, offset)
    assert np.all(alloc[~active] == 0)
    if active.any():
        assert alloc.sum() == units
        assert alloc[active].max() - alloc[active].min() <= 1
        assert 0 <= nxt < active.sum()
    else:
        assert alloc.sum() == 0


@given(masks, st.integers(0, 500), st.integers(0, 100))
def test_rotation_equalises_totals_over_one_cycle(active, units, offset):
    n = int(active.sum())
    total = np.zeros(active.size, dtype=np.int64)
    for _ in range(max(n, 1)):
        alloc, offset = round_robin_units(active, units, offset)
        total += alloc
    if n:
        assert np.all(total[active] == units)  # n slots x units / n users


@given(masks, st.floats(0.0, 1e8), st.floats(0.0, 1e10), st.floats(1e3, 1e6), st.integers(0, 9))
def test_allocation_never_exceeds_capacity(active, budget_hz, budget_cycles, block, offset):
    bw, cycles, _ = round_robin_allocation(active, budget_hz, budget_cycles, block, offset)
    assert bw.sum() <= budget_hz * (1 + 1e-9)
    assert cycles.sum() <= budget_cycles * (1 + 1e-12)
    assert np.allclose(bw / block, np.round(bw / block))
    if active.any():
        assert bw[active].max() - bw[active].min() <= block * (1 + 1e-9)
        # Whole blocks: what is left over is less than one block.
        assert budget_hz - bw.sum() < block * (1 + 1e-9)


def test_whole_blocks_at_exact_multiples():
    assert whole_blocks(0.3, 0.1) == 3
    assert whole_blocks(20e6, 180e3) == 111
    assert whole_blocks(0.0, 180e3) == 0
