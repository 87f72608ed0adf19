"""The slicing controller's records (Mesa-free): who registered, the state of the window it is
running, and the concluded outcome that is granted and logged (seed 000 Sec. III.D)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.slicing.abstraction import DemandDistribution
from policies.slicing.certificates import EquilibriumCertificate
from policies.slicing.dynamics import Step, Trajectory
from policies.slicing.game import SlicingGame

ROLES = ("level-one", "orchestrator", "cell", "edge-server")


@dataclass(eq=False)
class Registry:
    """What the REGISTER messages told the controller (``model.messages.Registration``), by
    role and agent id; a later registration of the same agent replaces its earlier one."""

    by_role: dict[str, dict[int, Any]] = field(default_factory=lambda: {r: {} for r in ROLES})

    def add(self, reg: Any) -> None:
        if reg.role not in self.by_role:
            raise ValueError(f"registration role {reg.role!r} not in {ROLES}")
        self.by_role[reg.role][int(reg.agent)] = reg

    def agents(self, *roles: str) -> tuple[int, ...]:
        """Registered agent ids of ``roles``, sorted (so sends go out in a fixed order)."""
        return tuple(sorted(a for r in roles for a in self.by_role[r]))

    def edge_of_cell(self) -> dict[int, int]:
        """Cell -> its edge server, from cell and orchestrator registrations."""
        out: dict[int, int] = {}
        for role in ("orchestrator", "cell"):  # a cell's own word last
            for reg in self.by_role[role].values():
                if reg.edge >= 0:
                    out.update({int(c): int(reg.edge) for c in reg.cells})
        return out

    def pool_node(self, pool: str) -> str | None:
        """Topology node that owns ``pool`` ("comm@bs<j>": the cell; "compute@edge<e>": the edge
        server, or its orchestrator that lives there); None when nobody registered it."""
        where = pool.split("@", 1)[1]
        if where.startswith("bs"):
            j = int(where.removeprefix("bs"))
            found = [r.node for r in self.by_role["cell"].values() if j in r.cells]
        else:
            e = int(where.removeprefix("edge"))
            found = [r.node for r in self.by_role["edge-server"].values() if r.edge == e]
            found += [r.node for r in self.by_role["orchestrator"].values() if r.edge == e]
        return found[0] if found else None


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
    expected: tuple[int, ...] = ()  # level-one DAs registered when the window opened
    phase: str = "collect"  # collect -> rounds (game, kelly) -> done
    demands: dict[int, Any] = field(default_factory=dict)  # user -> DemandReport
    reporters: set[int] = field(default_factory=set)  # DAs whose DEMAND arrived
    decided_at_s: float = float("nan")
    dist: DemandDistribution | None = None
    game: SlicingGame | None = None
    capacities: np.ndarray | None = None
    players: tuple[int, ...] = ()
    start_profile: np.ndarray | None = None
    steps: Generator[Step, np.ndarray, Trajectory] | None = None
    step: Step | None = None
    round: int = 0
    round_deadline_s: float = float("inf")
    replies: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    improvements: list[float] = field(default_factory=list)
    stop_reason: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class WindowOutcome:
    """A concluded window: the problem, the slices granted, and how they were reached.

    ``stop_reason``: "converged" (Nash gap <= epsilon), "max-rounds", "round-budget" (the
    share of the window the rounds may take was spent), or the mechanism's name when it is not
    a game.
    """

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
    stop_reason: str = ""
    dynamics: str = ""  # the best-response dynamics played ("" when not a game)

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(f"{s}@bs{b}" for s, b in self.dist.keys)
