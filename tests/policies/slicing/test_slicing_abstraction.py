"""Demand abstraction and greedy slicing against theory (seed 000, Sec. III.D.1)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.slicing.abstraction import (
    DemandRecord,
    aggregate_demand,
    capacity_vector,
    feasible_slices,
    gain_curve,
    gain_slope,
    gain_slope_sup,
    greedy_slices,
)
from policies.slicing.optimum import centralised_optimum, social_welfare
from policies.slicing.params import SlicingParams

CURVES = ("log", "saturating", "sigmoid")


def _records(rng: np.random.Generator, users: int) -> list[DemandRecord]:
    return [
        DemandRecord(
            user_id=u,
            service=str(rng.choice(["video", "ar"])),
            base_station=int(rng.integers(2)),
            demand=(float(rng.uniform(0.5, 4.0)), float(rng.uniform(0.1, 1.0))),
            gain_per_unit=(float(rng.uniform(0.1, 0.6)), float(rng.uniform(0.5, 2.0))),
            ela=float(rng.uniform(3.0, 5.0)),
        )
        for u in range(users)
    ]


@pytest.mark.parametrize("curve", CURVES)
def test_curves_are_increasing_from_zero_with_consistent_slopes(curve: str) -> None:
    u = np.linspace(0.0, 6.0, 2001)
    g = gain_curve(curve, u)
    assert g[0] == pytest.approx(0.0, abs=1e-15)
    assert np.all(np.diff(g) > 0)
    numeric = np.gradient(g, u)
    np.testing.assert_allclose(numeric[1:-1], gain_slope(curve, u)[1:-1], atol=1e-4)
    assert gain_slope(curve, u).max() <= gain_slope_sup(curve) + 1e-12


def test_groups_are_service_and_base_station_with_summed_demand() -> None:
    rng = np.random.default_rng(0)
    records = _records(rng, 30)
    params = SlicingParams()
    dist = aggregate_demand(records, params)
    assert dist.pools == ("comm@bs0", "comm@bs1", "compute")
    assert list(dist.keys) == sorted({(r.service, r.base_station) for r in records})
    for g, (service, bs) in enumerate(dist.keys):
        members = [r for r in records if (r.service, r.base_station) == (service, bs)]
        assert dist.n_users[g] == len(members)
        comm = sum(r.demand[0] for r in members)
        # Radio demand lands only in the serving base station's pool.
        assert dist.demand[g, bs] == pytest.approx(comm)
        assert dist.demand[g, 1 - bs] == 0.0
        assert dist.demand[g, 2] == pytest.approx(sum(r.demand[1] for r in members))
        assert dist.mean_ela[g] == pytest.approx(np.mean([r.ela for r in members]))
        assert dist.weights[g] == pytest.approx(dist.mean_ela[g] / 4.0)


@pytest.mark.parametrize("curve", CURVES)
def test_group_curve_is_exact_under_demand_proportional_split(curve: str) -> None:
    # Sum over members of a_u g(x_u / d_u) with x_u = x d_u / D equals A g(x / D).
    rng = np.random.default_rng(1)
    records = [r for r in _records(rng, 12) if r.base_station == 0 and r.service == "video"]
    params = SlicingParams(gain_curve=curve)
    dist = aggregate_demand(records, params)
    demand = np.array([r.demand[1] for r in records])
    g1 = gain_curve(curve, np.array(1.0))
    amps = np.array([r.gain_per_unit[1] for r in records]) * demand / g1
    total = demand.sum()
    for x in (0.0, 0.3, 1.0, 2.5, 7.0):
        members = np.sum(amps * gain_curve(curve, (x * demand / total) / demand))
        group = dist.gain_scale[0, 1] * gain_curve(curve, x / dist.demand[0, 1])
        assert members == pytest.approx(group, rel=1e-12)
    # At its demand each member gains gain_per_unit * demand.
    expected = sum(r.gain_per_unit[1] * r.demand[1] for r in records)
    assert dist.gain_scale[0, 1] * g1 == pytest.approx(expected)


def test_capacity_vector_names_missing_pool() -> None:
    dist = aggregate_demand(_records(np.random.default_rng(2), 10), SlicingParams())
    with pytest.raises(KeyError, match="comm@bs1"):
        capacity_vector(dist, {"comm@bs0": 1.0, "compute": 1.0})


def test_slices_follow_demand_when_resources_suffice() -> None:
    demand = np.array([[1.0, 2.0], [0.5, 0.0]])
    capacities = np.array([5.0, 1.0])
    greedy = greedy_slices(np.ones(2), np.ones((2, 2)), demand, capacities)
    np.testing.assert_allclose(greedy[:, 0], demand[:, 0])
    np.testing.assert_allclose(feasible_slices(demand, capacities), [[1.0, 1.0], [0.5, 0.0]])


def test_greedy_serves_highest_gain_per_unit_first() -> None:
    # Group 0 gains 10x more per unit than group 1 over its whole demand, so it is served in
    # full before group 1 gets anything.
    weights = np.ones(2)
    gain = np.array([[20.0], [1.0]])
    demand = np.array([[3.0], [3.0]])
    x = greedy_slices(weights, gain, demand, np.array([4.0]), quanta=400)
    assert x[0, 0] == pytest.approx(3.0)
    assert x[1, 0] == pytest.approx(1.0)


def _brute_force_quanta(amp: np.ndarray, quanta: int, curve: str, step: float) -> float:
    best = -np.inf
    for split in itertools.product(range(quanta + 1), repeat=len(amp)):
        if sum(split) == quanta:
            best = max(best, float(np.sum(amp * gain_curve(curve, np.array(split) * step))))
    return best


@pytest.mark.parametrize("curve", ("log", "saturating"))
def test_greedy_is_optimal_for_quantised_concave_allocation(curve: str) -> None:
    # Separable concave resource allocation in quanta: greedy by marginal gain is optimal
    # (Gross 1956); checked against brute force over all splits of 8 quanta among 3 groups.
    rng = np.random.default_rng(3)
    for _ in range(5):
        amp = rng.uniform(0.5, 3.0, 3)
        capacity, quanta = 4.0, 8
        demand = np.full((3, 1), 10.0)  # never binding: demand 30 > capacity 4
        x = greedy_slices(
            np.ones(3), amp[:, None], demand, np.array([capacity]), curve, 6.0, quanta
        )
        got = social_welfare(np.ones(3), amp[:, None], demand, x, curve)
        # Curves are g(x / D) with D = 10: a quantum of 0.5 is u-step 0.05.
        ref = _brute_force_quanta(amp, quanta, curve, capacity / quanta / 10.0)
        assert got == pytest.approx(ref, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    curve=st.sampled_from(CURVES),
    quanta=st.integers(1, 300),
)
def test_greedy_never_exceeds_capacity_or_demand(
    seed: int, n: int, curve: str, quanta: int
) -> None:
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0.0, 5.0, (n, 3)) * (rng.random((n, 3)) > 0.2)
    capacities = rng.uniform(0.0, 8.0, 3)
    x = greedy_slices(
        rng.uniform(0.5, 2, n), rng.uniform(0.1, 3, (n, 3)), demand, capacities, curve, 6.0, quanta
    )
    assert np.all(x >= 0.0)
    assert np.all(x <= demand * (1 + 1e-12) + 1e-15)
    assert np.all(x.sum(axis=0) <= capacities * (1 + 1e-12) + 1e-15)
    # Nothing is left idle while some group still wants more.
    short = demand.sum(axis=0) - x.sum(axis=0) > 1e-9
    np.testing.assert_allclose(x.sum(axis=0)[short], capacities[short], rtol=1e-9)


@pytest.mark.parametrize("curve", ("log", "saturating"))
def test_greedy_approaches_the_convex_optimum(curve: str) -> None:
    # Seed Sec. IV: the convex slicing problem "solved by a low-complexity greedy algorithm".
    rng = np.random.default_rng(4)
    n = 5
    w, amp = rng.uniform(0.5, 1.5, n), rng.uniform(1, 3, (n, 1))
    demand, capacities = rng.uniform(1, 3, (n, 1)), np.array([4.0])
    opt = centralised_optimum(w, amp, demand, demand, capacities, curve)
    gaps = []
    for quanta in (10, 100, 1000):
        x = greedy_slices(w, amp, demand, capacities, curve, 6.0, quanta)
        gaps.append(opt.welfare - social_welfare(w, amp, demand, x, curve))
    assert all(g >= -1e-12 for g in gaps)
    assert gaps[2] < gaps[0]
    assert gaps[2] < 1e-4
