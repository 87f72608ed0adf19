"""Parameters of the level-one DAs' life cycle and of the edge orchestrators (seed 000 III.C)."""

from __future__ import annotations

from dataclasses import dataclass

from model.params import ranged_param


@dataclass(frozen=True, slots=True)
class DaParams:
    """How level-one DAs learn their users and how the edge orchestrates them."""

    min_samples: int = ranged_param(
        12, 4, 10_000, "feedback samples before the first factor selection/fit"
    )
    history: int = ranged_param(240, 8, 100_000, "feedback samples kept per user (oldest dropped)")
    no_factor_fit: str = ranged_param(
        "constant",
        doc="when no factor passes the DCC tests: fit a constant model (the seed's procedure "
        "taken literally), or keep the current model (generic until a personal one exists) and "
        "retry after min_samples more reports",
        choices=("constant", "keep"),
    )
    refit_every: int = ranged_param(
        30, 1, 10_000, "also refit after this many new samples (besides the update trigger)"
    )
    fixed_window_min: float = ranged_param(
        9.0, 1.0, 120.0, "slice window of schemes without adaptive windows (middle stage, min)"
    )
    first_window_min: float = ranged_param(
        3.0, 0.5, 120.0, "length of the first slice window (min)"
    )
    orchestration_period_s: float = ranged_param(
        10.0, 0.1, 3600.0, "period of the edge orchestrator's real-time allocation"
    )
    retrain_every_windows: int = ranged_param(
        2,
        1,
        1000,
        "fine-tune the BDQN every this many windows (its budget is scheduler.train_steps)",
    )
    ela_ratio: str = ranged_param(
        "qoe_over_ela",
        doc="ELA achievable ratio of a user in a slicing window (seed Sec. IV, 'the proportion "
        "of user QoE over ELA in each slicing window'): qoe_over_ela = mean real-time QoE / ELA, "
        "capped at 1 (meeting the ELA is full achievement; exceeding it earns nothing more), or "
        "share_at_or_above = the share of QoE samples at or above the ELA; both are written to "
        "ela.parquet, this one is ela_ratio (and the DAs' window feedback)",
        choices=("qoe_over_ela", "share_at_or_above"),
    )
    ela_tiers: int = ranged_param(
        3, 1, 10, "ELA tiers that split users of a cell into slicing groups"
    )
