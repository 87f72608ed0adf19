"""Radio access: candidate cells, strongest-cell association with hysteresis, SINR, rates.

Each user tracks its ``radio.candidate_cells`` nearest base stations (re-chosen every
``candidate_refresh_s`` with a k-d tree); received power, interference and association are
computed over those only, which keeps the work per slot O(users × K) however many cells there
are. Cells beyond the K nearest contribute no interference: with K = 8 on a regular layout
they are at least two tiers away (document this cut-off when changing K).

Association follows the strongest received power with hysteresis (an A3-style handover,
TS 38.331): a user switches only when a candidate is ``hysteresis_db`` stronger than its serving
cell, or when its serving cell drops out of the candidate set.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from model.channel import ShadowedChannel, distances, noise_dbm, sinr_db
from model.params import BaseStationParams, RadioParams


class RadioAccess:
    """Vectorised radio state of all users: candidates, serving cell, SINR, spectral efficiency."""

    def __init__(
        self,
        bs_pos: np.ndarray,
        bs: BaseStationParams,
        radio: RadioParams,
        ue_height_m: float,
        n_users: int,
        slot_s: float,
        rng: np.random.Generator,
    ) -> None:
        self.bs_pos = np.asarray(bs_pos, dtype=float)
        self.bs = bs
        self.p = radio
        self.h_ut = ue_height_m
        self.k = min(radio.candidate_cells, len(self.bs_pos))
        self.tree = cKDTree(self.bs_pos)
        self.refresh_every = max(1, int(round(radio.candidate_refresh_s / slot_s)))
        self.noise = noise_dbm(radio, bs.bandwidth_mhz * 1e6)
        self.channel = ShadowedChannel(radio, n_users, self.k, rng)
        self.cand = np.zeros((n_users, self.k), dtype=np.int64)
        self.serving = np.full(n_users, -1, dtype=np.int64)
        self.rx_dbm = np.zeros((n_users, self.k))
        self.sinr_db = np.zeros(n_users)
        self.spectral_eff = np.zeros(n_users)
        self.handover = np.zeros(n_users, dtype=bool)
        self.filtered_dbm = np.zeros((n_users, self.k))
        self._alpha = 1.0 / 2.0 ** (radio.l3_filter_k / 4.0)
        self._ttt_slots = int(np.ceil(radio.time_to_trigger_s / slot_s - 1e-9))
        self._a3_count = np.zeros(n_users, dtype=np.int64)
        self._slot = 0

    def _refresh_candidates(self, pos: np.ndarray) -> None:
        _, idx = self.tree.query(pos, k=self.k)
        idx = np.asarray(idx, dtype=np.int64).reshape(len(pos), self.k)
        changed = idx != self.cand
        self.channel.redraw(changed)
        self.cand = idx
        self._fresh = changed

    def update(self, pos: np.ndarray, moved_m: np.ndarray) -> None:
        """Recompute received powers, association and SINR after users moved."""
        first = self._slot == 0
        self._fresh = np.zeros(self.cand.shape, dtype=bool)
        if self._slot % self.refresh_every == 0:
            self._refresh_candidates(pos)
        self.channel.evolve(moved_m)
        self._slot += 1
        bxy = self.bs_pos[self.cand]
        d2d, d3d = distances(
            bxy[..., 0] - pos[:, None, 0],
            bxy[..., 1] - pos[:, None, 1],
            self.bs.height_m,
            self.h_ut,
        )
        pl = self.channel.pathloss_db(d2d, d3d, self.bs.carrier_ghz, self.bs.height_m, self.h_ut)
        self.rx_dbm = self.bs.tx_power_dbm - pl
        # Layer-3 filtering of the measurements that drive handover (TS 38.331 5.5.3.2);
        # a newly tracked cell starts from its first measurement.
        f = (1.0 - self._alpha) * self.filtered_dbm + self._alpha * self.rx_dbm
        self.filtered_dbm = np.where(self._fresh | first, self.rx_dbm, f)
        self._associate()

    def _associate(self) -> None:
        rows = np.arange(len(self.serving))
        meas = self.filtered_dbm
        best_col = np.argmax(meas, axis=1)
        is_serv = self.cand == self.serving[:, None]
        has_serv = is_serv.any(axis=1)
        serv_col = np.where(has_serv, np.argmax(is_serv, axis=1), best_col)
        stronger = meas[rows, best_col] > meas[rows, serv_col] + self.p.hysteresis_db
        self._a3_count = np.where(stronger, self._a3_count + 1, 0)
        switch = ~has_serv | (self._a3_count >= max(self._ttt_slots, 1))
        new_col = np.where(switch, best_col, serv_col)
        new_serving = self.cand[rows, new_col]
        self.handover = (self.serving >= 0) & (new_serving != self.serving)
        self._a3_count[switch] = 0
        self.serving = new_serving
        self.sinr_db = sinr_db(self.rx_dbm, new_col, self.noise, self.p.interference_load)
        se = np.log2(1.0 + 10.0 ** (self.sinr_db / 10.0))
        if self.p.max_spectral_efficiency > 0:
            se = np.minimum(se, self.p.max_spectral_efficiency)
        self.spectral_eff = se


def cell_shares(
    serving: np.ndarray, weights: np.ndarray, n_cells: int, cell_hz: np.ndarray
) -> np.ndarray:
    """Split each cell's bandwidth among its users in proportion to their weights.

    Args:
        serving: (users,) cell index per user.
        weights: (users,) non-negative weight per user (0 = not scheduled).
        n_cells: number of cells.
        cell_hz: (cells,) bandwidth each cell hands out.

    Returns:
        (users,) bandwidth in Hz; per cell the shares sum to at most ``cell_hz``.
    """
    total = np.bincount(serving, weights=weights, minlength=n_cells)
    denom = total[serving]
    return np.divide(cell_hz[serving] * weights, denom, out=np.zeros(len(weights)), where=denom > 0)
