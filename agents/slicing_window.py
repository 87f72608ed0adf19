"""The slicing controller's record of one slice window: its state while the window's demand is
collected and its game is played, and the concluded outcome that is granted and logged."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.messages import DemandReport
from policies.slicing import (
    DemandDistribution,
    EquilibriumCertificate,
    RoundRecord,
    SlicingGame,
    Trajectory,
)


@dataclass(eq=False)
class WindowState:
    """What the controller knows about the window it is running."""

    index: int
    start_s: float
    length_s: float
    dynamics_index: float
    thresholds: tuple[float, ...]
    ela_feedback: float
    deadline_s: float
    phase: str = "collect"  # collect -> rounds (game, kelly) -> done
    demands: dict[int, DemandReport] = field(default_factory=dict)
    decided_at_s: float = float("nan")
    dist: DemandDistribution | None = None
    game: SlicingGame | None = None
    capacities: np.ndarray | None = None
    players: tuple[int, ...] = ()
    profile: np.ndarray | None = None
    round: int = 0
    round_deadline_s: float = float("inf")
    replies: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    records: list[RoundRecord] = field(default_factory=list)
    improvements: list[float] = field(default_factory=list)
    strategy_base: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class WindowOutcome:
    """A concluded window: the problem, the slices granted, and how they were reached."""

    window: WindowState
    mechanism: str
    dist: DemandDistribution
    game: SlicingGame
    profile: np.ndarray
    slices: np.ndarray
    members: tuple[tuple[int, ...], ...]
    welfare: float
    optimum_welfare: float
    certificate: EquilibriumCertificate | None
    trajectory: Trajectory | None
    messages: int
    granted_at_s: float

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(f"{s}@bs{b}" for s, b in self.dist.keys)
