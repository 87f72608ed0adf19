"""Radio channel: 3GPP TR 38.901 path loss, log-normal shadowing, SINR and Shannon rate.

Seed 000 Sec. IV generated path losses with Matlab's propagation model at 700 MHz (band n28);
that tool is not available here. We use 3GPP TR 38.901 V17 Sec. 7.4.1 (valid 0.5-100 GHz, so
it covers n28's 780 MHz downlink centre): UMa, UMi-Street-Canyon and RMa, each with the
LOS probability of Table 7.4.2-1. Shadowing is log-normal with the table's standard deviations,
spatially correlated along each user's path by Gudmundson's exponential model (the
decorrelation distances of Table 7.5-6). Distances below 10 m are clipped to 10 m, the models'
lower validity bound.

All functions are vectorised over (users × candidate cells) arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from model.params import RadioParams

C_LIGHT = 299_792_458.0
H_E = 1.0  # effective environment height (TR 38.901 Table 7.4.1-1 note 1, UMi/UMa)
RMA_BUILDING_H = 5.0  # average building height h (RMa default)
RMA_STREET_W = 20.0  # average street width W (RMa default)


def breakpoint_distance(h_bs: float, h_ut: float, fc_ghz: float) -> float:
    """d'_BP = 4 h'_BS h'_UT f_c / c (TR 38.901 Table 7.4.1-1 note 1)."""
    return 4.0 * (h_bs - H_E) * (h_ut - H_E) * fc_ghz * 1e9 / C_LIGHT


def rma_breakpoint_distance(h_bs: float, h_ut: float, fc_ghz: float) -> float:
    """d_BP = 2 pi h_BS h_UT f_c / c (TR 38.901 Table 7.4.1-1 note 5, RMa)."""
    return 2.0 * np.pi * h_bs * h_ut * fc_ghz * 1e9 / C_LIGHT


def los_breakpoint(model: str, h_bs: float, h_ut: float, fc_ghz: float) -> float:
    """The breakpoint distance that splits scenario ``model``'s LOS formula."""
    if model == "rma":
        return rma_breakpoint_distance(h_bs, h_ut, fc_ghz)
    return breakpoint_distance(h_bs, h_ut, fc_ghz)


def _uma_los(d2d, lg, fc, h_bs, h_ut):  # noqa: ANN001, ANN202 - lg = log10(d3D)
    dbp = breakpoint_distance(h_bs, h_ut, fc)
    base = 28.0 + 20.0 * np.log10(fc)
    far = base - 9.0 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    return np.where(d2d <= dbp, base + 22.0 * lg, far + 40.0 * lg)


def _umi_los(d2d, lg, fc, h_bs, h_ut):  # noqa: ANN001, ANN202
    dbp = breakpoint_distance(h_bs, h_ut, fc)
    base = 32.4 + 20.0 * np.log10(fc)
    far = base - 9.5 * np.log10(dbp**2 + (h_bs - h_ut) ** 2)
    return np.where(d2d <= dbp, base + 21.0 * lg, far + 40.0 * lg)


def _rma_pl1(d3d, fc, h=RMA_BUILDING_H):  # noqa: ANN001, ANN202
    return (
        20.0 * np.log10(40.0 * np.pi * d3d * fc / 3.0)
        + min(0.03 * h**1.72, 10.0) * np.log10(d3d)
        - min(0.044 * h**1.72, 14.77)
        + 0.002 * np.log10(h) * d3d
    )


def _rma_los(d2d, d3d, fc, h_bs, h_ut):  # noqa: ANN001, ANN202
    dbp = rma_breakpoint_distance(h_bs, h_ut, fc)
    pl1 = _rma_pl1(d3d, fc)
    pl2 = _rma_pl1(np.full_like(d3d, dbp), fc) + 40.0 * np.log10(d3d / dbp)
    return np.where(d2d <= dbp, pl1, pl2)


def _los(model: str, d2d, d3d, lg, fc, h_bs, h_ut):  # noqa: ANN001, ANN202
    if model == "uma":
        return _uma_los(d2d, lg, fc, h_bs, h_ut)
    if model == "umi":
        return _umi_los(d2d, lg, fc, h_bs, h_ut)
    return _rma_los(d2d, d3d, fc, h_bs, h_ut)


def _nlos_formula(model: str, d3d, lg, fc, h_bs, h_ut):  # noqa: ANN001, ANN202
    """PL'_NLOS of TR 38.901 Table 7.4.1-1 (before taking the max with PL_LOS)."""
    if model == "uma":
        return 13.54 + 39.08 * lg + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
    if model == "umi":
        return 35.3 * lg + 22.4 + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)
    h, w = RMA_BUILDING_H, RMA_STREET_W
    return (
        161.04
        - 7.1 * np.log10(w)
        + 7.5 * np.log10(h)
        - (24.37 - 3.7 * (h / h_bs) ** 2) * np.log10(h_bs)
        + (43.42 - 3.1 * np.log10(h_bs)) * (lg - 3.0)
        + 20.0 * np.log10(fc)
        - (3.2 * np.log10(11.75 * h_ut) ** 2 - 4.97)
    )


def pathloss_los_db(model: str, d2d, d3d, fc_ghz: float, h_bs: float, h_ut: float):  # noqa: ANN001, ANN201
    """LOS path loss in dB for scenario ``model`` ("uma", "umi", "rma")."""
    return _los(model, d2d, d3d, np.log10(d3d), fc_ghz, h_bs, h_ut)


def pathloss_nlos_db(model: str, d2d, d3d, fc_ghz: float, h_bs: float, h_ut: float):  # noqa: ANN001, ANN201
    """NLOS path loss in dB: max(PL_LOS, PL'_NLOS) as in TR 38.901 Table 7.4.1-1."""
    lg = np.log10(d3d)
    los = _los(model, d2d, d3d, lg, fc_ghz, h_bs, h_ut)
    return np.maximum(los, _nlos_formula(model, d3d, lg, fc_ghz, h_bs, h_ut))


def los_probability(model: str, d2d):  # noqa: ANN001, ANN201
    """TR 38.901 Table 7.4.2-1 LOS probability (UMa with h_UT <= 13 m, so C'(h_UT) = 0)."""
    d = np.maximum(d2d, 1e-9)
    if model == "uma":
        p = 18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)
        return np.where(d <= 18.0, 1.0, p)
    if model == "umi":
        p = 18.0 / d + np.exp(-d / 36.0) * (1.0 - 18.0 / d)
        return np.where(d <= 18.0, 1.0, p)
    return np.where(d <= 10.0, 1.0, np.exp(-(d - 10.0) / 1000.0))


def distances(dx: np.ndarray, dy: np.ndarray, h_bs: float, h_ut: float):  # noqa: ANN201
    """2D distance (clipped to the models' 10 m lower bound) and 3D distance, elementwise."""
    d2d = np.maximum(np.hypot(dx, dy), 10.0)
    d3d = np.sqrt(d2d**2 + (h_bs - h_ut) ** 2)
    return d2d, d3d


class PathLossKernel:
    """TR 38.901 path loss of one scenario as precomputed affine forms in ``lg = log10(d3D)``.

    Every LOS formula of Table 7.4.1-1 is ``a + b·lg + c·d3D`` on each side of the breakpoint
    (``c`` is non-zero only for RMa's ``0.002 log10(h) d3D`` term) and every NLOS formula is
    ``a + b·lg`` before the max with LOS, so one pass over float32 (users × cells) arrays
    computes both from the squared 2D distance with a single ``log10`` (``lg = ½ log10(d2D² +
    Δh²)``). ``tests/model/test_channel.py`` checks it against the plain formulas above.

    The LOS state of a link is decided by comparing a standard-normal field with
    ``Φ⁻¹(P_LOS(d2D))``; that threshold is tabulated every ``LOS_TABLE_RES_M`` metres out to
    ``max_distance_m`` (beyond it the last entry holds), so no ``exp``/``ndtr`` runs per link.
    """

    LOS_TABLE_RES_M = 0.5

    def __init__(self, model: str, fc_ghz: float, h_bs: float, h_ut: float, max_distance_m: float):
        self.model = model
        self.dh2 = (h_bs - h_ut) ** 2
        self.near = self._los_affine(model, fc_ghz, h_bs, h_ut, near=True)
        self.far = self._los_affine(model, fc_ghz, h_bs, h_ut, near=False)
        self.nlos = self._nlos_affine(model, fc_ghz, h_bs, h_ut)
        self.dbp = los_breakpoint(model, h_bs, h_ut, fc_ghz)
        self.dbp2 = np.float32(self.dbp**2)
        n = int(np.ceil(max_distance_m / self.LOS_TABLE_RES_M)) + 2
        d = np.arange(n) * self.LOS_TABLE_RES_M
        with np.errstate(divide="ignore"):
            self.los_threshold = ndtri(np.clip(los_probability(model, d), 0.0, 1.0)).astype(
                np.float32
            )

    @staticmethod
    def _los_affine(model: str, fc: float, h_bs: float, h_ut: float, near: bool):  # noqa: ANN205
        """(a, b, c) of the LOS formula on one side of the breakpoint, read off the formula
        itself: it is exactly affine in (1, lg, d3D), so three distances determine it."""
        d3d = np.array([10.0, 100.0, 1000.0])
        lg = np.log10(d3d)
        side = np.full(3, 0.0 if near else np.inf)  # d2D below / above the breakpoint
        pl = _los(model, side, d3d, lg, fc, h_bs, h_ut)
        a, b, c = np.linalg.solve(np.column_stack([np.ones(3), lg, d3d]), pl)
        return float(a), float(b), float(c) if abs(c) > 1e-9 else 0.0

    @staticmethod
    def _nlos_affine(model: str, fc: float, h_bs: float, h_ut: float) -> tuple[float, float]:
        """(a, b) of PL'_NLOS = a + b·lg."""
        a0 = float(_nlos_formula(model, np.array(1.0), np.array(0.0), fc, h_bs, h_ut))
        a1 = float(_nlos_formula(model, np.array(10.0), np.array(1.0), fc, h_bs, h_ut))
        return a0, a1 - a0

    def pathloss(self, d2sq: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(PL_LOS, PL_NLOS, d2D) in float32 from squared 2D distances (clipped at 10 m)."""
        d2sq = np.maximum(d2sq, np.float32(100.0))
        lg = np.log10(d2sq + np.float32(self.dh2))
        lg *= np.float32(0.5)
        (an, bn, cn), (af, bf, cf) = self.near, self.far
        near = d2sq <= self.dbp2
        los = lg * np.float32(bn)
        los += np.float32(an)
        far = lg * np.float32(bf)
        far += np.float32(af)
        if cn or cf:  # RMa's linear term in d3D
            d3 = np.sqrt(d2sq + np.float32(self.dh2))
            los += np.float32(cn) * d3
            far += np.float32(cf) * d3
        np.copyto(los, far, where=~near)
        nlos = lg * np.float32(self.nlos[1])
        nlos += np.float32(self.nlos[0])
        np.maximum(nlos, los, out=nlos)
        return los, nlos, np.sqrt(d2sq)

    def is_los(self, d2: np.ndarray, z: np.ndarray) -> np.ndarray:
        """LOS state: ``Φ(z) < P_LOS(d2D)`` as ``z < Φ⁻¹(P_LOS)`` from the table."""
        idx = (d2 * np.float32(1.0 / self.LOS_TABLE_RES_M) + np.float32(0.5)).astype(np.int32)
        np.minimum(idx, len(self.los_threshold) - 1, out=idx)
        return z < self.los_threshold[idx]


class ShadowedChannel:
    """Per (user, candidate cell) received power with correlated shadowing and LOS state.

    Two standard-normal fields per link evolve along each user's path by the Gudmundson AR(1)
    rule ``z <- rho z + sqrt(1 - rho^2) w``, ``rho = exp(-moved / d_corr)``: one scales the
    shadow fading (``decorrelation_m``), the other decides the LOS state
    (``los_decorrelation_m``) (LOS when ``Phi(z) < P_LOS(d)``), so both
    change smoothly as users move rather than flickering every slot. The fields belong to the
    link (user, cell): when a user's candidate set is re-chosen, a cell that stays keeps its
    fields and only newly tracked cells draw fresh ones (:meth:`carry`).

    The shadowing of a link is ``sqrt(r) z_user + sqrt(1 - r) z_link`` with a per-user field
    ``z_user`` shared by all its links, so links to different sites correlate with coefficient
    ``r = shadow_site_correlation`` (0.5, TR 36.942 Sec. 4.5.2 / TR 36.814 Table A.2.1.1.2-3).
    Independent links (r = 0) make a user's strongest cell flip with every fade and inflate
    handovers several-fold.
    """

    def __init__(
        self,
        params: RadioParams,
        n_users: int,
        n_cand: int,
        rng: np.random.Generator,
        kernel: PathLossKernel,
    ):
        self.p = params
        self.rng = rng
        self.kernel = kernel
        # float32 fields: half the memory traffic, and ample precision for dB-scale fading
        self.z_shadow = rng.standard_normal((n_users, n_cand), dtype=np.float32)
        self.z_los = rng.standard_normal((n_users, n_cand), dtype=np.float32)
        self.z_user = rng.standard_normal((n_users, 1), dtype=np.float32)
        r = params.shadow_site_correlation
        self._w_user, self._w_link = np.float32(np.sqrt(r)), np.float32(np.sqrt(1.0 - r))

    def carry(self, src: np.ndarray, kept: np.ndarray) -> None:
        """Re-index the fields after a candidate refresh.

        Args:
            src: (users, cand) old column of each new column's cell (any value where not kept).
            kept: (users, cand) True where the new column's cell was tracked before.
        """
        rows = np.arange(len(src))[:, None]
        fresh = ~kept
        k = int(fresh.sum())
        for name in ("z_shadow", "z_los"):
            z = getattr(self, name)[rows, src]
            if k:
                z[fresh] = self.rng.standard_normal(k, dtype=np.float32)
            setattr(self, name, z)

    def evolve(self, moved_m: np.ndarray) -> None:
        """Advance the correlated fields by each user's distance moved this slot."""
        moved = np.asarray(moved_m, dtype=np.float32)
        for fields, d_corr in (
            ((self.z_shadow, self.z_user), self.p.decorrelation_m),
            ((self.z_los,), self.p.los_decorrelation_m),
        ):
            rho = np.exp(-moved / np.float32(d_corr))
            w = np.sqrt(np.float32(1.0) - rho * rho)[:, None]
            rho = rho[:, None]
            for z in fields:
                noise = self.rng.standard_normal(z.shape, dtype=np.float32)
                noise *= w
                z *= rho
                z += noise

    def shadow(self) -> np.ndarray:
        """The standard-normal shadowing of every link (site-correlated, float32)."""
        z = self.z_shadow * self._w_link
        if self._w_user:
            z += self._w_user * self.z_user
        return z

    def pathloss_db(self, d2sq: np.ndarray) -> np.ndarray:
        """Path loss plus shadowing (dB, float32) for the current LOS state of every link."""
        los_pl, nlos_pl, d2 = self.kernel.pathloss(d2sq)
        if self.p.los_model == "los":
            pl, sigma = los_pl, self.p.shadow_std_los_db
        elif self.p.los_model == "nlos":
            pl, sigma = nlos_pl, self.p.shadow_std_nlos_db
        else:
            los = self.kernel.is_los(d2, self.z_los)
            if self.p.shadowing:
                z = self.shadow()
                los_pl += np.float32(self.p.shadow_std_los_db) * z
                nlos_pl += np.float32(self.p.shadow_std_nlos_db) * z
            np.copyto(nlos_pl, los_pl, where=los)
            return nlos_pl
        if self.p.shadowing:
            pl += np.float32(sigma) * self.shadow()
        return pl


def noise_dbm(params: RadioParams, bandwidth_hz: float) -> float:
    """Thermal noise plus receiver noise figure over ``bandwidth_hz``."""
    return params.noise_psd_dbm_hz + 10.0 * np.log10(bandwidth_hz) + params.noise_figure_db


def sinr_db(rx_dbm: np.ndarray, serving_col: np.ndarray, noise: float, load: float) -> np.ndarray:
    """SINR of each user's serving column against the other candidate cells plus noise.

    Args:
        rx_dbm: (users, cand) received power of each candidate cell.
        serving_col: (users,) column index of the serving cell.
        noise: noise power in dBm over the channel bandwidth.
        load: fraction of time interfering cells transmit.
    """
    rx_mw = 10.0 ** (rx_dbm / 10.0)
    rows = np.arange(len(serving_col))
    signal = rx_mw[rows, serving_col]
    interference = load * (rx_mw.sum(axis=1) - signal)
    return 10.0 * np.log10(signal / (interference + 10.0 ** (noise / 10.0)))


def shannon_rate(bandwidth_hz: np.ndarray, sinr_db_: np.ndarray, max_se: float = 0.0) -> np.ndarray:
    """Shannon rate b·log2(1 + SINR) in bit/s, optionally capped at ``max_se`` bit/s/Hz."""
    se = np.log2(1.0 + 10.0 ** (sinr_db_ / 10.0))
    if max_se > 0:
        se = np.minimum(se, max_se)
    return bandwidth_hz * se
