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

    @property
    def manager(self) -> int | None:
        """Agent id of the level-one DA that represents this user (None: report to the edge)."""
        m = int(self.model.user_manager[self.index])
        return None if m < 0 else m

    @manager.setter
    def manager(self, agent_id: int | None) -> None:
        self.model.user_manager[self.index] = -1 if agent_id is None else int(agent_id)

    @property
    def xy(self) -> tuple[float, float]:
        x, y = self.model.world.pos[self.index]
        return float(x), float(y)

    @property
    def cell(self) -> int:
        return int(self.model.world.serving[self.index])

    @staticmethod
    def report_batch(
        model: mesa.Model,
        due: np.ndarray,
        window: dict[str, np.ndarray],
        extra: dict[str, np.ndarray],
    ) -> None:
        """Users ``due`` send their QoS reports for the window just ended.

        Each report goes to the user's manager (its level-one DA) or, without one, to the edge
        server of its serving cell. The reports leave as one column-wise batch routed with the
        topology's vectorised routes (:meth:`model.bus.MessageBus.send_batch`): row for row the
        messages ``NetAgent.send`` would produce one by one, without a Python object per report.
        """
        w = model.world
        cells = w.serving[due]
        mgr = model.user_manager[due]
        if (mgr < 0).all():  # no digital agents: everyone reports to its cell's edge server
            receivers = model.cell_edge_ids[cells]
            dst, names = None, []
        else:
            receivers = np.where(mgr >= 0, mgr, model.cell_edge_ids[cells])
            uniq, dst = np.unique(receivers, return_inverse=True)
            names = [model.agent(int(r)).node for r in uniq]
        lat, bw = model.topology.device_routes(cells, w.rate_bps[due], dst, names)
        senders = model.user_ids[due]
        columns = {
            "user": senders,
            "cell": cells,
            "throughput_mbps": window["thr"] / 1e6,
            "delay_ms": window["delay"],
            "jitter_ms": window["jitter"],
            "loss": window["loss"],
            "sinr_db": window["sinr"],
            "speed_mps": w.speed[due],
        }
        columns.update({k: np.asarray(v, dtype=float) for k, v in extra.items()})
        model.bus.send_batch(
            model.now_s, Kind.QOS_REPORT, QosReport, senders, receivers, columns, lat, bw
        )

    def act(self) -> None:
        self.take_inbox()
