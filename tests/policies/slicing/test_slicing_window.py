"""Adaptive slice window (seed 000, Sec. III.D.2 and IV): monotone mappings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.slicing.params import SlicingParams
from policies.slicing.window import (
    dynamics_index,
    dynamics_stage,
    slice_window_for,
    tune_thresholds,
)

PARAMS = SlicingParams()
STAGES = PARAMS.window_stages_min

thresholds_st = st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).map(sorted)


def test_seed_stages_at_the_extremes() -> None:
    assert STAGES == (3.0, 6.0, 9.0, 12.0, 15.0)
    assert slice_window_for(0.0, PARAMS.stage_thresholds, STAGES) == 15.0
    assert slice_window_for(0.999, PARAMS.stage_thresholds, STAGES) == 3.0
    windows = [
        slice_window_for(v, PARAMS.stage_thresholds, STAGES) for v in (0.1, 0.3, 0.5, 0.7, 0.9)
    ]
    assert windows == [15.0, 12.0, 9.0, 6.0, 3.0]
    assert dynamics_stage(0.4, PARAMS.stage_thresholds) == 2  # a cut belongs to the upper stage


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), thresholds=thresholds_st)
def test_window_is_non_increasing_in_dynamics(a: float, b: float, thresholds: list[float]) -> None:
    lo, hi = min(a, b), max(a, b)
    assert slice_window_for(lo, thresholds, STAGES) >= slice_window_for(hi, thresholds, STAGES)
    assert slice_window_for(a, thresholds, STAGES) in STAGES


def _series(rng: np.random.Generator, users: int, samples: int, spread: float) -> np.ndarray:
    return np.clip(1.5 + spread * rng.standard_normal((users, samples)), 1.0, 2.0)


def test_calm_network_has_zero_dynamics() -> None:
    flat = np.full((5, 10), 1.3)
    assert dynamics_index(flat, flat, 0, 1.0, PARAMS) == pytest.approx(0.0, abs=1e-12)
    assert slice_window_for(0.0, PARAMS.stage_thresholds, STAGES) == 15.0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    factor=st.floats(1.0, 5.0),
    extra_handovers=st.integers(0, 50),
)
def test_dynamics_index_grows_with_variation_and_handovers(
    seed: int, factor: float, extra_handovers: int
) -> None:
    rng = np.random.default_rng(seed)
    b = 1.5 + 0.05 * rng.standard_normal((4, 12))
    c = 1.5 + 0.05 * rng.standard_normal((4, 12))
    base = dynamics_index(b, c, 3, 0.5, PARAMS)
    # Scaling deviations around the mean scales std and rate of change alike.
    wilder = dynamics_index(
        b.mean() + factor * (b - b.mean()), c.mean() + factor * (c - c.mean()), 3, 0.5, PARAMS
    )
    busier = dynamics_index(b, c, 3 + extra_handovers, 0.5, PARAMS)
    assert 0.0 <= base < 1.0
    assert wilder >= base - 1e-12
    assert busier >= base - 1e-12
    assert slice_window_for(wilder, PARAMS.stage_thresholds, STAGES) <= slice_window_for(
        base, PARAMS.stage_thresholds, STAGES
    )


@settings(max_examples=200, deadline=None)
@given(
    r1=st.floats(0.0, 1.0), r2=st.floats(0.0, 1.0), thresholds=thresholds_st, index=st.floats(0, 1)
)
def test_feedback_is_monotone_in_the_ela_ratio(
    r1: float, r2: float, thresholds: list[float], index: float
) -> None:
    # A worse ELA achievable ratio never yields a longer window than a better one.
    worse, better = min(r1, r2), max(r1, r2)
    t_worse = tune_thresholds(thresholds, worse, PARAMS)
    t_better = tune_thresholds(thresholds, better, PARAMS)
    assert all(x <= y for x, y in zip(t_worse, t_better, strict=True))
    assert list(t_worse) == sorted(t_worse)
    lo, hi = PARAMS.threshold_bounds
    assert all(lo <= t <= hi for t in t_worse + t_better)
    assert slice_window_for(index, t_worse, STAGES) <= slice_window_for(index, t_better, STAGES)


def test_feedback_steps_and_hysteresis() -> None:
    t0 = PARAMS.stage_thresholds
    assert tune_thresholds(t0, 0.5, PARAMS) == pytest.approx((0.15, 0.35, 0.55, 0.75))
    assert tune_thresholds(t0, 0.92, PARAMS) == pytest.approx(t0)  # within hysteresis band
    assert tune_thresholds(t0, 0.99, PARAMS) == pytest.approx((0.25, 0.45, 0.65, 0.85))
    many = t0
    for _ in range(50):
        many = tune_thresholds(many, 0.0, PARAMS)
    assert many == pytest.approx((0.05,) * 4)


def test_mismatched_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="shape"):
        dynamics_index(np.ones((2, 3)), np.ones((2, 4)), 0, 1.0, PARAMS)
    with pytest.raises(ValueError, match="one threshold fewer"):
        slice_window_for(0.5, (0.5,), STAGES)
