"""Video streaming service, vectorised over users (seed 000, Sec. IV case study).

Seed 000 Sec. IV streams videos "sampled from the YouTube 8M dataset" at 0.5-3 Mbps to users
whose requests form a Poisson process with rate lambda = 6. This module is the physics of that
service for all users at once (struct of arrays, pure numpy, no Python loop over users):

* **Requests.** Poisson with ``request_rate_per_min`` = 6 *per minute*. The seed gives no unit;
  per minute matches short-video swiping (one new video every ~10 s on average), the behaviour
  the seed's behavioural dynamics B is built from (swipe frequency). A request abandons the
  current video (a swipe) and starts a new one; buffered content of the old video is dropped.
  Requests are applied at the start of the slot in which they arrive (slots of ~1 s are short
  against the mean inter-arrival of 10 s).
* **Catalogue.** YouTube-8M is not reachable here, so a synthetic catalogue stands in for it:
  durations follow the maximum-entropy law on ``[duration_min_s, duration_max_s]`` with mean
  ``duration_mean_s`` (a truncated exponential), defaults 120-500 s with mean 230 s, the
  published YouTube-8M statistics; popularity is Zipf. For a short-video catalogue set e.g.
  5-60 s with mean 15 s.
* **Playback.** Chunked (``chunk_s`` = 4 s, Pensieve's simulator), a bitrate ladder within
  0.5-3 Mbps, a buffer capped at ``buffer_cap_s``. A chunk becomes playable only when fully
  downloaded, so the first chunk of every video costs a startup stall. Within a slot each
  user's download and playback are advanced event by event (chunk completions, waits for
  buffer space) on a slot-local clock, vectorised over users.
* **ABR.** Either an externally chosen ladder index per user, or a simple rule: buffer-based
  (BBA, Huang et al., SIGCOMM 2014), rate-based (EWMA throughput x safety), or the minimum of
  the two ("hybrid", default).
* **Quality.** Q = ln(b / b_min) / ln(b_max / b_min) in [0, 1] (Pensieve's log-bitrate
  utility, normalised). The buffer is treated as well mixed: the quality of what is played is
  the content-weighted mean quality of the buffer (exact while the bitrate is constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.services.video_catalogue import (
    VideoCatalogue,
    make_catalogue,
    quality_of_bitrate,
    truncated_exponential_rate,
)
from model.services.video_params import ABR_RULES, VideoParams
from model.services.video_window import VideoWindowStats

__all__ = [
    "ABR_RULES",
    "VideoCatalogue",
    "VideoParams",
    "VideoSlot",
    "VideoState",
    "VideoWindowStats",
    "abr_choice",
    "init_video",
    "make_catalogue",
    "quality_of_bitrate",
    "step_video",
    "truncated_exponential_rate",
]


@dataclass(slots=True)
class VideoState:
    """Per-user playback state (struct of arrays, all of length n_users).

    Content is measured in seconds of video: ``downloaded_s`` of the current video equals
    ``buffer_s + played_video_s``; ``buffer_quality_s`` is the quality-weighted buffer content.
    """

    catalogue: VideoCatalogue
    video_id: np.ndarray
    duration_s: np.ndarray
    downloaded_s: np.ndarray
    buffer_s: np.ndarray
    buffer_quality_s: np.ndarray
    played_video_s: np.ndarray
    chunk_bits_left: np.ndarray
    chunk_content_s: np.ndarray
    chunk_idx: np.ndarray
    last_quality: np.ndarray
    active: np.ndarray
    throughput_est_bps: np.ndarray

    @property
    def n_users(self) -> int:
        """Number of users held by this state."""
        return int(self.video_id.size)


@dataclass(frozen=True, slots=True)
class VideoSlot:
    """What happened to every user during one slot (arrays of length n_users).

    Attributes:
        bits: bits downloaded in the slot.
        rebuffer_s: stall seconds (including startup when ``startup_counts_as_rebuffer``).
        startup_s: stall seconds spent waiting for a video's first chunk.
        played_s: seconds of content played.
        quality_s: played seconds weighted by their quality Q (sums exactly over windows).
        quality: mean Q of what was played (0 when nothing was played).
        bitrate_mbps: ladder bitrate of the chunk in flight or last fetched (0 when idle).
        switches: summed |Delta Q| between consecutive chunks (smoothness term of MPC QoE).
        requests: new video requests (swipes) in the slot.
        playing: whether a session is active at the end of the slot.
        demand_bps: demanded bit rate for schedulers, bitrate x (1 + buffer deficit /
            refill horizon), 0 when nothing is left to fetch.
    """

    bits: np.ndarray
    rebuffer_s: np.ndarray
    startup_s: np.ndarray
    played_s: np.ndarray
    quality_s: np.ndarray
    quality: np.ndarray
    bitrate_mbps: np.ndarray
    switches: np.ndarray
    requests: np.ndarray
    playing: np.ndarray
    demand_bps: np.ndarray


def init_video(n_users: int, params: VideoParams, rng: np.random.Generator) -> VideoState:
    """Create the catalogue and start every user on a freshly requested video."""
    n = int(n_users)
    state = VideoState(
        catalogue=make_catalogue(params, rng),
        video_id=np.zeros(n, dtype=np.int64),
        duration_s=np.zeros(n),
        downloaded_s=np.zeros(n),
        buffer_s=np.zeros(n),
        buffer_quality_s=np.zeros(n),
        played_video_s=np.zeros(n),
        chunk_bits_left=np.zeros(n),
        chunk_content_s=np.zeros(n),
        chunk_idx=np.zeros(n, dtype=np.int64),
        last_quality=np.zeros(n),
        active=np.zeros(n, dtype=bool),
        throughput_est_bps=np.zeros(n),
    )
    _start_videos(state, np.arange(n), rng)
    return state


def _start_videos(state: VideoState, users: np.ndarray, rng: np.random.Generator) -> None:
    """Abandon whatever ``users`` were watching and start a new catalogue video."""
    if users.size == 0:
        return
    ids = np.searchsorted(state.catalogue.popularity_cdf, rng.random(users.size), side="right")
    ids = np.minimum(ids, state.catalogue.duration_s.size - 1)
    state.video_id[users] = ids
    state.duration_s[users] = state.catalogue.duration_s[ids]
    for arr in (
        state.downloaded_s,
        state.buffer_s,
        state.buffer_quality_s,
        state.played_video_s,
        state.chunk_bits_left,
        state.chunk_content_s,
    ):
        arr[users] = 0.0
    state.active[users] = True


def abr_choice(state: VideoState, users: np.ndarray, params: VideoParams) -> np.ndarray:
    """Ladder index the built-in ABR rule picks for the next chunk of ``users``."""
    top = len(params.ladder_mbps) - 1
    frac = (state.buffer_s[users] - params.bba_reservoir_s) / params.bba_cushion_s
    by_buffer = np.clip(np.floor(frac * top + 1e-9), 0, top).astype(np.int64)
    ladder_bps = np.asarray(params.ladder_mbps) * 1e6
    est = params.rate_safety * state.throughput_est_bps[users]
    by_rate = np.clip(np.searchsorted(ladder_bps, est, side="right") - 1, 0, top)
    if params.abr == "buffer":
        return by_buffer
    if params.abr == "rate":
        return by_rate
    return np.minimum(by_buffer, by_rate)


def step_video(
    state: VideoState,
    throughput_bps: np.ndarray,
    dt_s: float,
    params: VideoParams,
    rng: np.random.Generator,
    bitrate_idx: np.ndarray | None = None,
    request_rate_scale: np.ndarray | None = None,
) -> VideoSlot:
    """Advance every user's video session by one slot.

    Args:
        state: per-user playback state, updated in place.
        throughput_bps: throughput each user receives during the slot (bit/s, >= 0).
        dt_s: slot length in seconds.
        params: service parameters.
        rng: random stream of the users (requests, video choice).
        bitrate_idx: optional externally chosen ladder index per user, used for chunks that
            start in this slot; otherwise the built-in ABR rule (``params.abr``) decides.
        request_rate_scale: optional per-user multiplier of the request (swipe) rate, e.g.
            from engagement (see ``model.services.behaviour.swipe_rate_scale``).

    Returns:
        The slot's per-user outcomes, including the demanded bit rate for schedulers.
    """
    n = state.n_users
    rate = np.maximum(np.asarray(throughput_bps, dtype=float), 0.0) * np.ones(n)
    lam = params.request_rate_per_min * dt_s / 60.0
    scale = np.ones(n) if request_rate_scale is None else np.asarray(request_rate_scale, float)
    requests = rng.poisson(lam * np.maximum(scale, 0.0))
    _start_videos(state, np.flatnonzero(requests > 0), rng)
    acc = _SlotAccumulators.zeros(n)
    forced = None if bitrate_idx is None else np.asarray(bitrate_idx, dtype=np.int64)
    _advance_slot(state, rate, dt_s, params, forced, acc)
    finished = (
        state.active
        & (state.downloaded_s >= state.duration_s - 1e-9)
        & (state.buffer_s <= 1e-12)
        & (state.chunk_bits_left <= 0.0)
    )
    state.active[finished] = False
    downloading = acc.bits > 0.0
    a = params.throughput_ewma
    state.throughput_est_bps[downloading] = (1 - a) * state.throughput_est_bps[
        downloading
    ] + a * rate[downloading]
    return _slot_result(state, params, acc, requests)


@dataclass(slots=True)
class _SlotAccumulators:
    bits: np.ndarray
    stall: np.ndarray
    startup: np.ndarray
    played: np.ndarray
    quality_s: np.ndarray
    switches: np.ndarray

    @classmethod
    def zeros(cls, n: int) -> _SlotAccumulators:
        return cls(*(np.zeros(n) for _ in range(6)))


def _advance_slot(
    state: VideoState,
    rate: np.ndarray,
    dt_s: float,
    params: VideoParams,
    forced: np.ndarray | None,
    acc: _SlotAccumulators,
) -> None:
    """Event-by-event download/playback on a slot-local clock, vectorised over users.

    Each pass moves every still-running user to its next event: end of slot, completion of
    the chunk in flight, or the moment the buffer has room for the next chunk. Chunks per
    slot are bounded by the buffer cap, which bounds the number of passes.
    """
    t = np.zeros(state.n_users)
    users = np.flatnonzero(state.active)
    max_passes = 3 * int(math.ceil((params.buffer_cap_s + dt_s) / params.chunk_s)) + 8
    for _ in range(max_passes):
        if users.size == 0:
            return
        left = dt_s - t[users]
        idle = state.chunk_bits_left[users] <= 0.0
        done = idle & (state.downloaded_s[users] >= state.duration_s[users] - 1e-9)
        _play(state, users[done], left[done], acc, can_stall=False)
        t[users[done]] = dt_s
        boundary = idle & ~done
        _start_or_wait(state, users[boundary], left[boundary], t, params, forced, acc)
        busy = users[~idle]
        _download(state, busy, rate[busy], left[~idle], t, params, acc)
        users = users[t[users] < dt_s - 1e-12]
    raise RuntimeError("video slot did not converge: event bound exceeded")


def _start_or_wait(
    state: VideoState,
    users: np.ndarray,
    left: np.ndarray,
    t: np.ndarray,
    params: VideoParams,
    forced: np.ndarray | None,
    acc: _SlotAccumulators,
) -> None:
    """At a chunk boundary: start the next chunk, or play until the buffer has room for it."""
    content = np.minimum(params.chunk_s, state.duration_s[users] - state.downloaded_s[users])
    room_needed = state.buffer_s[users] + content - params.buffer_cap_s
    waiting = room_needed > 1e-12
    wait = np.minimum(room_needed[waiting], left[waiting])
    _play(state, users[waiting], wait, acc, can_stall=False)
    t[users[waiting]] += wait
    starting = users[~waiting]
    if forced is None:
        idx = abr_choice(state, starting, params)
    else:
        idx = np.clip(forced[starting], 0, len(params.ladder_mbps) - 1)
    bitrate_bps = np.asarray(params.ladder_mbps)[idx] * 1e6
    state.chunk_idx[starting] = idx
    state.chunk_content_s[starting] = content[~waiting]
    state.chunk_bits_left[starting] = content[~waiting] * bitrate_bps


def _download(
    state: VideoState,
    users: np.ndarray,
    rate: np.ndarray,
    left: np.ndarray,
    t: np.ndarray,
    params: VideoParams,
    acc: _SlotAccumulators,
) -> None:
    """Download the chunk in flight until it completes or the slot ends, playing meanwhile."""
    with np.errstate(divide="ignore", over="ignore"):
        to_finish = np.where(rate > 0.0, state.chunk_bits_left[users] / rate, np.inf)
    completes = to_finish <= left
    span = np.where(completes, to_finish, left)
    bits = np.where(completes, state.chunk_bits_left[users], span * rate)
    _play(state, users, span, acc, can_stall=True)
    t[users] += span
    acc.bits[users] += bits
    state.chunk_bits_left[users] = np.where(completes, 0.0, state.chunk_bits_left[users] - bits)
    ready = users[completes]
    q = quality_of_bitrate(np.asarray(params.ladder_mbps)[state.chunk_idx[ready]], params)
    content = state.chunk_content_s[ready]
    first = state.downloaded_s[ready] <= 0.0
    acc.switches[ready] += np.where(first, 0.0, np.abs(q - state.last_quality[ready]))
    state.last_quality[ready] = q
    state.buffer_s[ready] += content
    state.buffer_quality_s[ready] += content * q
    state.downloaded_s[ready] += content


def _play(
    state: VideoState,
    users: np.ndarray,
    span: np.ndarray,
    acc: _SlotAccumulators,
    can_stall: bool,
) -> None:
    """Play ``span`` seconds from the buffer; the shortfall is a stall (rebuffer or startup)."""
    if users.size == 0:
        return
    buf = state.buffer_s[users]
    played = np.minimum(buf, span)
    mean_q = np.where(buf > 0.0, state.buffer_quality_s[users] / np.where(buf > 0, buf, 1), 0.0)
    state.buffer_s[users] = buf - played
    state.buffer_quality_s[users] = np.maximum(state.buffer_quality_s[users] - played * mean_q, 0.0)
    state.played_video_s[users] += played
    acc.played[users] += played
    acc.quality_s[users] += played * mean_q
    if can_stall:
        stall = span - played
        acc.stall[users] += stall
        acc.startup[users] += np.where(state.downloaded_s[users] <= 0.0, stall, 0.0)


def _slot_result(
    state: VideoState, params: VideoParams, acc: _SlotAccumulators, requests: np.ndarray
) -> VideoSlot:
    rebuffer = acc.stall if params.startup_counts_as_rebuffer else acc.stall - acc.startup
    bitrate = np.asarray(params.ladder_mbps)[state.chunk_idx]
    fetching = state.active & (state.downloaded_s < state.duration_s - 1e-9)
    target = params.bba_reservoir_s + params.bba_cushion_s
    deficit = np.maximum(target - state.buffer_s, 0.0) / params.refill_horizon_s
    with np.errstate(invalid="ignore", divide="ignore"):
        quality = np.where(acc.played > 0.0, acc.quality_s / acc.played, 0.0)
    return VideoSlot(
        bits=acc.bits,
        rebuffer_s=rebuffer,
        startup_s=acc.startup,
        played_s=acc.played,
        quality_s=acc.quality_s,
        quality=quality,
        bitrate_mbps=np.where(state.active, bitrate, 0.0),
        switches=acc.switches,
        requests=requests,
        playing=state.active.copy(),
        demand_bps=np.where(fetching, bitrate * 1e6 * (1.0 + deficit), 0.0),
    )
