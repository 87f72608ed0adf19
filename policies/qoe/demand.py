"""QoE-based resource demand prediction (seed 000, Sec. III.C.2, Fig. 3) and the SLA baseline.

For the next slice window of length W (set by the level-two DA), a level-one DA finds the least
communication (bandwidth, Hz) and computing (cycles/s) resources with which the user's fitted
QoE model, evaluated over Monte Carlo samples of the emulated behavioural dynamics B and
environmental complexity C, meets the user's ELA. Resources enter the QoE only through the
delivered throughput theta = min(bandwidth x spectral efficiency, cpu / cycles_per_bit)
(``policies.qoe.bandwidth``), so the least pair is bandwidth = theta* / SE and
cpu = cycles_per_bit x theta*, with theta* the least throughput that meets the ELA. The predicted
QoE is non-decreasing in theta, so theta* is found by bisection to a tolerance. When even the
largest allocation falls short, the estimate is flagged unattainable and carries that largest
allocation (the most the user could use).

The HSLA-L2 benchmark (Sec. IV) instead estimates demand from a QoS target and an SLA: the
bandwidth and computing that deliver a fixed target bitrate, whatever the user's QoE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from policies.qoe.bandwidth import VideoQosMapping, qoe_vs_throughput
from policies.qoe.models import QoeModel

CRITERIA = ("mean", "probability")


@dataclass(frozen=True, slots=True)
class DemandParams:
    """Search limits and the ELA criterion of QoE-based demand prediction."""

    max_bandwidth_hz: float = field(
        default=20e6,
        metadata={
            "range": (1.0, 1e12),
            "doc": "largest bandwidth a user can be given: one 20 MHz NR carrier in band n28"
            " (3GPP TS 38.101-1; seed 000 Sec. IV uses the 700 MHz band n28)",
        },
    )
    max_cpu_hz: float = field(
        default=10e9,
        metadata={"range": (1.0, 1e15), "doc": "edge computing capacity (seed 000 Sec. IV)"},
    )
    rel_tol: float = field(
        default=1e-4,
        metadata={"range": (1e-12, 0.1), "doc": "bisection tolerance, share of max throughput"},
    )
    criterion: str = field(
        default="mean",
        metadata={
            "choices": CRITERIA,
            "doc": "ELA met by the MC-mean predicted QoE, or with probability >= confidence",
        },
    )
    confidence: float = field(
        default=0.5,
        metadata={"range": (0.0, 1.0), "doc": "probability for the 'probability' criterion"},
    )


@dataclass(frozen=True, slots=True)
class SlaParams:
    """QoS/SLA demand of the HSLA-L2 benchmark (seed 000 Sec. IV)."""

    target_bitrate_bps: float = field(
        default=2e6,
        metadata={
            "range": (1.0, 1e12),
            "doc": "SLA bitrate per user (our choice: 2 Mbps, mid-ladder HD of 0.5-3 Mbps)",
        },
    )
    headroom: float = field(
        default=1.0,
        metadata={"range": (0.1, 10.0), "doc": "multiplier on the target (1 = no margin)"},
    )


@dataclass(frozen=True, slots=True)
class DemandEstimate:
    """Predicted resource demand of one user over one slice window."""

    throughput_bps: float
    bandwidth_hz: float
    cpu_hz: float
    window_s: float
    predicted_qoe: float
    ela: float
    attainable: bool

    @property
    def bits(self) -> float:
        """Data volume over the window (bit)."""
        return self.throughput_bps * self.window_s

    @property
    def cycles(self) -> float:
        """Computing volume over the window (cycles)."""
        return self.cpu_hz * self.window_s


def _sample_contexts(
    b_samples: np.ndarray, c_samples: np.ndarray, context: Mapping[str, float] | None
) -> dict[str, np.ndarray]:
    b = np.atleast_1d(np.asarray(b_samples, dtype=float))
    c = np.atleast_1d(np.asarray(c_samples, dtype=float))
    if b.shape != c.shape:
        raise ValueError("b_samples and c_samples must have the same shape")
    extra = {} if context is None else {k: np.full(b.shape, v, float) for k, v in context.items()}
    return {**extra, "B": b, "C": c}


def _meets(qoe: np.ndarray, ela: float, params: DemandParams) -> bool:
    if params.criterion == "mean":
        return bool(qoe.mean() >= ela)
    return bool((qoe >= ela).mean() >= params.confidence)


def predict_demand(
    model: QoeModel,
    ela: float,
    spectral_eff: float,
    b_samples: np.ndarray,
    c_samples: np.ndarray,
    window_s: float,
    params: DemandParams,
    context: Mapping[str, float] | None = None,
    mapping: VideoQosMapping | None = None,
) -> DemandEstimate:
    """Least bandwidth and computing for which the predicted QoE meets the ELA.

    Args:
        model: the user's QoE model.
        ela: the user's experience level agreement (MOS scale).
        spectral_eff: expected spectral efficiency over the window (bit/s/Hz, > 0).
        b_samples: Monte Carlo samples of B over the window (e.g. ``BcForecast.b_samples``).
        c_samples: matching samples of C.
        window_s: slice window length W in seconds (scales the volumes only).
        params: search limits and ELA criterion.
        context: other factors the model reads (delay, jitter, loss), as scalars.
        mapping: throughput-to-QoS mapping (default: video service defaults).

    Returns:
        The estimate; ``attainable`` is False when the maximum allocation misses the ELA.
    """
    mapping = VideoQosMapping() if mapping is None else mapping
    if spectral_eff <= 0.0:
        raise ValueError("spectral_eff: must be positive")
    ctx = _sample_contexts(b_samples, c_samples, context)

    def qoe_at(theta: float) -> np.ndarray:
        return qoe_vs_throughput(model, theta, ctx, mapping)

    theta_max = params.max_bandwidth_hz * spectral_eff
    if mapping.cycles_per_bit > 0.0:
        theta_max = min(theta_max, params.max_cpu_hz / mapping.cycles_per_bit)
    if not _meets(qoe_at(theta_max), ela, params):
        theta, attainable = theta_max, False
    elif _meets(qoe_at(0.0), ela, params):
        theta, attainable = 0.0, True
    else:
        theta, attainable = _bisect_least(qoe_at, ela, params, theta_max), True
    return DemandEstimate(
        throughput_bps=theta,
        bandwidth_hz=theta / spectral_eff,
        cpu_hz=theta * mapping.cycles_per_bit,
        window_s=float(window_s),
        predicted_qoe=float(qoe_at(theta).mean()),
        ela=float(ela),
        attainable=attainable,
    )


def _bisect_least(
    qoe_at: Callable[[float], np.ndarray], ela: float, params: DemandParams, theta_max: float
) -> float:
    """Smallest feasible throughput within tolerance; invariant: lo infeasible, hi feasible."""
    lo, hi = 0.0, theta_max
    tol = params.rel_tol * theta_max
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if _meets(qoe_at(mid), ela, params):
            hi = mid
        else:
            lo = mid
    return hi


def sla_demand(
    spectral_eff: float,
    window_s: float,
    params: SlaParams,
    limits: DemandParams,
    mapping: VideoQosMapping | None = None,
) -> DemandEstimate:
    """QoS/SLA demand (HSLA-L2 benchmark): resources for a fixed target bitrate, QoE ignored.

    ``attainable`` is False when the target exceeds the largest allocation (then capped).
    """
    mapping = VideoQosMapping() if mapping is None else mapping
    if spectral_eff <= 0.0:
        raise ValueError("spectral_eff: must be positive")
    wanted = params.target_bitrate_bps * params.headroom
    theta_max = limits.max_bandwidth_hz * spectral_eff
    if mapping.cycles_per_bit > 0.0:
        theta_max = min(theta_max, limits.max_cpu_hz / mapping.cycles_per_bit)
    theta = min(wanted, theta_max)
    return DemandEstimate(
        throughput_bps=theta,
        bandwidth_hz=theta / spectral_eff,
        cpu_hz=theta * mapping.cycles_per_bit,
        window_s=float(window_s),
        predicted_qoe=float("nan"),
        ela=float("nan"),
        attainable=wanted <= theta_max,
    )
