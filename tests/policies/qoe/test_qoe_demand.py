"""Tests of QoE-based demand prediction (seed 000, Sec. III.C.2) and the SLA baseline."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.qoe.bandwidth import VideoQosMapping, qoe_vs_throughput
from policies.qoe.demand import DemandParams, SlaParams, predict_demand, sla_demand
from policies.qoe.models import QoeModel

MODEL = QoeModel(
    "logistic",
    "power",
    ("rebuffer", "quality"),
    ("B", "C"),
    (-1.0, 0.3, 4.0, 0.4, 0.3),
    ("a0", "w_rebuffer", "w_quality", "beta_B", "beta_C"),
)
RNG = np.random.default_rng(0)
B = RNG.uniform(1.2, 1.8, 300)
C = RNG.uniform(1.0, 1.6, 300)
PARAMS = DemandParams()
SE = 2.0


def _mean_qoe(theta: float, b: np.ndarray = B, c: np.ndarray = C) -> float:
    return float(qoe_vs_throughput(MODEL, theta, {"B": b, "C": c}, VideoQosMapping()).mean())


@settings(max_examples=40, deadline=None)
@given(ela=st.floats(1.5, 3.2))
def test_demand_meets_ela_and_is_minimal(ela: float) -> None:
    d = predict_demand(MODEL, ela, SE, B, C, 600.0, PARAMS)
    assert d.attainable
    assert _mean_qoe(d.throughput_bps) >= ela
    tol = PARAMS.rel_tol * PARAMS.max_bandwidth_hz * SE
    assert _mean_qoe(d.throughput_bps - tol) < ela  # a smaller allocation misses the ELA
    assert d.bandwidth_hz == pytest.approx(d.throughput_bps / SE)
    assert d.cpu_hz == pytest.approx(d.throughput_bps * VideoQosMapping().cycles_per_bit)
    assert d.bits == pytest.approx(d.throughput_bps * 600.0)
    assert d.predicted_qoe == pytest.approx(_mean_qoe(d.throughput_bps))


def test_demand_agrees_with_brute_force_grid() -> None:
    ela = 2.8
    grid = np.linspace(0.0, PARAMS.max_bandwidth_hz * SE, 4001)
    ctx = {"B": B[None, :], "C": C[None, :]}
    qoe = qoe_vs_throughput(MODEL, grid[:, None], ctx, VideoQosMapping()).mean(axis=1)
    first = grid[np.argmax(qoe >= ela)]
    d = predict_demand(MODEL, ela, SE, B, C, 60.0, PARAMS)
    assert first - (grid[1] - grid[0]) <= d.throughput_bps <= first + PARAMS.rel_tol * grid[-1]


def test_unattainable_ela_is_flagged_with_the_largest_allocation() -> None:
    best = _mean_qoe(PARAMS.max_bandwidth_hz * SE)
    d = predict_demand(MODEL, best + 0.1, SE, B, C, 60.0, PARAMS)
    assert not d.attainable and d.bandwidth_hz == pytest.approx(PARAMS.max_bandwidth_hz)
    # Computing can be the binding limit instead.
    tight = DemandParams(max_cpu_hz=1e8)
    d2 = predict_demand(MODEL, 4.9, SE, B, C, 60.0, tight)
    assert not d2.attainable and d2.cpu_hz == pytest.approx(1e8)


def test_trivial_ela_needs_nothing() -> None:
    d = predict_demand(MODEL, 1.0, SE, B, C, 60.0, PARAMS)
    assert d.attainable and d.throughput_bps == 0.0 and d.cpu_hz == 0.0


@settings(max_examples=25, deadline=None)
@given(lo=st.floats(1.2, 3.0), gap=st.floats(0.0, 0.5))
def test_demand_is_monotone_in_ela(lo: float, gap: float) -> None:
    low = predict_demand(MODEL, lo, SE, B, C, 60.0, PARAMS)
    high = predict_demand(MODEL, lo + gap, SE, B, C, 60.0, PARAMS)
    assert high.throughput_bps >= low.throughput_bps


def test_more_dynamic_users_need_more_resources() -> None:
    # Eq. (1): a higher behavioural dynamics B lowers I(B, C), so more QoS is needed.
    calm = predict_demand(MODEL, 2.5, SE, np.full(50, 1.1), C[:50], 60.0, PARAMS)
    busy = predict_demand(MODEL, 2.5, SE, np.full(50, 1.9), C[:50], 60.0, PARAMS)
    assert busy.throughput_bps > calm.throughput_bps


def test_requiring_every_sample_costs_at_least_the_mean_criterion() -> None:
    mean = predict_demand(MODEL, 2.6, SE, B, C, 60.0, PARAMS)
    sure = predict_demand(
        MODEL, 2.6, SE, B, C, 60.0, DemandParams(criterion="probability", confidence=1.0)
    )
    assert sure.throughput_bps >= mean.throughput_bps
    qoe = qoe_vs_throughput(MODEL, sure.throughput_bps, {"B": B, "C": C}, VideoQosMapping())
    assert np.all(qoe >= 2.6)


def test_sla_demand_is_the_target_bitrate() -> None:
    d = sla_demand(SE, 120.0, SlaParams(target_bitrate_bps=2e6, headroom=1.2), PARAMS)
    assert d.attainable and d.throughput_bps == pytest.approx(2.4e6)
    assert d.bandwidth_hz == pytest.approx(1.2e6) and d.cpu_hz == pytest.approx(2.4e8)
    capped = sla_demand(0.01, 120.0, SlaParams(), PARAMS)
    assert not capped.attainable and capped.bandwidth_hz == pytest.approx(PARAMS.max_bandwidth_hz)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="spectral_eff"):
        predict_demand(MODEL, 3.0, 0.0, B, C, 60.0, PARAMS)
    with pytest.raises(ValueError, match="same shape"):
        predict_demand(MODEL, 3.0, SE, B, C[:5], 60.0, PARAMS)
