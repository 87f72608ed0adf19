"""QoE as a function of allocated resources (seed 000, Sec. III.C.2-3, Fig. 3).

Schedulers, the demand predictor and the slicing game need a user's predicted QoE as a function
of the bandwidth (and computing) it is given. This module maps resources to the QoS factors a
fitted model reads and evaluates the model:

* throughput theta = min(bandwidth x spectral efficiency, cpu / cycles_per_bit): every bit
  delivered is processed at the edge (``cycles_per_bit``), so communication and computing are
  complementary (Leontief) resources;
* quality: the ABR settles on the bitrate b = clip(safety x theta, b_min, b_max), so
  Q = ln(b / b_min) / ln(b_max / b_min) (the video service's quality, continuous in theta);
* rebuffer R (stall seconds per minute): fluid starvation 60 (1 - theta / b_min)^+ when theta is
  below the lowest bitrate, plus, when startup counts as rebuffering, one first chunk at b_min
  per swipe, f x chunk_s x b_min / theta, capped at 60 s/min;
* delay, jitter and loss are context (taken from ``context``), not functions of bandwidth.

Q rises and R falls with theta, and fitted models are monotone in each factor, so QoE is
non-decreasing in bandwidth. The swipe rate comes from ``context["swipes_per_min"]`` or is
inverted from B = 1 + f / f_max (``swipe_rate_at_b_max_per_min``, as in the behaviour model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from policies.qoe.models import QoeModel

ArrayLike = float | np.ndarray


@dataclass(frozen=True, slots=True)
class VideoQosMapping:
    """How a throughput turns into the video QoS factors (mirrors the video service)."""

    bitrate_min_bps: float = field(
        default=0.5e6,
        metadata={
            "range": (1.0, 1e12),
            "doc": "lowest ladder bitrate (seed 000 Sec. IV: 0.5 Mbps)",
        },
    )
    bitrate_max_bps: float = field(
        default=3e6,
        metadata={"range": (1.0, 1e12), "doc": "highest ladder bitrate (seed 000 Sec. IV: 3 Mbps)"},
    )
    abr_safety: float = field(
        default=0.9,
        metadata={"range": (0.01, 2.0), "doc": "ABR streams at safety x throughput (as video)"},
    )
    chunk_s: float = field(
        default=4.0, metadata={"range": (0.1, 60.0), "doc": "chunk length (Pensieve: 4 s)"}
    )
    startup_counts_as_rebuffer: bool = field(
        default=False,
        metadata={"doc": "each swipe's first-chunk wait counts as rebuffering (as video)"},
    )
    swipe_rate_at_b_max_per_min: float = field(
        default=12.0,
        metadata={"range": (1e-6, 1e4), "doc": "swipe rate giving B = 2 (behaviour model)"},
    )
    default_swipes_per_min: float = field(
        default=6.0,
        metadata={"range": (0.0, 1e4), "doc": "swipe rate without B in context (lambda = 6)"},
    )
    cycles_per_bit: float = field(
        default=100.0,
        metadata={
            "range": (0.0, 1e6),
            "doc": "edge CPU cycles per delivered bit (our choice: the seed's 10 GCycles/s edge"
            " then serves 33 users at 3 Mbps, so computing binds near the seed's 16-24 users)",
        },
    )


def swipes_from_context(context: Mapping[str, ArrayLike], mapping: VideoQosMapping) -> ArrayLike:
    """Swipe rate per minute: given directly, inverted from B, or the default lambda."""
    if "swipes_per_min" in context:
        return np.asarray(context["swipes_per_min"], dtype=float)
    if "B" in context:
        b = np.asarray(context["B"], dtype=float)
        return np.clip(b - 1.0, 0.0, 1.0) * mapping.swipe_rate_at_b_max_per_min
    return mapping.default_swipes_per_min


def video_qos_from_throughput(
    throughput_bps: ArrayLike, swipes_per_min: ArrayLike, mapping: VideoQosMapping
) -> dict[str, np.ndarray]:
    """Throughput, quality Q and rebuffer R (s/min) reached at a sustained throughput."""
    theta = np.maximum(np.asarray(throughput_bps, dtype=float), 0.0)
    b_min, b_max = mapping.bitrate_min_bps, mapping.bitrate_max_bps
    bitrate = np.clip(mapping.abr_safety * theta, b_min, b_max)
    quality = (
        np.log(bitrate / b_min) / math.log(b_max / b_min)
        if b_max > b_min
        else (np.ones_like(theta))
    )
    starvation = 60.0 * np.maximum(1.0 - theta / b_min, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        startup = np.where(
            theta > 0.0, np.asarray(swipes_per_min) * mapping.chunk_s * b_min / theta, np.inf
        )
    if not mapping.startup_counts_as_rebuffer:
        startup = np.zeros_like(startup)
    rebuffer = np.minimum(starvation + startup, 60.0)
    return {"throughput": theta, "quality": quality, "rebuffer": rebuffer}


def qoe_vs_throughput(
    model: QoeModel,
    throughput_bps: ArrayLike,
    context: Mapping[str, ArrayLike],
    mapping: VideoQosMapping,
) -> np.ndarray:
    """Predicted QoE at a sustained throughput, in the given context (B, C, delay, ...)."""
    features: dict[str, ArrayLike] = dict(context)
    features.update(
        video_qos_from_throughput(throughput_bps, swipes_from_context(context, mapping), mapping)
    )
    missing = [f for f in model.factors if f not in features]
    if missing:
        raise KeyError(f"context: the model reads {missing}, which are not in context")
    return model.predict(features)


def qoe_vs_resources(
    model: QoeModel,
    bandwidth_hz: ArrayLike,
    cpu_hz: ArrayLike,
    spectral_eff: ArrayLike,
    context: Mapping[str, ArrayLike],
    mapping: VideoQosMapping | None = None,
) -> np.ndarray:
    """Predicted QoE with both bandwidth (Hz) and edge computing (cycles/s) allocated."""
    mapping = VideoQosMapping() if mapping is None else mapping
    comm = np.asarray(bandwidth_hz, dtype=float) * np.asarray(spectral_eff, dtype=float)
    if mapping.cycles_per_bit > 0.0:
        comm = np.minimum(comm, np.asarray(cpu_hz, dtype=float) / mapping.cycles_per_bit)
    return qoe_vs_throughput(model, comm, context, mapping)


def qoe_vs_bandwidth(
    model: QoeModel,
    bandwidth_hz: ArrayLike,
    spectral_eff: ArrayLike,
    context: Mapping[str, ArrayLike],
    mapping: VideoQosMapping | None = None,
) -> np.ndarray:
    """Predicted QoE against allocated bandwidth, computing not binding (non-decreasing).

    Args:
        model: the user's fitted (or generic) QoE model.
        bandwidth_hz: allocated bandwidth(s), Hz; any shape broadcasting with the rest.
        spectral_eff: the user's spectral efficiency, bit/s/Hz.
        context: values of the non-bandwidth factors the model reads (e.g. "B", "C",
            "delay", "jitter", "loss"), optionally "swipes_per_min".
        mapping: throughput-to-QoS mapping (default: the video service defaults).

    Returns:
        Predicted QoE on the MOS scale, shaped like the broadcast inputs.
    """
    mapping = VideoQosMapping() if mapping is None else mapping
    theta = np.asarray(bandwidth_hz, dtype=float) * np.asarray(spectral_eff, dtype=float)
    return qoe_vs_throughput(model, theta, context, mapping)


def qoe_bandwidth_slope(
    model: QoeModel,
    bandwidth_hz: ArrayLike,
    spectral_eff: ArrayLike,
    context: Mapping[str, ArrayLike],
    mapping: VideoQosMapping | None = None,
    rel_step: float = 1e-4,
) -> np.ndarray:
    """dQoE/dBandwidth (per Hz) by central finite differences (one-sided at zero).

    The curve has kinks (clipping of the bitrate and of the MOS scale); there the value is
    the average of the one-sided slopes over the step.
    """
    w = np.asarray(bandwidth_hz, dtype=float)
    h = np.maximum(rel_step * np.abs(w), 1.0)
    lower = np.maximum(w - h, 0.0)
    upper = w + h
    hi = qoe_vs_bandwidth(model, upper, spectral_eff, context, mapping)
    lo = qoe_vs_bandwidth(model, lower, spectral_eff, context, mapping)
    return (hi - lo) / (upper - lower)
