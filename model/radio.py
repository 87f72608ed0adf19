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

from model.channel import PathLossKernel, ShadowedChannel, noise_dbm
from model.params import BaseStationParams, RadioParams


class RadioAccess:
    """Vectorised radio state of all users: candidates, serving cell, SINR, spectral efficiency.

    The (users × candidates) arrays are float32 and updated in place; per-user results
    (``sinr_db``, ``spectral_eff``) are float64.
    """

    def __init__(
        self,
        bs_pos: np.ndarray,
        bs: BaseStationParams,
        radio: RadioParams,
        ue_height_m: float,
        n_users: int,
        slot_s: float,
        rng: np.random.Generator,
        max_distance_m: float | None = None,
    ) -> None:
        self.bs_pos = np.asarray(bs_pos, dtype=float)
        self.bs = bs
        self.p = radio
        self.h_ut = ue_height_m
        self.k = min(radio.candidate_cells, len(self.bs_pos))
        self.tree = cKDTree(self.bs_pos)
        self.refresh_every = max(1, int(round(radio.candidate_refresh_s / slot_s)))
        self.noise = noise_dbm(radio, bs.bandwidth_mhz * 1e6)
        self._noise_mw = 10.0 ** (self.noise / 10.0)
        if max_distance_m is None:  # span of the sites plus a margin for users beyond them
            span = np.ptp(self.bs_pos, axis=0) if len(self.bs_pos) else np.zeros(2)
            max_distance_m = float(np.hypot(*span)) + 5_000.0
        kernel = PathLossKernel(
            radio.pathloss_model, bs.carrier_ghz, bs.height_m, ue_height_m, max_distance_m
        )
        self.channel = ShadowedChannel(radio, n_users, self.k, rng, kernel)
        self.cand = np.full((n_users, self.k), -1, dtype=np.int32)
        self._bx = np.zeros((n_users, self.k), dtype=np.float32)  # candidate sites' coordinates
        self._by = np.zeros((n_users, self.k), dtype=np.float32)
        self.serving = np.full(n_users, -1, dtype=np.int64)
        self._serv_col = np.zeros(n_users, dtype=np.int64)  # column of the serving cell
        self._has_serv = np.zeros(n_users, dtype=bool)  # serving cell among the candidates
        self._all_serving = np.ones(n_users, dtype=bool)  # true after every association
        self.rx_dbm = np.zeros((n_users, self.k), dtype=np.float32)
        self.filtered_dbm = np.zeros((n_users, self.k), dtype=np.float32)
        self.sinr_db = np.zeros(n_users)
        self.spectral_eff = np.zeros(n_users)
        self.handover = np.zeros(n_users, dtype=bool)
        self._alpha = np.float32(1.0 / 2.0 ** (radio.l3_filter_k / 4.0))
        self._ttt_slots = int(np.ceil(radio.time_to_trigger_s / slot_s - 1e-9))
        self._a3_count = np.zeros(n_users, dtype=np.int64)
        self._rows = np.arange(n_users)
        self._slot = 0

    def _refresh_candidates(self, pos: np.ndarray) -> np.ndarray:
        """Re-choose each user's K nearest cells; returns the mask of newly tracked links.

        Links to cells that stay candidates keep their shadowing/LOS fields and filtered
        measurement (they are the same radio links), whatever column they move to.
        """
        _, idx = self.tree.query(pos, k=self.k)
        idx = np.asarray(idx, dtype=np.int32).reshape(len(pos), self.k)
        same = idx[:, :, None] == self.cand[:, None, :]
        kept = same.any(axis=2)
        src = same.argmax(axis=2)
        self.channel.carry(src, kept)
        self.filtered_dbm = self.filtered_dbm[self._rows[:, None], src]
        self.cand = idx
        xy = self.bs_pos[idx].astype(np.float32)
        self._bx, self._by = xy[..., 0], xy[..., 1]
        is_serv = idx == self.serving[:, None]
        self._has_serv = is_serv.any(axis=1)
        self._serv_col = is_serv.argmax(axis=1)
        return ~kept

    def update(self, pos: np.ndarray, moved_m: np.ndarray) -> None:
        """Recompute received powers, association and SINR after users moved."""
        fresh = None
        if self._slot % self.refresh_every == 0:
            fresh = self._refresh_candidates(pos)
        self.channel.evolve(moved_m)
        self._slot += 1
        p32 = pos.astype(np.float32)
        dx = self._bx - p32[:, 0:1]
        dy = self._by - p32[:, 1:2]
        dx *= dx
        dy *= dy
        dx += dy  # squared 2D distance
        pl = self.channel.pathloss_db(dx)
        np.subtract(np.float32(self.bs.tx_power_dbm), pl, out=pl)
        self.rx_dbm = pl
        # Layer-3 filtering of the measurements that drive handover (TS 38.331 5.5.3.2);
        # a newly tracked cell starts from its first measurement.
        f = self.filtered_dbm
        f *= np.float32(1.0) - self._alpha
        f += self._alpha * pl
        if fresh is not None and fresh.any():
            np.copyto(f, pl, where=fresh)
        self._associate()

    def _associate(self) -> None:
        rows = self._rows
        meas = self.filtered_dbm
        best_col = np.argmax(meas, axis=1)
        serv_col = np.where(self._has_serv, self._serv_col, best_col)
        stronger = meas[rows, best_col] > meas[rows, serv_col] + np.float32(self.p.hysteresis_db)
        self._a3_count = np.where(stronger, self._a3_count + 1, 0)
        switch = ~self._has_serv | (self._a3_count >= max(self._ttt_slots, 1))
        new_col = np.where(switch, best_col, serv_col)
        new_serving = self.cand[rows, new_col].astype(np.int64)
        self.handover = (self.serving >= 0) & (new_serving != self.serving)
        self._a3_count[switch] = 0
        self.serving = new_serving
        self._serv_col = new_col
        self._has_serv = self._all_serving
        # SINR over the candidate cells: linear powers once, in float32
        mw = np.exp(self.rx_dbm * np.float32(np.log(10.0) / 10.0))
        signal = mw[rows, new_col].astype(np.float64)
        interference = self.p.interference_load * (mw.sum(axis=1, dtype=np.float64) - signal)
        sinr = signal / (interference + self._noise_mw)
        self.sinr_db = 10.0 * np.log10(sinr)
        se = np.log2(1.0 + sinr)
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
