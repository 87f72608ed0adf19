"""Tests of the vectorised video streaming service (seed 000, Sec. IV)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from model.services.video import (
    VideoParams,
    VideoWindowStats,
    init_video,
    make_catalogue,
    quality_of_bitrate,
    step_video,
    truncated_exponential_rate,
)

# Videos long enough never to finish within a test, no swipes: deterministic playback.
LONG = VideoParams(
    request_rate_per_min=0.0, duration_min_s=1000.0, duration_mean_s=1001.0, duration_max_s=1002.0,
    startup_counts_as_rebuffer=True,
)


def _run(params: VideoParams, throughput: np.ndarray, slots: int, seed: int = 0, dt: float = 1.0):
    rng = np.random.default_rng(seed)
    state = init_video(throughput.size, params, rng)
    out = [step_video(state, throughput, dt, params, rng) for _ in range(slots)]
    return state, out


@pytest.mark.parametrize(
    ("mean", "low", "high"), [(230.0, 120.0, 500.0), (400, 120, 500), (15, 5, 60)]
)
def test_truncated_exponential_has_the_requested_mean(mean: float, low: float, high: float) -> None:
    rate = truncated_exponential_rate(mean, low, high)
    density = lambda x: math.exp(-rate * (x - low))  # noqa: E731
    mass = integrate.quad(density, low, high)[0]
    first = integrate.quad(lambda x: x * density(x), low, high)[0]
    assert first / mass == pytest.approx(mean, rel=1e-9)


def test_catalogue_matches_youtube8m_statistics() -> None:
    params = VideoParams(catalogue_size=200_000)
    cat = make_catalogue(params, np.random.default_rng(3))
    assert cat.duration_s.min() >= 120.0 and cat.duration_s.max() <= 500.0
    se = cat.duration_s.std() / math.sqrt(cat.duration_s.size)
    assert abs(cat.duration_s.mean() - 230.0) < 4 * se
    assert np.all(np.diff(cat.popularity_cdf) >= 0) and cat.popularity_cdf[-1] == pytest.approx(1)


def test_requests_are_poisson_with_rate_per_minute() -> None:
    params = dataclasses.replace(LONG, request_rate_per_min=6.0)
    n = 40_000
    rng = np.random.default_rng(1)
    state = init_video(n, params, rng)
    scale = np.where(np.arange(n) < n // 2, 1.0, 2.0)
    slot = step_video(state, np.full(n, 1e6), 2.0, params, rng, request_rate_scale=scale)
    for half, lam in ((slot.requests[: n // 2], 0.2), (slot.requests[n // 2 :], 0.4)):
        assert abs(half.mean() - lam) < 4 * math.sqrt(lam / half.size)
        # Poisson: variance equals mean (dispersion test, chi-square with n-1 dof).
        chi2 = half.var(ddof=1) * (half.size - 1) / half.mean()
        assert stats.chi2.sf(chi2, half.size - 1) > 1e-4
        assert stats.chi2.cdf(chi2, half.size - 1) > 1e-4


def test_startup_stall_is_first_chunk_time() -> None:
    theta = 10e6
    _, (first, second) = _run(LONG, np.array([theta]), 2)
    startup = LONG.chunk_s * LONG.ladder_mbps[0] * 1e6 / theta  # first chunk at lowest bitrate
    assert first.rebuffer_s[0] == pytest.approx(startup)
    assert first.startup_s[0] == pytest.approx(startup)
    assert first.played_s[0] == pytest.approx(1.0 - startup)
    assert first.bits[0] == pytest.approx(theta)  # buffer far from its cap: link fully used
    assert second.rebuffer_s[0] == 0.0
    # by default (startup not counted as rebuffering) the same slot shows no rebuffer
    _, (plain, _) = _run(dataclasses.replace(LONG, startup_counts_as_rebuffer=False),
                         np.array([theta]), 2)
    assert plain.rebuffer_s[0] == 0.0 and plain.startup_s[0] == pytest.approx(startup)


def test_starvation_below_lowest_bitrate_follows_chunk_arithmetic() -> None:
    # 0.25 Mbps against a 0.5 Mbps floor: every 4 s chunk takes 8 s, completing at t = 8k.
    params = dataclasses.replace(LONG, ladder_mbps=(0.5, 1.0))
    _, out = _run(params, np.array([0.25e6]), 200)
    played = sum(s.played_s[0] for s in out)
    stalled = sum(s.rebuffer_s[0] for s in out)
    assert played == pytest.approx(24 * 4.0)  # chunks 1..24 play fully in [8k, 8k + 4]
    assert stalled == pytest.approx(200.0 - 96.0)


def test_zero_throughput_stalls_every_second() -> None:
    _, out = _run(LONG, np.zeros(3), 5)
    for s in out:
        np.testing.assert_array_equal(s.bits, 0.0)
        np.testing.assert_allclose(s.rebuffer_s, 1.0)


def test_buffer_fills_to_cap_and_link_idles() -> None:
    state, out = _run(LONG, np.array([100e6]), 30)
    assert state.buffer_s[0] <= LONG.buffer_cap_s + 1e-9
    assert state.buffer_s[0] > LONG.buffer_cap_s - LONG.chunk_s - 1.0
    # Once full, only what is played is refetched: ~1 s of content per second at the top rate.
    assert out[-1].bits[0] <= 2 * LONG.chunk_s * LONG.ladder_mbps[-1] * 1e6
    assert out[-1].bitrate_mbps[0] == LONG.ladder_mbps[-1]  # ABR has climbed to the top
    # Played quality lags behind: the first, lowest-rate fill is still being played out.
    assert 0.0 < out[-1].quality[0] < 1.0


def test_external_bitrate_index_is_obeyed() -> None:
    rng = np.random.default_rng(0)
    state = init_video(4, LONG, rng)
    for _ in range(5):
        slot = step_video(state, np.full(4, 5e6), 1.0, LONG, rng, bitrate_idx=np.full(4, 2))
    np.testing.assert_allclose(slot.bitrate_mbps, LONG.ladder_mbps[2])
    q = quality_of_bitrate(np.array(LONG.ladder_mbps[2]), LONG)
    np.testing.assert_allclose(slot.quality, q)


def test_swipe_discards_buffer() -> None:
    params = dataclasses.replace(LONG, request_rate_per_min=6000.0)
    state, out = _run(params, np.array([0.0]), 3)
    assert all(s.requests[0] > 0 for s in out)
    assert state.buffer_s[0] == 0.0 and state.downloaded_s[0] == 0.0


def test_finished_video_stops_session_and_demand() -> None:
    params = VideoParams(
        request_rate_per_min=0.0, duration_min_s=4.0, duration_mean_s=5.0, duration_max_s=8.0
    )
    state, out = _run(params, np.full(5, 50e6), 12)
    assert not state.active.any()
    np.testing.assert_array_equal(out[-1].demand_bps, 0.0)
    np.testing.assert_array_equal(out[-1].rebuffer_s, 0.0)
    total_played = sum(s.played_s for s in out)
    np.testing.assert_allclose(total_played, state.duration_s)


@settings(max_examples=30, deadline=None)
@given(
    throughput=st.lists(st.floats(0.0, 20e6), min_size=1, max_size=6),
    rate=st.sampled_from([0.0, 6.0, 30.0]),
    dt=st.sampled_from([0.5, 1.0, 3.0]),
    abr=st.sampled_from(["buffer", "rate", "hybrid"]),
    seed=st.integers(0, 2**16),
)
def test_playback_invariants(throughput, rate, dt, abr, seed) -> None:  # noqa: ANN001
    params = dataclasses.replace(VideoParams(), request_rate_per_min=rate, abr=abr,
                                 startup_counts_as_rebuffer=True)
    theta = np.array(throughput)
    rng = np.random.default_rng(seed)
    state = init_video(theta.size, params, rng)
    for _ in range(8):
        slot = step_video(state, theta, dt, params, rng)
        assert np.all(slot.bits <= theta * dt * (1 + 1e-9) + 1e-6)
        assert np.all(slot.played_s + slot.rebuffer_s <= dt + 1e-9)
        # A session running the whole slot is either playing or stalled at every instant.
        running = state.active & (state.downloaded_s < state.duration_s)
        np.testing.assert_allclose((slot.played_s + slot.rebuffer_s)[running], dt)
        assert np.all((state.buffer_s >= 0) & (state.buffer_s <= params.buffer_cap_s + 1e-9))
        # Content is conserved within a video: downloaded = buffered + played.
        np.testing.assert_allclose(
            state.downloaded_s, state.buffer_s + state.played_video_s, atol=1e-6
        )
        assert np.all((slot.quality >= 0) & (slot.quality <= 1))
        assert np.all(slot.demand_bps >= 0)


def test_window_stats_normalise_per_minute() -> None:
    rng = np.random.default_rng(2)
    params = VideoParams()
    state = init_video(50, params, rng)
    theta = rng.uniform(0, 4e6, 50)
    window = VideoWindowStats.empty(50)
    slots = [step_video(state, theta, 1.0, params, rng) for _ in range(30)]
    for s in slots:
        window.add(s, theta, 1.0)
    feats = window.features()
    np.testing.assert_allclose(feats["rebuffer"], sum(s.rebuffer_s for s in slots) / 0.5)
    np.testing.assert_allclose(feats["swipe_rate"], sum(s.requests for s in slots) / 0.5)
    np.testing.assert_allclose(feats["throughput"], theta)
    played = sum(s.played_s for s in slots)
    expect_q = np.where(played > 0, sum(s.quality_s for s in slots) / np.maximum(played, 1e-12), 0)
    np.testing.assert_allclose(feats["quality"], expect_q)
    window.reset()
    assert window.elapsed_s == 0.0 and not window.rebuffer_s.any()


def test_same_seed_same_run_different_seed_differs() -> None:
    theta = np.linspace(0, 5e6, 20)
    _, a = _run(VideoParams(), theta, 20, seed=7)
    _, b = _run(VideoParams(), theta, 20, seed=7)
    _, c = _run(VideoParams(), theta, 20, seed=8)
    assert all(np.array_equal(x.rebuffer_s, y.rebuffer_s) for x, y in zip(a, b, strict=True))
    assert any(not np.array_equal(x.requests, y.requests) for x, y in zip(a, c, strict=True))


def test_large_population_runs_vectorised() -> None:
    n = 100_000
    rng = np.random.default_rng(0)
    state = init_video(n, VideoParams(), rng)
    theta = rng.uniform(0, 8e6, n)
    for _ in range(3):
        slot = step_video(state, theta, 1.0, VideoParams(), rng)
    assert slot.bits.shape == (n,) and np.isfinite(slot.demand_bps).all()


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"duration_mean_s": 600.0}, "duration_mean_s"),
        ({"ladder_mbps": (1.0, 0.5)}, "ladder_mbps"),
        ({"buffer_cap_s": 2.0}, "buffer_cap_s"),
    ],
)
def test_check_names_the_bad_key(change: dict, key: str) -> None:
    problem = dataclasses.replace(VideoParams(), **change).check()
    assert problem is not None and problem.startswith(key)
    assert VideoParams().check() is None
