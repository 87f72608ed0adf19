"""The synthetic video catalogue of the video service (seed 000 Sec. IV).

YouTube-8M is not reachable here, so a synthetic catalogue stands in for it: durations follow
the maximum-entropy law on ``[duration_min_s, duration_max_s]`` with mean ``duration_mean_s``
(a truncated exponential; defaults 120-500 s with mean 230 s, the published YouTube-8M
statistics) and popularity is Zipf. Also the normalised log-bitrate quality Q of a bitrate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import brentq

if TYPE_CHECKING:
    from model.services.video import VideoParams


@dataclass(frozen=True, slots=True)
class VideoCatalogue:
    """Synthetic catalogue: per-video durations and the popularity CDF used to draw videos."""

    duration_s: np.ndarray
    popularity_cdf: np.ndarray


def truncated_exponential_rate(mean: float, low: float, high: float) -> float:
    """Rate of the maximum-entropy density on [low, high] with the given mean.

    The density is proportional to exp(-rate * (x - low)); rate < 0 when the mean lies above
    the midpoint and 0 at the midpoint (uniform).
    """
    span, offset = high - low, mean - low
    if math.isclose(offset, span / 2.0, rel_tol=1e-12):
        return 0.0

    def excess(rate: float) -> float:
        return _truncated_exponential_mean(rate, span) - offset

    bound = 1.0
    while excess(bound) > 0.0 or excess(-bound) < 0.0:
        bound *= 2.0
    return float(brentq(excess, -bound, bound, xtol=1e-14 / span))


def _truncated_exponential_mean(rate: float, span: float) -> float:
    if abs(rate * span) < 1e-8:
        return span / 2.0
    return 1.0 / rate - span / math.expm1(rate * span)


def _sample_truncated_exponential(
    rate: float, low: float, high: float, size: int, rng: np.random.Generator
) -> np.ndarray:
    u = rng.random(size)
    span = high - low
    if abs(rate * span) < 1e-8:
        return low + u * span
    return low - np.log1p(u * np.expm1(-rate * span)) / rate


def make_catalogue(params: VideoParams, rng: np.random.Generator) -> VideoCatalogue:
    """Draw the synthetic catalogue (durations and Zipf popularity)."""
    rate = truncated_exponential_rate(
        params.duration_mean_s, params.duration_min_s, params.duration_max_s
    )
    durations = _sample_truncated_exponential(
        rate, params.duration_min_s, params.duration_max_s, params.catalogue_size, rng
    )
    weights = np.arange(1, params.catalogue_size + 1, dtype=float) ** -params.zipf_exponent
    cdf = np.cumsum(weights)
    return VideoCatalogue(duration_s=durations, popularity_cdf=cdf / cdf[-1])


def quality_of_bitrate(bitrate_mbps: np.ndarray, params: VideoParams) -> np.ndarray:
    """Normalised log-bitrate quality Q in [0, 1] of a bitrate (Mbps)."""
    lo, hi = params.ladder_mbps[0], params.ladder_mbps[-1]
    if hi <= lo:
        return np.ones_like(np.asarray(bitrate_mbps, dtype=float))
    return np.clip(np.log(np.asarray(bitrate_mbps) / lo) / math.log(hi / lo), 0.0, 1.0)
