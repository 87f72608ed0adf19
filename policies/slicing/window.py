"""Adaptive slice window (seed 000, Sec. III.D.2 "Adaptive slice window" and Sec. IV).

Level-one DAs report their users' emulated behavioural dynamics B and environmental complexity
C (each in [1, 2], seed Sec. IV) and handovers. The level-two DA condenses them into a
dynamics index in [0, 1):

    index = sum_j omega_j z_j / (z_j + s_j) / sum_j omega_j,

over three components z: the variability of B and C (mean over users of their standard
deviation over the report), their rate of change (mean |dB/dt|, |dC/dt| per minute), and the
handover rate (per user per minute); each saturates at z / (z + s), s the level that counts as
half dynamics. The index is discretised by increasing thresholds into five stages, mapped to
W in {3, 6, 9, 12, 15} min (Sec. IV), higher dynamics giving shorter windows.

QoE feedback (seed: "the mapping ... can also be fine-tuned based on QoE feedback"): after a
window whose ELA achievable ratio fell below the target, all thresholds move down by one step,
so the same dynamics reach shorter windows (faster reconfiguration); once the ratio exceeds
target + hysteresis they move up one step (longer windows, less slicing overhead). Thresholds
stay in the configured bounds; the mapping stays monotone throughout.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from policies.slicing.params import SlicingParams


def _saturate(z: float, scale: float) -> float:
    return z / (z + scale)


def dynamics_index(
    behaviour: np.ndarray,
    environment: np.ndarray,
    handovers: float,
    sample_interval_min: float,
    params: SlicingParams,
) -> float:
    """Network dynamics of the last window as an index in [0, 1).

    Args:
        behaviour: emulated B per user and sample, shape (users, samples).
        environment: emulated C, same shape.
        handovers: handovers counted among these users over the samples.
        sample_interval_min: minutes between samples (> 0).
        params: dynamics weights and half-dynamics scales.

    Returns:
        0 when nothing changes; increases in each component.
    """
    b = np.atleast_2d(np.asarray(behaviour, dtype=float))
    c = np.atleast_2d(np.asarray(environment, dtype=float))
    if b.shape != c.shape:
        raise ValueError(f"behaviour {b.shape} and environment {c.shape} differ in shape")
    if sample_interval_min <= 0:
        raise ValueError("sample_interval_min must be positive")
    users, samples = b.shape
    if users == 0 or samples == 0:
        return 0.0
    variability = 0.5 * float(np.mean(b.std(axis=1) + c.std(axis=1)))
    rate = 0.0
    if samples > 1:
        steps = np.abs(np.diff(b, axis=1)) + np.abs(np.diff(c, axis=1))
        rate = 0.5 * float(np.mean(steps)) / sample_interval_min
    duration = max(samples - 1, 1) * sample_interval_min
    handover_rate = max(float(handovers), 0.0) / (users * duration)
    parts = (
        _saturate(variability, params.variability_scale),
        _saturate(rate, params.rate_scale),
        _saturate(handover_rate, params.handover_scale),
    )
    weights = np.asarray(params.dynamics_weights, dtype=float)
    return float(np.dot(weights, parts) / weights.sum())


def dynamics_stage(index: float, thresholds: Sequence[float]) -> int:
    """Stage 0 (calmest) .. len(thresholds): the number of thresholds at or below index."""
    return int(np.searchsorted(np.asarray(thresholds, dtype=float), index, side="right"))


def slice_window_for(
    index: float, thresholds: Sequence[float], stages_min: Sequence[float]
) -> float:
    """Slice window (minutes) for a dynamics index: non-increasing in the index.

    Args:
        index: dynamics index.
        thresholds: non-decreasing stage cuts, len(stages_min) - 1 of them.
        stages_min: window sizes, shortest first (the calmest stage gets the last).
    """
    if len(thresholds) != len(stages_min) - 1:
        raise ValueError("need one threshold fewer than window stages")
    return float(stages_min[len(stages_min) - 1 - dynamics_stage(index, thresholds)])


def tune_thresholds(
    thresholds: Sequence[float], ela_ratio: float, params: SlicingParams
) -> tuple[float, ...]:
    """Shift the stage thresholds by QoE feedback of the last window.

    Args:
        thresholds: current thresholds.
        ela_ratio: ELA achievable ratio observed in the last window (seed Fig. 5a).
        params: target, step, hysteresis and bounds.

    Returns:
        Thresholds one step lower when the ratio missed the target, one step higher when it
        beat target + hysteresis, else unchanged; clipped to the bounds, so still ordered.
    """
    t = np.asarray(thresholds, dtype=float)
    if ela_ratio < params.ela_target_ratio:
        t = t - params.feedback_step
    elif ela_ratio > params.ela_target_ratio + params.feedback_hysteresis:
        t = t + params.feedback_step
    lo, hi = params.threshold_bounds
    return tuple(float(v) for v in np.clip(t, lo, hi))
