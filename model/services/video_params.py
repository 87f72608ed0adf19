"""Parameters of the video service (seed 000 Sec. IV), validated where they are defined."""

from __future__ import annotations

from dataclasses import dataclass

from policies.paramtools import param as _f

ABR_RULES = ("buffer", "rate", "hybrid")


@dataclass(frozen=True, slots=True)
class VideoParams:
    """Parameters of the video streaming service (seed 000, Sec. IV)."""

    request_rate_per_min: float = _f(
        6.0,
        "Poisson video-request (swipe) rate per user, per minute (seed 000 Sec. IV: lambda = 6;"
        " the per-minute unit is our choice, matching short-video swiping)",
        span=(0.0, 600.0),
    )
    duration_min_s: float = _f(
        120.0, "shortest catalogue video (YouTube-8M: 120 s)", span=(1.0, 1e5)
    )
    duration_max_s: float = _f(
        500.0, "longest catalogue video (YouTube-8M: 500 s)", span=(1.0, 1e5)
    )
    duration_mean_s: float = _f(
        230.0,
        "mean catalogue video duration (YouTube-8M: ~230 s); durations are max-entropy"
        " (truncated exponential) on [min, max] with this mean",
        span=(1.0, 1e5),
    )
    catalogue_size: int = _f(
        10_000, "videos in the synthetic catalogue standing in for YouTube-8M", span=(1, 10**7)
    )
    zipf_exponent: float = _f(
        0.8, "Zipf popularity exponent of the catalogue (0.8 is typical of video)", span=(0.0, 3.0)
    )
    ladder_mbps: tuple[float, ...] = _f(
        (0.5, 1.0, 1.5, 2.0, 2.5, 3.0),
        "bitrate ladder in Mbps, ascending (seed 000 Sec. IV: 0.5-3 Mbps)",
        span=(0.01, 1000.0),
    )
    chunk_s: float = _f(4.0, "chunk duration, seconds of content (Pensieve: 4 s)", span=(0.1, 60.0))
    buffer_cap_s: float = _f(
        60.0, "playback buffer capacity, seconds of content (Pensieve: 60 s)", span=(0.1, 3600.0)
    )
    abr: str = _f(
        "rate",
        "built-in ABR rule when no ladder index is given: BBA buffer map, EWMA rate, or the"
        " lower of the two; rate-based by default because with a swipe every ~10 s the buffer"
        " never fills, so buffer-based rules stay on the lowest rung (measured Q = 0.22 with"
        " 'hybrid' at ~3 Mbit/s)",
        choices=ABR_RULES,
    )
    bba_reservoir_s: float = _f(
        4.0, "BBA reservoir: below it the lowest bitrate is used (one chunk)", span=(0.0, 3600.0)
    )
    bba_cushion_s: float = _f(
        16.0, "BBA cushion: buffer span from lowest to highest bitrate", span=(0.1, 3600.0)
    )
    rate_safety: float = _f(
        0.9, "rate ABR picks the highest bitrate <= safety x throughput estimate", span=(0.01, 2.0)
    )
    throughput_ewma: float = _f(
        0.3, "weight of the newest slot in the EWMA throughput estimate", span=(0.0, 1.0)
    )
    refill_horizon_s: float = _f(
        10.0,
        "demanded rate = bitrate x (1 + buffer deficit / horizon): time to refill the buffer to"
        " reservoir + cushion",
        span=(0.1, 3600.0),
    )
    startup_counts_as_rebuffer: bool = _f(
        False,
        "count the wait for each video's first chunk as rebuffer time; off by default: the"
        " seed's R is rebuffering, and standard models (ITU-T P.1203) treat initial loading"
        " separately; on, swipe startups dominate R",
    )

    def check(self) -> str | None:
        """Cross-field validation used by the config loader (None when valid)."""
        if not self.duration_min_s < self.duration_mean_s < self.duration_max_s:
            return "duration_mean_s: must lie strictly between duration_min_s and duration_max_s"
        if any(b <= a for a, b in zip(self.ladder_mbps, self.ladder_mbps[1:], strict=False)):
            return "ladder_mbps: must be strictly ascending"
        if self.buffer_cap_s < self.chunk_s:
            return "buffer_cap_s: must hold at least one chunk (>= chunk_s)"
        return None
