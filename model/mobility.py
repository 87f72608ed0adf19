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
        self.v, self.length = self._pick_next(self.u, prev=np.full(n, -1))
        self.s = rng.random(n) * self.length
        self.distance = np.zeros(n)  # odometer, for tests and for shadowing decorrelation

    def _pick_next(self, node: np.ndarray, prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A uniformly random neighbour of each node, avoiding ``prev`` unless it is a dead end."""
        deg = self.roads.degree[node]
        choices = np.where(prev >= 0, np.maximum(deg - 1, 1), deg)
        r = np.floor(self.rng.random(len(node)) * choices).astype(np.int64)
        start = self.roads.indptr[node]
        # Skip the slot of the road we came from: slots at or after it shift by one.
        prev_slot = np.full(len(node), np.iinfo(np.int64).max)
        if (prev >= 0).any():
            for k in range(int(deg.max(initial=0))):
                slot = start + k
                in_range = k < deg
                hit = in_range & (
                    self.roads.indices[np.minimum(slot, len(self.roads.indices) - 1)] == prev
                )
                prev_slot[hit] = k
        skip = (deg > 1) & (r >= prev_slot)
        r = r + skip
        slot = start + r
        return self.roads.indices[slot], self.roads.lengths[slot]

    def step(self, dt: float) -> None:
        """Advance every mover by ``speed * dt`` metres along its path."""
        self.s += self.speed * dt
        self.distance += self.speed * dt
        over = np.flatnonzero(self.s >= self.length)
        while over.size:
            self.s[over] -= self.length[over]
            prev = self.u[over]
            self.u[over] = self.v[over]
            self.v[over], self.length[over] = self._pick_next(self.u[over], prev)
            over = over[self.s[over] >= self.length[over]]

    @property
    def positions(self) -> np.ndarray:
        """(n, 2) positions in metres, interpolated along each mover's current edge."""
        frac = (self.s / self.length)[:, None]
        pu = self.roads.pos[self.u]
        return pu + frac * (self.roads.pos[self.v] - pu)

    def __len__(self) -> int:
        return len(self.speed)
