"""The slicing controller: the level-two DA that runs the slice windows (seed 000 Sec. III.D).

A thin Mesa shell around :class:`policies.slicing.controller_core.ControllerCore` (windows,
demand abstraction, game, best-response dynamics as message rounds, certificates, grants; see
that module). The shell

* reads its inbox and hands each message to the core (REGISTER, DEMAND, DYNAMICS, STRATEGY);
* sends what the core puts in its outbox as typed messages (WINDOW, STRATEGY carrying a
  GameNotice or a Strategy, SLICE) and wakes when the core asks;
* does what needs the model: reads pool capacities off the model's resource ledger (the
  operator's inventory: free capacity plus what the controller's own groups hold now) and
  reserves each window's grant there (the previous window's reservations released first);
* tells its ``window_log`` hook (output logging only) when a window opens, and ``record`` when
  one is concluded.

It lives on the cloud node; the agents it talks to are those that registered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import (
    GameNotice,
    Kind,
    Message,
    Registration,
    SliceGrant,
    Strategy,
    WindowNotice,
)
from model.resources import Kind as Res
from policies.slicing.controller_core import ControllerConfig, ControllerCore, Send
from policies.slicing.window_state import WindowOutcome

# Core outbox kind -> (message kind, payload type).
WIRE: dict[str, tuple[Kind, type]] = {
    "window": (Kind.WINDOW, WindowNotice),
    "game": (Kind.STRATEGY, GameNotice),
    "strategy": (Kind.STRATEGY, Strategy),
    "slice": (Kind.SLICE, SliceGrant),
}


class SlicingController(NetAgent):
    """Level-two DA on the cloud: inbox -> core -> messages, ledger reservations."""

    role = "level_two"

    def __init__(
        self,
        model: mesa.Model,
        config: ControllerConfig,
        record: Callable[[WindowOutcome], None],
        player_for: Callable[[str], int],
        window_log: Callable[[int, float, float], None] | None = None,
    ) -> None:
        super().__init__(model, model.cloud.node)
        self.record = record
        self.window_log = window_log
        self.core = ControllerCore(
            config, self.unique_id, model.streams.get("level-two"), self._capacities, player_for
        )
        self._strategy_base = 0
        model.wake(self, config.first_open_s)

    @property
    def params(self) -> Any:
        return self.core.params

    # -- inbox -> core -> outbox ---------------------------------------------------------
    def act(self) -> None:
        core, now = self.core, self.model.now_s
        for msg in self.take_inbox():
            self._receive(msg, now)
        core.tick(now)
        self._flush()

    def _receive(self, msg: Message, now: float) -> None:
        p = msg.payload
        if msg.kind is Kind.REGISTER and isinstance(p, Registration):
            self.core.on_register(p)
        elif msg.kind is Kind.DEMAND:
            self.core.on_demand(msg.sender, p)
        elif msg.kind is Kind.DYNAMICS:
            self.core.on_dynamics(p)
        elif msg.kind is Kind.STRATEGY and isinstance(p, Strategy):
            self.core.on_strategy(p, now)
        self._flush()

    def _flush(self) -> None:
        out = self.core.drain()
        for opened in out.opened:
            self._strategy_base = self.model.bus.sent[Kind.STRATEGY.value]
            if self.window_log is not None:
                self.window_log(*opened)
        for s in out.sends:
            self._send(s)
        for t in out.wakes:
            self.model.wake(self, t)
        while self.core.concluded:
            self._granted(self.core.concluded.pop(0))

    def _send(self, s: Send) -> None:
        kind, payload_type = WIRE[s.kind]
        self.send(s.to, kind, payload_type(**s.fields), s.size)

    # -- the model's ledger ----------------------------------------------------------------
    def pool_node(self, pool: str) -> tuple[str, Res]:
        """(ledger node, resource kind) of a pool, as the registrations place it."""
        node = self.core.registry.pool_node(pool)
        if node is None:
            raise KeyError(f"pool {pool!r}: no cell or edge server registered it")
        return node, Res(pool.split("@")[0])

    def _capacities(self, pools: Sequence[str], granted: tuple[str, ...]) -> np.ndarray:
        """What the slices may use: free capacity plus what our own groups hold now."""
        ledger, out = self.model.ledger, []
        for pool in pools:
            node, kind = self.pool_node(pool)
            mine = sum(ledger.held(node, kind, key) for key in granted)
            out.append(ledger.free(node, kind) + mine)
        return np.array(out, dtype=float)

    def _granted(self, o: WindowOutcome) -> None:
        """Reserve a concluded window's slices in the ledger and record the outcome."""
        ledger = self.model.ledger
        for key in self._held:
            ledger.release_owner(key)
        for i, key in enumerate(o.groups):
            for p, pool in enumerate(o.dist.pools):
                if o.slices[i, p] > 0:
                    node, kind = self.pool_node(pool)
                    ledger.reserve(node, kind, key, float(o.slices[i, p]))
        self._held = o.groups
        messages = self.model.bus.sent[Kind.STRATEGY.value] - self._strategy_base
        self.record(dataclasses.replace(o, messages=messages if o.trajectory else 0))

    _held: tuple[str, ...] = ()
