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

    @staticmethod
    def report_batch(
        model: mesa.Model,
        due: np.ndarray,
        window: dict[str, np.ndarray],
        extra: dict[str, np.ndarray],
    ) -> None:
        """Users ``due`` send their QoS reports for the window just ended.

        Each report goes to the user's manager (its level-one DA) or, without one, to the edge
        server of its serving cell. Building the reports column-wise and routing them with the
        topology's vectorised routes is what keeps thousands of reports per slot cheap; the
        messages are exactly those that ``NetAgent.send`` would produce one by one.
        """
        w = model.world
        cells = w.serving[due]
        users = [model.users[i] for i in due]
        receivers = [
            u.manager if u.manager is not None else model.edge_agent_of_cell(int(c)).unique_id
            for u, c in zip(users, cells, strict=True)
        ]
        nodes = [model.agent(r).node for r in receivers]
        names, dst = np.unique(np.array(nodes), return_inverse=True)
        names = names.tolist()
        lat, bw = model.topology.device_routes(cells, w.rate_bps[due], dst, names)
        cols = [
            [u.unique_id for u in users],
            cells.tolist(),
            (window["thr"] / 1e6).tolist(),
            window["delay"].tolist(),
            window["jitter"].tolist(),
            window["loss"].tolist(),
            window["sinr"].tolist(),
            w.speed[due].tolist(),
        ]
        names_extra = list(extra)
        cols += [np.asarray(extra[k], dtype=float).tolist() for k in names_extra]
        payloads = (
            [
                QosReport(*row[:8], **dict(zip(names_extra, row[8:], strict=True)))
                for row in zip(*cols, strict=True)
            ]
            if names_extra
            else [QosReport(*row) for row in zip(*cols, strict=True)]
        )
        model.bus.send_routed(
            model.now_s, Kind.QOS_REPORT, cols[0], receivers, payloads, lat.tolist(), bw.tolist()
        )

    def act(self) -> None:
        self.take_inbox()
