"""Constants of the CAV cooperative perception case study (seed 003, Sec. IV).

Defaults come from the seed where it gives a number, otherwise from the system model of Qu et
al., "Model-assisted learning for adaptive cooperative perception of connected autonomous
vehicles", IEEE TWC 2024 (arXiv 2401.10156), as summarised in
``shared/models/cav-cooperative-perception.md`` ("model file"). Fields whose doc says
*reconstructed* were inferred from public simulation data, not read in that paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.meta.params import validate_fields

_LEVEL_MATRIX = (
    0.35, 0.30, 0.20, 0.10, 0.05,
    0.25, 0.30, 0.25, 0.15, 0.05,
    0.10, 0.25, 0.30, 0.25, 0.10,
    0.05, 0.15, 0.25, 0.30, 0.25,
    0.05, 0.10, 0.20, 0.30, 0.35,
)  # fmt: skip


def _f(default: object, doc: str, rng: tuple[float, float] | None = None,
       choices: tuple[str, ...] | None = None, item_range: tuple[float, float] | None = None,
       copied_from: str | None = None) -> Any:
    """A dataclass field with the project's metadata conventions.

    ``copied_from="section.key"`` marks a field that is not a scenario key of its own: the
    scenario config copies that key's value into it and refuses it in the ``[cav]`` table.
    """
    meta: dict[str, object] = {"doc": doc}
    if copied_from is not None:
        meta["from"] = copied_from
    if rng is not None:
        meta["range"] = rng
    if choices is not None:
        meta["choices"] = choices
    if item_range is not None:
        meta["item_range"] = item_range
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class CavParams:
    """Every constant of the CAV environment (one TOML section)."""

    # One key per quantity: in a scenario the cluster's make-up is [vehicles] (cav_pairs, hdvs;
    # the world places 2 N CAVs + the HDVs of every cluster); these two are copies of it.
    n_pairs: int = _f(3, "N, CAV pairs in the cluster (seed Sec. IV: 3)", (1, 64),
                      copied_from="vehicles.cav_pairs")
    n_hdv: int = _f(10, "HDVs under the RSU (seed Sec. IV: 10); they act on the CAV pairs only "
                    "through B(k), the radio their traffic leaves over", (0, 10_000),
                    copied_from="vehicles.hdvs")
    slots_per_episode: int = _f(75, "K, slots per episode (seed Sec. IV: 75)", (1, 100_000))
    bandwidth_levels_mhz: tuple[float, ...] = _f(
        (5.0, 6.0, 7.0), "possible means mu(k) of B(k) in MHz (seed Sec. IV)", item_range=(0, 1e4))
    bandwidth_std_mhz: float = _f(0.3, "sigma of B(k) in MHz (seed Sec. IV)", (0.0, 1e3))
    bandwidth_floor_mhz: float = _f(
        0.1, "B(k) is clipped below at this floor (model file: 'a small positive floor'; "
        "value chosen, ~16 sigma below the lowest mean)", (1e-6, 1e3))
    task1_mu_mhz: float = _f(5.0, "mu(k) of task 1, low radio (seed Sec. IV)", (0.0, 1e4))
    task2_mu_mhz: float = _f(7.0, "mu(k) of task 2, high radio (seed Sec. IV)", (0.0, 1e4))
    object_levels: tuple[int, ...] = _f(
        (4, 5, 6, 7, 8), "levels of O_i, objects to perceive (model file)", item_range=(1, 1e6))
    distance_levels_m: tuple[float, ...] = _f(
        (6.0, 12.0, 18.0, 24.0, 30.0), "levels of d_i, Tx-Rx distance in m (model file)",
        item_range=(0.1, 1e5))
    object_transition: tuple[float, ...] = _f(
        _LEVEL_MATRIX, "row-major transition matrix of the O_i level chain (model file)",
        item_range=(0.0, 1.0))
    distance_transition: tuple[float, ...] = _f(
        _LEVEL_MATRIX, "row-major transition matrix of the d_i level chain (model file)",
        item_range=(0.0, 1.0))
    initial_levels: str = _f(
        "uniform", "distribution of the first O_i, d_i levels (not in the model file; chosen)",
        choices=("uniform", "stationary"))
    feature_extraction_cycles: float = _f(4.009e6, "d1, cycles/object (model file)", (0, 1e12))
    fusion_cycles: float = _f(3.33e1, "d2, feature fusion cycles/object (model file)", (0, 1e12))
    early_exit_cycles: float = _f(3.085e5, "d3, early-exit cycles/object (model file)",
                                  (0, 1e12))
    full_inference_cycles: float = _f(7.667e7, "d4, full inference cycles/object (model file)",
                                      (0, 1e12))
    early_exit_ratio_sp: float = _f(0.3, "rho, early-exit ratio of the SP DNN (model file)",
                                    (0.0, 1.0))
    early_exit_ratio_cp: float = _f(0.6, "rho_cp, early-exit ratio of the fusion DNN (model "
                                    "file)", (0.0, 1.0))
    feature_bits_per_object: float = _f(295_936.0, "w, feature data per object in bit (model "
                                        "file)", (0.0, 1e12))
    deadline_s: float = _f(0.1, "Delta, delay requirement per perception task (model file: "
                           "100 ms)", (1e-6, 1e3))
    kappa: float = _f(1e-28, "effective switched capacitance in kappa c f^2 (model file)",
                      (0.0, 1.0))
    carrier_ghz: float = _f(6.0, "V2V carrier frequency in GHz (model file)", (0.1, 1e3))
    tx_power_dbm: float = _f(23.0, "V2V transmit power in dBm (model file)", (-100, 100))
    noise_dbm: float = _f(-104.0, "noise power in dBm (model file; no interference)",
                          (-300, 100))
    pathloss_intercept_db: float = _f(32.4, "3GPP TR 37.885 highway LOS: PL intercept in dB",
                                      (-1e3, 1e3))
    pathloss_distance_coef_db: float = _f(20.0, "TR 37.885 highway LOS: dB per decade of d[m]",
                                          (0.0, 100.0))
    pathloss_frequency_coef_db: float = _f(20.0, "TR 37.885 highway LOS: dB per decade of "
                                           "fc[GHz]", (0.0, 100.0))
    compute_cap_fraction: float = _f(
        0.75, "t_c is capped at this fraction of Delta (model file, *reconstructed*)",
        (1e-6, 1.0 - 1e-6))
    switch_cost: float = _f(0.4, "reward cost per pair that switched mode (model file, "
                            "*reconstructed*)", (0.0, 1e6))
    infeasible_penalty: float = _f(10.0, "reward is -this when the CP pairs cannot all meet "
                                   "the deadline (model file, *reconstructed*)", (0.0, 1e9))
    bandwidth_ref_mhz: float = _f(6.0, "observation: B is normalised as (B - ref) / scale "
                                  "(chosen: the middle level)", (-1e4, 1e4))
    bandwidth_scale_mhz: float = _f(1.0, "observation: normalisation scale of B (chosen: the "
                                    "level spacing)", (1e-6, 1e4))

    def __post_init__(self) -> None:
        validate_fields(self)
        for f in fields(self):
            if "item_range" in f.metadata:
                lo, hi = f.metadata["item_range"]
                vals = getattr(self, f.name)
                if len(vals) == 0 or not all(lo <= v <= hi for v in vals):
                    raise ValueError(f"{f.name}={vals!r}: items must lie in [{lo}, {hi}]")
        for kind, n in (("object", len(self.object_levels)),
                        ("distance", len(self.distance_levels_m))):
            name = f"{kind}_transition"
            vals = getattr(self, name)
            if len(vals) != n * n:
                raise ValueError(f"{name} has {len(vals)} entries, expected {n}x{n}")
            if not np.allclose(np.reshape(vals, (n, n)).sum(axis=1), 1.0, atol=1e-9):
                raise ValueError(f"{name}: every row must sum to 1")
        self._check_gain_threshold()

    def _check_gain_threshold(self) -> None:
        """CP must be able to gain below the cap: 1 / phi < compute_cap_fraction."""
        from policies.rl.cav_env import cp_receiver_cycles, gain_threshold_phi, sp_cycles

        if sp_cycles(self) <= 0.0 or cp_receiver_cycles(self) <= 0.0:
            raise ValueError("the SP and CP workloads (cycles per object) must be > 0")
        phi = gain_threshold_phi(self)
        if not 1.0 / phi < self.compute_cap_fraction:
            raise ValueError(f"compute_cap_fraction={self.compute_cap_fraction}: must exceed "
                             f"1/phi = {1.0 / phi:.4g} (the t_c / Delta at which CP gains)")

    def matrix(self, kind: str) -> NDArray[np.float64]:
        """Transition matrix of the "object" or "distance" level chain (rows = current)."""
        vals = self.object_transition if kind == "object" else self.distance_transition
        n = int(round(np.sqrt(len(vals))))
        return np.asarray(vals, dtype=float).reshape(n, n)

    def stationary(self, kind: str) -> NDArray[np.float64]:
        """Stationary distribution of a level chain (left eigenvector for eigenvalue 1)."""
        m = self.matrix(kind)
        w, vecs = np.linalg.eig(m.T)
        pi = np.real(vecs[:, np.argmin(np.abs(w - 1.0))])
        return pi / pi.sum()
