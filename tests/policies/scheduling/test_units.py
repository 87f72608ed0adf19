"""Slice units and budgets (policies.scheduling.units): the orchestrator's units are the level-two
game's groups, a unit's budget is its grant row, zero means zero, and before any grant the edge's
resources are split evenly by head-count."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.messages import SliceGrant
from policies.scheduling.units import (
    UnitRules,
    lift_to_floors,
    slice_units,
    unit_budgets,
    unit_key,
)
from policies.slicing.reports import ela_tier, group_key

RULES = UnitRules("video", 3.0, 5.0, 3, 20e6, 10e9)


@dataclass(frozen=True)
class N:  # the fields of a QoeModelNotice the units read
    user: int
    cell: int
    ela: float


NOTICES = [N(5, 0, 3.1), N(2, 0, 3.2), N(7, 0, 4.9), N(9, 1, 4.0)]


def test_unit_keys_are_the_controllers_group_keys() -> None:
    for n in NOTICES:
        tier = ela_tier(n.ela, 3, 5, 3)
        assert unit_key(n.cell, n.ela, RULES) == group_key("video", n.cell, tier)
    units = slice_units(NOTICES, RULES)
    assert {k: [m.user for m in v] for k, v in units.items()} == {
        "video/t0@bs0": [2, 5], "video/t2@bs0": [7], "video/t1@bs1": [9]}


def test_before_any_grant_the_edge_is_split_by_head_count() -> None:
    budgets = {u.key: u for u in unit_budgets(NOTICES, None, 0, RULES)}
    assert budgets["video/t0@bs0"].bandwidth_hz == pytest.approx(20e6 * 2 / 3)
    assert budgets["video/t1@bs1"].bandwidth_hz == pytest.approx(20e6)
    assert budgets["video/t0@bs0"].cycles_per_s == pytest.approx(10e9 * 2 / 4)


def test_a_grant_sets_the_budget_and_zero_means_zero() -> None:
    grant = SliceGrant(
        window=3,
        groups=("video/t0@bs0", "video/t2@bs0", "video/t1@bs1"),
        members=((2, 5), (7,), (9,)),
        pools=("comm@bs0", "comm@bs1", "compute@edge0"),
        slices=((12e6, 0.0, 4e9), (0.0, 0.0, 0.0), (0.0, 30e6, 1e9)),
    )
    budgets = {u.key: u for u in unit_budgets(NOTICES, grant, 0, RULES)}
    assert (budgets["video/t0@bs0"].bandwidth_hz, budgets["video/t0@bs0"].cycles_per_s) == (
        12e6, 4e9)
    assert (budgets["video/t2@bs0"].bandwidth_hz, budgets["video/t2@bs0"].cycles_per_s) == (0, 0)
    assert budgets["video/t1@bs1"].bandwidth_hz == 20e6  # never more than the cell has


@settings(max_examples=200, deadline=None)
@given(
    x=st.lists(st.floats(0.0, 1e7), min_size=1, max_size=12),
    floor=st.floats(0.0, 5e6),
    budget=st.floats(1.0, 3e7),
)
def test_floors_lift_the_starved_and_never_exceed_the_budget(x, floor, budget) -> None:
    x = np.array(x)
    if x.sum() > budget:  # a scheduler's allocation fits its budget
        x = x * budget / x.sum()
    floors = np.full(len(x), floor)
    out = lift_to_floors(x, floors, budget)
    assert out.sum() <= max(budget, x.sum()) * (1 + 1e-9) + 1e-6
    assert np.all(out >= np.minimum(floor, budget / len(x)) * (1 - 1e-9) - 1e-9)
    if np.all(x >= floor):
        assert np.array_equal(out, x)  # an allocation meeting every floor is left alone
