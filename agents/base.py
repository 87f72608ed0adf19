"""The thin agent base: an inbox, a topology node, and ``send`` through the model's bus.

Agents never call each other's methods; they read their inbox, call a policy, and send
messages (STYLE.md "Boundaries"). ``node`` names the topology node the agent lives on, which
is what the bus routes between.
"""

from __future__ import annotations

from typing import Any

import mesa

from model.messages import Kind, Message


class NetAgent(mesa.Agent):
    """A Mesa agent that lives on a topology node and talks through the message bus."""

    role = "agent"  # the activation group of DESIGN.md step phase 3
    accepts_batches = False  # True: the bus may deliver a MessageBatch instead of its rows

    def __init__(self, model: mesa.Model, node: str) -> None:
        super().__init__(model)
        self.node = node
        self.inbox: list[Message] = []

    def send(self, receiver: int, kind: Kind, payload: Any, size_bytes: int | None = None) -> None:
        """Send a message to agent ``receiver`` (delivery time set by the topology)."""
        self.model.bus.send(self.model.now_s, self.unique_id, receiver, kind, payload, size_bytes)

    def take_inbox(self) -> list[Message]:
        """The delivered messages, emptying the inbox."""
        msgs, self.inbox = self.inbox, []
        return msgs
