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
from scipy.special import ndtr

from model.params import RadioParams

C_LIGHT = 299_792_458.0
H_E = 1.0  # effective environment height (TR 38.901 Table 7.4.1-1 note 1, UMi/UMa)
RMA_BUILDING_H = 5.0  # average building height h (RMa default)
RMA_STREET_W = 20.0  # average street width W (RMa default)


def breakpoint_distance(h_bs: float, h_ut: float, fc_ghz: float) -> float:
    """d'_BP = 4 h'_BS h'_UT f_c / c (TR 38.901 Table 7.4.1-1 note 1)."""
    return 4.0 * (h_bs - H_E) * (h_ut - H_E) * fc_ghz * 1e9 / C_LIGHT


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
    dbp = 2.0 * np.pi * h_bs * h_ut * fc * 1e9 / C_LIGHT
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


class ShadowedChannel:
    """Per (user, candidate cell) received power with correlated shadowing and LOS state.

    Two standard-normal fields per link evolve along each user's path by the Gudmundson AR(1)
    rule ``z <- rho z + sqrt(1 - rho^2) w``, ``rho = exp(-moved / d_corr)``: one scales the
    shadow fading, the other decides the LOS state (LOS when ``Phi(z) < P_LOS(d)``), so both
    change smoothly as users move rather than flickering every slot.
    """

    def __init__(self, params: RadioParams, n_users: int, n_cand: int, rng: np.random.Generator):
        self.p = params
        self.rng = rng
        # float32 fields: half the memory traffic, and ample precision for dB-scale fading
        self.z_shadow = rng.standard_normal((n_users, n_cand), dtype=np.float32)
        self.z_los = rng.standard_normal((n_users, n_cand), dtype=np.float32)

    def redraw(self, mask: np.ndarray) -> None:
        """Fresh fields for links whose candidate cell changed (``mask`` is users × cand)."""
        k = int(mask.sum())
        if k:
            self.z_shadow[mask] = self.rng.standard_normal(k, dtype=np.float32)
            self.z_los[mask] = self.rng.standard_normal(k, dtype=np.float32)

    def evolve(self, moved_m: np.ndarray) -> None:
        """Advance the correlated fields by each user's distance moved this slot."""
        rho = np.exp(-moved_m / self.p.decorrelation_m).astype(np.float32)[:, None]
        w = np.sqrt(1.0 - rho**2)
        shape = self.z_shadow.shape
        self.z_shadow *= rho
        self.z_shadow += w * self.rng.standard_normal(shape, dtype=np.float32)
        self.z_los *= rho
        self.z_los += w * self.rng.standard_normal(shape, dtype=np.float32)

    def pathloss_db(self, d2d, d3d, fc_ghz: float, h_bs: float, h_ut: float):  # noqa: ANN001, ANN201
        """Path loss plus shadowing (dB) for the current LOS state of every link."""
        model = self.p.pathloss_model
        if self.p.los_model == "los":
            los = np.ones(d2d.shape, dtype=bool)
        elif self.p.los_model == "nlos":
            los = np.zeros(d2d.shape, dtype=bool)
        else:
            los = ndtr(self.z_los) < los_probability(model, d2d)
        lg = np.log10(d3d)
        pl_los = _los(model, d2d, d3d, lg, fc_ghz, h_bs, h_ut)
        pl_nlos = np.maximum(pl_los, _nlos_formula(model, d3d, lg, fc_ghz, h_bs, h_ut))
        pl = np.where(los, pl_los, pl_nlos)
        if self.p.shadowing:
            sigma = np.where(los, self.p.shadow_std_los_db, self.p.shadow_std_nlos_db)
            pl = pl + sigma * self.z_shadow
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
