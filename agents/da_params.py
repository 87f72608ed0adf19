"""Parameters of the level-one DAs' life cycle and of the edge orchestrators (seed 000 III.C)."""

from __future__ import annotations

from dataclasses import dataclass, field


def _f(default, lo=None, hi=None, doc="", choices=None):  # noqa: ANN001, ANN202
    meta: dict = {"doc": doc}
    if lo is not None:
        meta["range"] = (lo, hi)
    if choices is not None:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class DaParams:
    """How level-one DAs learn their users and how the edge orchestrates them."""

    min_samples: int = _f(12, 4, 10_000, "feedback samples before the first factor selection/fit")
    history: int = _f(240, 8, 100_000, "feedback samples kept per user (oldest dropped)")
    refit_every: int = _f(
        30, 1, 10_000, "also refit after this many new samples (besides the update trigger)"
    )
    fixed_window_min: float = _f(
        9.0, 1.0, 120.0, "slice window of schemes without adaptive windows (middle stage, min)"
    )
    first_window_min: float = _f(3.0, 0.5, 120.0, "length of the first slice window (min)")
    orchestration_period_s: float = _f(
        10.0, 0.1, 3600.0, "period of the edge orchestrator's real-time allocation"
    )
    train_episodes: int = _f(
        12, 0, 100_000, "BDQN training episodes in the DAs' emulator per training round"
    )
    retrain_every_windows: int = _f(2, 1, 1000, "retrain the BDQN every this many windows")
    ela_tiers: int = _f(3, 1, 10, "ELA tiers that split users of a cell into slicing groups")
