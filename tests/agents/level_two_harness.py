"""A Mesa-free harness of the level-two message protocol, shared by the level-two tests.

The slicing controller's core (``policies.slicing.controller_core``), the players' reply
(``agents.level_two.player_reply``) and stand-in level-one DAs exchange the typed payloads of
``model.messages``; every message takes one tick (a message sent at tick t is handled at t + 1,
in sending order), and every message is logged with its payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agents.level_two import player_reply
from agents.slicing_controller import WIRE
from model.messages import (
    DemandReport,
    DynamicsReport,
    GameNotice,
    Kind,
    Registration,
    SliceGrant,
    Strategy,
    WindowNotice,
)
from policies.slicing.controller_core import ControllerConfig, ControllerCore

CTRL, ORCH = 0, 3000


@dataclass(frozen=True)
class Logged:
    tick: int
    kind: Kind
    sender: int
    receiver: int
    payload: Any


@dataclass
class Harness:
    """Controller + players + ``n_das`` DAs answering WINDOW notices with ``demand(window, da)``.

    Cells ``cell_edge`` (cell -> edge) register as cells, one orchestrator for all of them;
    ``capacity`` gives each pool's capacity.
    """

    config: ControllerConfig
    demand: Callable[[int, int], DemandReport]
    n_das: int
    cell_edge: dict[int, int]
    capacity: Callable[[str], float]
    log: list[Logged] = field(default_factory=list)
    grants: list[SliceGrant] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.core = ControllerCore(
            self.config, CTRL, np.random.default_rng(7), self._capacities, self._player_for
        )
        self.keys: dict[str, int] = {}
        self.notices: dict[int, GameNotice] = {}
        self.queue: list[tuple[int, int, Kind, Any]] = []
        self.tick = 0
        self.core_outcomes: list[Any] = []
        for k in range(self.n_das):
            reg = Registration("level-one", self.da(k), f"edge:{0}", users=(k,))
            self.post(self.da(k), CTRL, Kind.REGISTER, reg)
        for j, e in self.cell_edge.items():
            reg = Registration("cell", 2000 + j, f"bs:{j}", (), (j,), e)
            self.post(2000 + j, CTRL, Kind.REGISTER, reg)
        cells = tuple(self.cell_edge)
        reg = Registration("orchestrator", ORCH, "edge:0", (), cells, 0)
        self.post(ORCH, CTRL, Kind.REGISTER, reg)

    @staticmethod
    def da(k: int) -> int:
        return 1000 + k

    def _player_for(self, key: str) -> int:
        return self.keys.setdefault(key, 100 + len(self.keys))

    def _capacities(self, pools: Any, granted: Any) -> np.ndarray:
        return np.array([self.capacity(p) for p in pools], dtype=float)

    def post(self, sender: int, receiver: int, kind: Kind, payload: Any) -> None:
        self.log.append(Logged(self.tick, kind, sender, receiver, payload))
        self.queue.append((sender, receiver, kind, payload))

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.tick += 1
            due, self.queue = self.queue, []
            for sender, receiver, kind, payload in due:
                self._deliver(sender, receiver, kind, payload)
            self.core.tick(float(self.tick))
            self._flush()

    def _flush(self) -> None:
        self.core_outcomes += self.core.concluded
        self.core.concluded.clear()
        for s in self.core.drain().sends:
            kind, payload_type = WIRE[s.kind]
            self.post(CTRL, s.to, kind, payload_type(**s.fields))

    def _deliver(self, sender: int, receiver: int, kind: Kind, p: Any) -> None:
        now = float(self.tick)
        if receiver == CTRL:
            if kind is Kind.REGISTER:
                self.core.on_register(p)
            elif kind is Kind.DEMAND:
                self.core.on_demand(sender, p)
            elif kind is Kind.DYNAMICS:
                self.core.on_dynamics(p)
            elif kind is Kind.STRATEGY:
                self.core.on_strategy(p, now)
            self._flush()
        elif isinstance(p, WindowNotice):
            k = receiver - 1000
            self.post(receiver, CTRL, Kind.DEMAND, self.demand(p.window, k))
            dyn = DynamicsReport(k, p.window, 1.5, 0.1, 1.5, 0.1, 0, 0.9)
            self.post(receiver, CTRL, Kind.DYNAMICS, dyn)
        elif isinstance(p, GameNotice):
            self.notices[receiver] = p
        elif isinstance(p, Strategy):
            to, out, _ = player_reply(self.notices[receiver], p)
            self.post(receiver, to, Kind.STRATEGY, out)
        elif isinstance(p, SliceGrant):
            self.grants.append(p)


def report(
    user: int, cell: int, ela: float, comm_hz: float, cpu_hz: float, window: int = 0, **qoe: Any
) -> DemandReport:
    """A DEMAND report of ``window``; ``qoe`` overrides the QoE-model-derived fields."""
    fields = {"predicted_qoe": 3.5, "gain_per_hz": 2e-7, "structure": "M1", "attainable": True}
    fields.update(qoe)
    return DemandReport(
        user=user,
        cell=cell,
        service="video",
        window=window,
        window_s=600.0,
        comm_hz=comm_hz,
        cpu_hz=cpu_hz,
        ela=ela,
        **fields,
    )
