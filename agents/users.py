"""User agents: one per video user (seed 000) — a thin handle on a row of the world's arrays.

A user's physics (position, cell, channel, playback) lives in ``model.world``; the agent only
acts on events: when its report is due it sends its measurements to whoever manages it (its
level-one DA when the scheme has DAs, else its serving edge server).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import Kind, QosReport


class User(NetAgent):
    """A mobile user; ``index`` is its row in every world array."""

    role = "user"

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model, f"ue:{index}")
        self.index = index
        self.manager: int | None = None  # agent id of the level-one DA that represents it

    @property
    def xy(self) -> tuple[float, float]:
        x, y = self.model.world.pos[self.index]
        return float(x), float(y)

    @property
    def cell(self) -> int:
        return int(self.model.world.serving[self.index])

    def report(self, window: dict[str, float], extra: dict[str, float]) -> None:
        """Send one QoS report for the window just ended."""
        w = self.model.world
        i = self.index
        payload = QosReport(
            user=self.unique_id,
            cell=int(w.serving[i]),
            throughput_mbps=float(window["thr"]) / 1e6,
            delay_ms=float(window["delay"]),
            jitter_ms=float(window["jitter"]),
            loss=float(window["loss"]),
            sinr_db=float(window["sinr"]),
            speed_mps=float(w.speed[i]),
            **{k: float(v) for k, v in extra.items()},
        )
        target = self.manager if self.manager is not None else self.model.edge_agent_of_cell(
            int(w.serving[i])
        ).unique_id
        self.send(target, Kind.QOS_REPORT, payload)

    def act(self) -> None:
        self.take_inbox()


def rows(window: dict[str, np.ndarray], k: int) -> dict[str, float]:
    """Row ``k`` of a dict of per-user arrays."""
    return {key: val[k] for key, val in window.items()}
