"""Tests of QoE-vs-resource curves used by schedulers, demand prediction and slicing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.services.video import VideoParams, VideoWindowStats, init_video, step_video
from policies.qoe.bandwidth import (
    VideoQosMapping,
    qoe_bandwidth_slope,
    qoe_vs_bandwidth,
    qoe_vs_resources,
    swipes_from_context,
    video_qos_from_throughput,
)
from policies.qoe.models import QoeModel

MAPPING = VideoQosMapping(startup_counts_as_rebuffer=True)


def _model(family: str, weights: tuple[float, ...], impact: tuple[float, ...]) -> QoeModel:
    qos = ("throughput", "rebuffer", "quality", "delay")
    names = ("a0", *(f"w_{n}" for n in qos), "beta_B", "beta_C")
    return QoeModel(family, "power", qos, ("B", "C"), (*weights, *impact), names)


@settings(max_examples=50, deadline=None)
@given(
    family=st.sampled_from(["linear", "logistic"]),
    weights=st.tuples(*(st.floats(0.0, 3.0) for _ in range(5))),
    impact=st.tuples(st.floats(0.0, 2.0), st.floats(0.0, 2.0)),
    se=st.floats(0.1, 8.0),
    b=st.floats(1.0, 2.0),
    c=st.floats(1.0, 2.0),
)
def test_qoe_is_non_decreasing_in_bandwidth(family, weights, impact, se, b, c) -> None:  # noqa: ANN001
    model = _model(family, weights, impact)
    bw = np.concatenate([[0.0], np.geomspace(1e3, 50e6, 400)])
    ctx = {"B": b, "C": c, "delay": 0.03}
    qoe = qoe_vs_bandwidth(model, bw, se, ctx)
    assert np.all(np.diff(qoe) >= -1e-12)
    assert np.all(qoe_bandwidth_slope(model, bw, se, ctx) >= -1e-12)


def test_slope_matches_the_analytic_derivative() -> None:
    # E = 1.5 + 2 Q with Q = ln(eta W s / b_min) / ln(b_max / b_min): dE/dW = 2 / (W ln 6).
    model = QoeModel("linear", "none", ("quality",), (), (1.5, 2.0), ("a0", "w_quality"))
    se = 2.0
    bw = np.array([0.4e6, 0.8e6, 1.5e6])  # eta * W * se inside (0.5, 3) Mbps
    slope = qoe_bandwidth_slope(model, bw, se, {})
    np.testing.assert_allclose(slope, 2.0 / (bw * math.log(6.0)), rtol=1e-6)


def test_qos_mapping_endpoints_and_shape() -> None:
    theta = np.array([0.0, 0.25e6, 0.5e6, 1e6, 3e6 / 0.9, 100e6])
    qos = video_qos_from_throughput(theta, 6.0, MAPPING)
    assert qos["rebuffer"][0] == 60.0 and qos["quality"][0] == 0.0
    # Half the lowest bitrate: starved half the time, plus 6 first chunks per minute.
    assert qos["rebuffer"][1] == pytest.approx(min(60.0, 30.0 + 6 * 4.0 * 2.0))
    assert qos["rebuffer"][2] == pytest.approx(6 * 4.0)
    assert qos["quality"][4] == pytest.approx(1.0) and qos["quality"][5] == 1.0
    assert np.all(np.diff(qos["rebuffer"]) <= 0) and np.all(np.diff(qos["quality"]) >= 0)
    no_startup = VideoQosMapping(startup_counts_as_rebuffer=False)
    assert video_qos_from_throughput(1e6, 6.0, no_startup)["rebuffer"] == 0.0


def test_mapping_startup_stalls_match_the_video_service() -> None:
    # A new video costs one lowest-rate chunk of startup, chunk_s * b_min / theta, exactly in
    # the simulator; the mapping charges that per swipe. Two swipes within one slot start one
    # video, so the simulator is checked against the slots with a request.
    n, theta, minutes = 3000, 5e6, 3
    params = VideoParams(startup_counts_as_rebuffer=True, abr="hybrid")  # first chunk at b_min
    rng = np.random.default_rng(0)
    state = init_video(n, params, rng)
    window = VideoWindowStats.empty(n)
    throughput = np.full(n, theta)
    new_videos = float(n)  # every user requests a video at t = 0 ...
    for k in range(60 * minutes):
        slot = step_video(state, throughput, 1.0, params, rng)
        window.add(slot, throughput, 1.0)
        new_videos += np.count_nonzero(slot.requests) if k else 0  # ... swiped at once in slot 0
    per_video = params.chunk_s * 0.5e6 / theta
    expect = new_videos / n / minutes * per_video
    assert window.features()["rebuffer"].mean() == pytest.approx(expect, rel=1e-9)
    swipes = window.features()["swipe_rate"].mean()
    assert swipes == pytest.approx(6.0, rel=0.03)
    mapped = video_qos_from_throughput(theta, swipes, MAPPING)["rebuffer"]
    assert mapped == pytest.approx(swipes * per_video)


def test_computing_binds_through_cycles_per_bit() -> None:
    model = QoeModel("linear", "none", ("quality",), (), (1.5, 2.0), ("a0", "w_quality"))
    bw, se = 1e6, 2.0
    cpu = MAPPING.cycles_per_bit * bw * se / 2  # enough cycles for half the link rate
    limited = qoe_vs_resources(model, bw, cpu, se, {})
    assert limited == pytest.approx(qoe_vs_bandwidth(model, bw / 2, se, {}))
    assert qoe_vs_resources(model, bw, 1e15, se, {}) == pytest.approx(
        qoe_vs_bandwidth(model, bw, se, {})
    )


def test_swipe_rate_comes_from_context() -> None:
    assert swipes_from_context({"swipes_per_min": 3.0}, MAPPING) == 3.0
    assert swipes_from_context({"B": 1.25}, MAPPING) == pytest.approx(3.0)
    assert swipes_from_context({}, MAPPING) == 6.0


def test_missing_context_factor_is_named() -> None:
    model = _model("linear", (1, 1, 1, 1, 1), (0.5, 0.5))
    with pytest.raises(KeyError, match="delay"):
        qoe_vs_bandwidth(model, 1e6, 2.0, {"B": 1.0, "C": 1.0})
