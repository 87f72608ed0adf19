"""Dynamics of physical local vehicular networks (PLVNs) on the highway (seed 003, Sec. III.A, IV).

Seed 003 Sec. III.A names the network-level attributes whose changes make PLVNs nonstationary:
hour, city, location, road condition, vehicle number, average workload and average resources.
Sec. IV describes one PLVN: a moving cluster of CAV pairs and human-driven vehicles (HDVs)
under an RSU, where "due to the radio resource sharing among all the vehicles, the radio
resource availability for supporting the cooperative perception of CAV pairs is dynamic", with
a mean mu(k) in {5, 6, 7} MHz. This module makes those attributes evolve, vectorised over all
clusters (no Mesa, pure numpy):

* **time of day** — ``start_hour`` plus network time times ``time_acceleration`` (12: a 600 s
  run covers 17:00-19:00, so every PLVN turns from "day" to "night" at 18:00, t = 300 s);
* **road type** — "urban" on ``[urban_from_m, urban_to_m)`` of the highway's x axis, else
  "highway";
* **HDVs per cluster** — an M/M/inf birth-death process: HDVs join at rate
  ``target * hdv_change_rate_per_s`` and each leaves at ``hdv_change_rate_per_s``, so the count
  reverts to a target of ``hdvs`` (seed: 10) scaled by the road (urban: more) and the time of
  day (night: fewer);
* **radio left to the CAV pairs** (our model, the seed gives none) — mu = ``cav_band_mhz`` minus
  ``hdv_load_mhz`` per HDV of the cluster and per ``rsu_sharing``-weighted vehicle of the other
  clusters under the same RSU, snapped to the nearest of the seed's levels {5, 6, 7} MHz. So a
  busy daytime urban cluster sees 5 MHz, a night highway cluster 7 MHz.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.meta.params import validate_fields
from policies.rl.cav_params import CavParams

DRIFT_KINDS: tuple[str, ...] = ("none", "markov", "radio")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def _f(default: object, doc: str, rng: tuple[float, float] | None = None) -> Any:
    meta: dict[str, object] = {"doc": doc}
    if rng is not None:
        meta["range"] = rng
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class PlvnParams:
    """Environment dynamics of the vehicle clusters (TOML section ``plvn``)."""

    start_hour: float = _f(17.0, "local hour of day at t = 0", (0.0, 24.0))
    time_acceleration: float = _f(
        12.0, "hours of the day pass this many times faster than network time (12: a 600 s "
        "run spans 2 h of day, crossing 18:00 at t = 300 s)", (0.0, 1e6))
    day_start_hour: float = _f(6.0, "HDV traffic: daytime starts at this hour", (0.0, 24.0))
    night_start_hour: float = _f(18.0, "HDV traffic: night starts at this hour", (0.0, 24.0))
    city: str = _f("waterloo", "city attribute of every PLVN (seed Sec. III.A: 'city')")
    urban_from_m: float = _f(4500.0, "road type is 'urban' from this x (m) ...", (0.0, 1e7))
    urban_to_m: float = _f(1e7, "... up to this x (m); 'highway' elsewhere", (0.0, 1e7))
    hdv_change_rate_per_s: float = _f(
        0.02, "rate at which each HDV leaves its cluster (1/s); joins at target x rate",
        (0.0, 100.0))
    urban_hdv_factor: float = _f(1.8, "target HDVs on urban road / on highway", (0.0, 100.0))
    night_hdv_factor: float = _f(0.4, "target HDVs at night / by day", (0.0, 100.0))
    cav_band_mhz: float = _f(
        8.0, "radio the RSU could leave to a cluster's CAV pairs without HDV traffic (chosen "
        "so that 10 daytime highway HDVs leave 6 MHz, the seed's middle level)", (0.0, 1e4))
    hdv_load_mhz: float = _f(0.2, "radio taken by each HDV's vehicle-to-RSU traffic",
                             (0.0, 1e4))
    rsu_sharing: float = _f(
        0.5, "weight of each vehicle of another cluster under the same RSU in that load",
        (0.0, 10.0))
    snapshot_period_s: float = _f(10.0, "period of the per-cluster 'plvns' table", (0.01, 1e7))
    drift_kind: str = field(default="none", metadata={
        "choices": DRIFT_KINDS,
        "doc": "world drift at drift_at_s (what the twins' drift detectors must notice, seed "
        "III.B/III.C.2): 'markov' switches the workload and distance level chains to the "
        "row-reversed matrices (a high level now tends to follow a low one), 'radio' shifts "
        "every mu(k) by drift_mu_offset_mhz (a non-stationary mu(k)); 'none': stationary"})
    drift_at_s: float = _f(0.0, "network time of the drift (with drift_kind != 'none')",
                           (0.0, 1e9))
    drift_mu_offset_mhz: float = _f(-1.0, "drift_kind='radio': added to every mu(k) in MHz",
                                    (-1e3, 1e3))

    def __post_init__(self) -> None:
        validate_fields(self)

    def check(self) -> str | None:
        """Cross-field validation used by the config loader (None when valid)."""
        if self.urban_to_m < self.urban_from_m:
            return "urban_to_m: must not be below urban_from_m"
        return None


def drifted_cav(cav: CavParams, p: PlvnParams) -> CavParams:
    """The world's CAV dynamics after the drift of ``p`` ('markov'); unchanged otherwise."""
    if p.drift_kind != "markov":
        return cav
    return replace(cav, object_transition=_reverse_rows(cav.matrix("object")),
                   distance_transition=_reverse_rows(cav.matrix("distance")))


def drift_active(time_s: float, p: PlvnParams) -> bool:
    """Whether the world has drifted at network time ``time_s``."""
    return p.drift_kind != "none" and time_s >= p.drift_at_s


def _reverse_rows(m: np.ndarray) -> tuple[float, ...]:
    return tuple(np.asarray(m)[:, ::-1].ravel().tolist())


def hour_of_day(time_s: float, p: PlvnParams) -> float:
    """Local hour in [0, 24) at network time ``time_s``."""
    return float((p.start_hour + time_s * p.time_acceleration / 3600.0) % 24.0)


def is_daytime(hour: float, p: PlvnParams) -> bool:
    """Whether ``hour`` lies in the HDV-traffic day ``[day_start_hour, night_start_hour)``."""
    if p.day_start_hour <= p.night_start_hour:
        return p.day_start_hour <= hour < p.night_start_hour
    return hour >= p.day_start_hour or hour < p.night_start_hour


def urban_mask(x_m: FloatArray, p: PlvnParams) -> BoolArray:
    """True where a cluster at ``x_m`` drives on the urban section."""
    x = np.asarray(x_m, dtype=float)
    return (x >= p.urban_from_m) & (x < p.urban_to_m)


def road_labels(urban: BoolArray) -> list[str]:
    """Road-type attribute of each cluster."""
    return ["urban" if u else "highway" for u in np.asarray(urban, dtype=bool)]


def hdv_targets(base_hdvs: float, urban: BoolArray, hour: float, p: PlvnParams) -> FloatArray:
    """Mean HDV count each cluster reverts to, given road type and time of day."""
    scale = np.where(np.asarray(urban, dtype=bool), p.urban_hdv_factor, 1.0)
    if not is_daytime(hour, p):
        scale = scale * p.night_hdv_factor
    return base_hdvs * scale


def hdv_step(count: IntArray, target: FloatArray, dt_s: float, p: PlvnParams,
             rng: np.random.Generator) -> IntArray:
    """One slot of the M/M/inf HDV process: Binomial departures, Poisson arrivals.

    Each HDV stays for an exponential time of mean 1 / rate; arrivals come at target x rate,
    so the stationary mean is ``target`` (Poisson distributed).
    """
    leave_p = 1.0 - np.exp(-p.hdv_change_rate_per_s * dt_s)
    leaving = rng.binomial(np.asarray(count, dtype=np.int64), leave_p)
    joining = rng.poisson(np.asarray(target, dtype=float) * p.hdv_change_rate_per_s * dt_s)
    return (np.asarray(count, dtype=np.int64) - leaving + joining).astype(np.int64)


def initial_hdvs(target: FloatArray, rng: np.random.Generator) -> IntArray:
    """HDV counts drawn from the stationary (Poisson) law of :func:`hdv_step`."""
    return rng.poisson(np.asarray(target, dtype=float)).astype(np.int64)


def vehicle_counts(cav_pairs: int, hdvs: IntArray) -> IntArray:
    """Vehicles in each cluster: two CAVs per pair plus its HDVs."""
    return 2 * cav_pairs + np.asarray(hdvs, dtype=np.int64)


def radio_mean_mhz(hdvs: IntArray, rsu: IntArray, vehicles: IntArray, levels: tuple[float, ...],
                   p: PlvnParams) -> FloatArray:
    """mu of each cluster: the radio its own HDVs and other clusters at its RSU leave over.

    Args:
        hdvs: HDVs of each cluster.
        rsu: RSU each cluster is attached to.
        vehicles: vehicles of each cluster (CAVs and HDVs).
        levels: the allowed means (seed Sec. IV: 5, 6, 7 MHz); the result is the nearest one.
        p: parameters.
    """
    rsu = np.asarray(rsu, dtype=np.int64)
    vehicles = np.asarray(vehicles, dtype=float)
    same_rsu = rsu[:, None] == rsu[None, :]
    others = (same_rsu * vehicles[None, :]).sum(axis=1) - vehicles
    raw = p.cav_band_mhz - p.hdv_load_mhz * (np.asarray(hdvs, dtype=float) + p.rsu_sharing * others)
    return nearest_level(raw, levels)


def nearest_level(values: FloatArray, levels: tuple[float, ...]) -> FloatArray:
    """Each value snapped to the closest level (ties to the lower level)."""
    lv = np.sort(np.asarray(levels, dtype=float))
    idx = np.argmin(np.abs(np.asarray(values, dtype=float)[..., None] - lv), axis=-1)
    return lv[idx]


def nearest_rsu(x_m: FloatArray, rsu_x_m: FloatArray) -> IntArray:
    """Index of the RSU closest along the road to each cluster (RSUs line the highway)."""
    d = np.abs(np.asarray(x_m, dtype=float)[:, None] - np.asarray(rsu_x_m, dtype=float)[None, :])
    return np.argmin(d, axis=1).astype(np.int64)
