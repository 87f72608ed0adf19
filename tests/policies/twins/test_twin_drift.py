"""Drift detection and the transfer decision table (seed 003, Sec. III.B, III.C.2)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.twins import (
    ROOT,
    CompositionDriftMonitor,
    Decision,
    DriftCause,
    LossDriftMonitor,
    LossRiseDetector,
    composition_distance,
    fraction_vector,
)
from policies.twins import transfer_decision as decide

DAY, NIGHT = ("day",), ("night",)
counts = st.dictionaries(st.sampled_from([DAY, NIGHT, ("rain",)]), st.integers(0, 50))


def test_composition_distance_closed_form() -> None:
    # (1/2, 1/2) vs (1, 0): sqrt(1/4 + 1/4)
    assert composition_distance({DAY: 5, NIGHT: 5}, {DAY: 3}) == pytest.approx(math.sqrt(0.5))
    assert composition_distance({DAY: 1}, {NIGHT: 7}) == pytest.approx(math.sqrt(2))
    np.testing.assert_allclose(fraction_vector({DAY: 1, NIGHT: 3}, [DAY, NIGHT]), [0.25, 0.75])


@given(counts, counts, st.integers(1, 5))
def test_composition_distance_properties(a, b, scale: int) -> None:
    d = composition_distance(a, b)
    assert d == pytest.approx(composition_distance(b, a))
    assert 0.0 <= d <= math.sqrt(2) + 1e-12
    assert composition_distance(a, {k: scale * v for k, v in a.items()}) == pytest.approx(0.0)


def test_composition_monitor_signals_above_threshold() -> None:
    mon = CompositionDriftMonitor(threshold=0.2)
    assert mon.check(ROOT, {DAY: 8, NIGHT: 2}) is None  # first snapshot: reference
    assert mon.check(ROOT, {DAY: 7, NIGHT: 3}) is None  # distance sqrt(2)*0.1 = 0.141
    signal = mon.check(ROOT, {DAY: 5, NIGHT: 5})  # distance sqrt(2)*0.3 = 0.424
    assert signal is not None and signal.cause is DriftCause.COMPOSITION
    assert signal.value == pytest.approx(math.sqrt(2) * 0.3)
    mon.set_reference(ROOT, {DAY: 5, NIGHT: 5})
    assert mon.check(ROOT, {DAY: 1, NIGHT: 1}) is None


@given(
    st.lists(st.floats(0.01, 10.0), min_size=1, max_size=40),
    st.integers(1, 5),
    st.floats(0.0, 2.0),
)
def test_loss_rise_matches_brute_force(losses: list[float], window: int, thr: float) -> None:
    det = LossRiseDetector(window, thr)
    fired = [det.update(x) for x in losses]
    baseline = sum(losses[:window]) / window if len(losses) >= window else None
    expected = []
    for t in range(len(losses)):
        after = losses[window : t + 1]
        if baseline is None or t < window or len(after) < window:
            expected.append(False)
        else:
            ma = sum(after[-window:]) / window
            expected.append((ma - baseline) / baseline > thr)
    assert fired == expected


def test_loss_rise_detector_example_and_monitor() -> None:
    det = LossRiseDetector(window=3, threshold=0.5, baseline=1.0)
    assert [det.update(x) for x in (1.0, 1.2, 1.4, 2.0, 2.5)] == [False, False, False, True, True]
    mon = LossDriftMonitor(window=2, threshold=0.5)
    signals = [mon.observe(DAY, x) for x in (1.0, 1.0, 1.0, 1.0, 2.0, 2.0)]
    assert signals[:5] == [None] * 5 and signals[5].cause is DriftCause.LOSS_RISE
    assert signals[5].value == pytest.approx(1.0)
    mon.reset(DAY)
    assert mon.observe(DAY, 9.0) is None and mon.observe(NIGHT, 9.0) is None


T, K = ("day", "toronto", "highway"), ("day", "toronto")
KNOWN = {ROOT, DAY, K, T}


@pytest.mark.parametrize(
    ("old", "new", "cached", "fallback", "decision", "source", "fetch"),
    [
        (T, T, {T}, "ancestor", Decision.RETRAIN_FROM_CACHED, T, False),  # same, cached
        (T, T, set(), "ancestor", Decision.FETCH_META_MODEL, T, True),  # same, evicted
        (T, K, {T, K}, "ancestor", Decision.RETRAIN_FROM_CACHED, K, False),  # known, cached
        (T, K, {T}, "ancestor", Decision.FETCH_META_MODEL, K, True),  # known other category
        (T, ("day", "vancouver"), {DAY}, "ancestor", Decision.FALLBACK_AND_REQUEST_NEW, DAY, False),
        (T, ("day", "vancouver"), {DAY}, "super", Decision.FALLBACK_AND_REQUEST_NEW, ROOT, True),
        (None, ("rain",), {ROOT}, "ancestor", Decision.FALLBACK_AND_REQUEST_NEW, ROOT, False),
    ],
)
def test_transfer_decision_table(old, new, cached, fallback, decision, source, fetch) -> None:
    d = decide(old, new, KNOWN, cached, fallback)
    assert (d.decision, d.model_key, d.fetch) == (decision, source, fetch)
    assert d.request_training == (decision is Decision.FALLBACK_AND_REQUEST_NEW)
    assert ("stays in" if old == new else "moves to") in d.reason


def test_transfer_decision_rejects_unknown_fallback() -> None:
    with pytest.raises(ValueError):
        decide(None, DAY, KNOWN, set(), "nearest")
