"""Vectorised mobility along road-graph paths (seed 000 Sec. IV: "each user moves along a
prescribed path with a speed ranging from 2 ~ 40 km/h").

Each mover travels along the road graph at its own constant speed, drawn uniformly from the
scenario's range. Its path is a non-backtracking random walk: at every intersection it turns onto
a road chosen uniformly among those other than the one it came from (it turns back only at a
dead end). The walk is drawn from the mobility stream, so a seed fixes every path; it needs no
per-user route storage, which keeps 10^5 movers at a few arrays (the paths of the seed's campus
data are not available, see ``model.roads``).

State is a struct of arrays: the edge (``u`` → ``v``) each mover is on, the distance ``s``
travelled along it and the edge length. One :meth:`Mobility.step` advances everyone at once.
"""

from __future__ import annotations

import numpy as np

from model.roads import RoadArrays

KMH = 1000.0 / 3600.0


class Mobility:
    """Positions and speeds of ``n`` movers on a road graph, advanced with numpy."""

    def __init__(
        self,
        roads: RoadArrays,
        n: int,
        speed_min_kmh: float,
        speed_max_kmh: float,
        rng: np.random.Generator,
    ) -> None:
        self.roads = roads
        self.rng = rng
        n_nodes = len(roads.pos)
        self.speed = rng.uniform(speed_min_kmh, speed_max_kmh, size=n) * KMH  # m/s
        self.u = rng.integers(0, n_nodes, size=n)
        self.slot = self._pick_next(self.u, back=np.full(n, -1))  # CSR slot of the edge u -> v
        self.v, self.length = roads.indices[self.slot], roads.lengths[self.slot]
        self.s = rng.random(n) * self.length
        self.distance = np.zeros(n)  # odometer, for tests and for shadowing decorrelation
        self._origin = roads.pos[self.u]  # start of each mover's edge and its unit direction,
        self._dir = (roads.pos[self.v] - self._origin) / self.length[:, None]  # set on turns

    def _pick_next(self, node: np.ndarray, back: np.ndarray) -> np.ndarray:
        """CSR slot of a uniformly random road out of each node, avoiding the road at adjacency
        position ``back`` (the one just travelled; -1 for none) unless it is a dead end."""
        deg = self.roads.degree[node]
        came = back >= 0
        choices = np.where(came, np.maximum(deg - 1, 1), deg)
        r = np.floor(self.rng.random(len(node)) * choices).astype(np.int64)
        r += came & (deg > 1) & (r >= back)  # skip the road we came by: later slots shift by one
        return self.roads.indptr[node] + r

    def step(self, dt: float) -> None:
        """Advance every mover by ``speed * dt`` metres along its path."""
        self.s += self.speed * dt
        self.distance += self.speed * dt
        over = np.flatnonzero(self.s >= self.length)
        roads = self.roads
        while over.size:
            self.s[over] -= self.length[over]
            self.u[over] = self.v[over]
            slot = self._pick_next(self.u[over], roads.back[self.slot[over]])
            self.slot[over] = slot
            self.v[over], self.length[over] = roads.indices[slot], roads.lengths[slot]
            self._origin[over] = roads.pos[self.u[over]]
            self._dir[over] = (roads.pos[self.v[over]] - self._origin[over]) / self.length[
                over, None
            ]
            over = over[self.s[over] >= self.length[over]]

    @property
    def positions(self) -> np.ndarray:
        """(n, 2) positions in metres, interpolated along each mover's current edge."""
        return self._origin + self.s[:, None] * self._dir

    def __len__(self) -> int:
        return len(self.speed)
