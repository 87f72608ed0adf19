"""Parameter sections of the simulated world (scenario, area, users, radio, nodes, links, bus).

Defaults follow seed 000 Sec. IV (campus video case study) where it gives numbers, and 3GPP /
ITU-R values where it is silent; every field's ``doc`` says which. The service, scheduler,
slicing, CAV and twin sections live beside the policies that read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.paramtools import param


def ranged_param(default, lo=None, hi=None, doc="", choices=None):  # noqa: ANN001, ANN201
    """``policies.paramtools.param`` with the range given as two positional bounds."""
    return param(default, doc, span=None if lo is None else (lo, hi), choices=choices)


SCHEMES = ("proposed", "wo-da", "pdrl-l1", "hsla-l2")


@dataclass(frozen=True, slots=True)
class ScenarioParams:
    """What is simulated, for how long, and from which root seed."""

    name: str = ranged_param("custom", doc="preset name (informational)")
    seed: int = ranged_param(0, 0, 2**63 - 1, "root seed; every random stream is derived from it")
    duration_s: float = ranged_param(600.0, 1.0, 1e7, "simulated network time in seconds")
    slot_s: float = ranged_param(1.0, 0.01, 60.0, "length of one model step (DESIGN.md: 1 s)")
    service: str = ranged_param("video", doc="service studied", choices=("video", "cav", "none"))
    scheme: str = ranged_param(
        "proposed",
        doc="management scheme of seed 000 Sec. IV (schemes are data, not copies)",
        choices=SCHEMES,
    )
    digital_agents: bool = ranged_param(
        True, doc="create level-one/level-two DAs (off: bare world)"
    )
    torch_threads: int = ranged_param(
        1,
        1,
        256,
        "intra-op threads of torch; 1 is fastest for the small networks here (measured:"
        " a 4-layer BDQN forward took 0.7 ms on 1 thread and 39 ms on 2 on a busy 2-core machine)",
    )

    def check(self) -> str | None:
        if self.duration_s < self.slot_s:
            return "duration_s: must be at least one slot (slot_s)"
        return None


@dataclass(frozen=True, slots=True)
class AreaParams:
    """The road graph users move on (a synthetic campus grid or a straight highway)."""

    road: str = ranged_param(
        "campus-grid", doc="road graph generator", choices=("campus-grid", "highway")
    )
    width_m: float = ranged_param(
        1200.0, 50.0, 1e6, "area width (UWaterloo main campus is ~1.2 km E-W)"
    )
    height_m: float = ranged_param(800.0, 10.0, 1e6, "area height")
    block_m: float = ranged_param(150.0, 10.0, 1e5, "campus-grid street spacing")
    removed_street_fraction: float = ranged_param(
        0.15, 0.0, 0.6, "share of grid streets removed (keeps the graph connected)"
    )
    lanes: int = ranged_param(3, 1, 8, "highway lanes per direction")
    lane_width_m: float = ranged_param(3.5, 2.0, 5.0, "highway lane width")


@dataclass(frozen=True, slots=True)
class UsersParams:
    """Pedestrian / vehicular users of the video service (seed 000 Sec. IV)."""

    count: int = ranged_param(20, 0, 1_000_000, "number of users k (seed 000 Sec. IV: default 20)")
    speed_min_kmh: float = ranged_param(
        2.0, 0.0, 300.0, "lowest user speed (seed 000 Sec. IV: 2 km/h)"
    )
    speed_max_kmh: float = ranged_param(
        40.0, 0.0, 300.0, "highest user speed (seed 000 Sec. IV: 40 km/h)"
    )
    height_m: float = ranged_param(1.5, 1.0, 22.5, "UE antenna height (TR 38.901 Table 7.4.1-1)")
    report_period_s: float = ranged_param(
        10.0, 0.01, 3600.0, "QoS report period to the edge server"
    )

    def check(self) -> str | None:
        if self.speed_min_kmh > self.speed_max_kmh:
            return "speed_min_kmh: must not exceed speed_max_kmh"
        return None


@dataclass(frozen=True, slots=True)
class VehiclesParams:
    """Vehicle clusters (PLVNs) of CAV pairs and HDVs on the highway (seed 003 Sec. IV)."""

    clusters: int = ranged_param(
        0, 0, 10_000, "moving vehicle clusters (one PLVN and edge twin each)"
    )
    cav_pairs: int = ranged_param(3, 1, 64, "CAV pairs per cluster (seed 003 Sec. IV: 3)")
    hdvs: int = ranged_param(
        10, 0, 1000, "human-driven vehicles per cluster (seed 003 Sec. IV: 10)"
    )
    speed_min_kmh: float = ranged_param(60.0, 0.0, 300.0, "slowest cluster speed")
    speed_max_kmh: float = ranged_param(120.0, 0.0, 300.0, "fastest cluster speed")
    cluster_length_m: float = ranged_param(200.0, 10.0, 5000.0, "road length a cluster spans")

    def check(self) -> str | None:
        if self.speed_min_kmh > self.speed_max_kmh:
            return "speed_min_kmh: must not exceed speed_max_kmh"
        return None


@dataclass(frozen=True, slots=True)
class BaseStationParams:
    """Base stations (or RSUs): 700 MHz band n28 on the campus (seed 000 Sec. IV)."""

    count: int = ranged_param(2, 1, 100_000, "number of BSs/RSUs (seed 000 Sec. IV: 2)")
    kind: str = ranged_param("bs", doc="node label", choices=("bs", "rsu"))
    layout: str = ranged_param(
        "grid",
        doc="placement: a regular grid over the area, or along the road",
        choices=("grid", "road"),
    )
    carrier_ghz: float = ranged_param(
        0.7805, 0.5, 100.0, "carrier: centre of n28 downlink 758-803 MHz (seed 000 Sec. IV)"
    )
    bandwidth_mhz: float = ranged_param(
        20.0, 1.0, 400.0, "channel bandwidth per BS (n28 allows 5-30 MHz)"
    )
    tx_power_dbm: float = ranged_param(
        46.0, 0.0, 60.0, "BS transmit power (TR 36.814 / 38.901 UMa: 46 dBm)"
    )
    height_m: float = ranged_param(25.0, 1.0, 200.0, "BS height (TR 38.901 UMa: 25 m)")
    sensing_units: float = ranged_param(1.0, 0.0, 1e6, "sensing resource per BS (abstract units)")
    edge_count_per_bs: int = ranged_param(1, 1, 1, "each BS is wired to its nearest edge server")


@dataclass(frozen=True, slots=True)
class RadioParams:
    """Channel model: 3GPP TR 38.901 path loss, log-normal shadowing, SINR, Shannon rate."""

    pathloss_model: str = ranged_param(
        "uma", doc="TR 38.901 Table 7.4.1-1 scenario", choices=("uma", "umi", "rma")
    )
    los_model: str = ranged_param(
        "probabilistic",
        doc="LOS state: TR 38.901 Table 7.4.2-1 probability, or forced",
        choices=("probabilistic", "los", "nlos"),
    )
    shadowing: bool = ranged_param(True, doc="log-normal shadowing on/off")
    shadow_std_los_db: float = ranged_param(4.0, 0.0, 20.0, "TR 38.901 UMa LOS: 4 dB")
    shadow_std_nlos_db: float = ranged_param(6.0, 0.0, 20.0, "TR 38.901 UMa NLOS: 6 dB")
    decorrelation_m: float = ranged_param(
        37.0, 1.0, 1000.0, "shadowing decorrelation (TR 38.901 UMa LOS 37 m)"
    )
    los_decorrelation_m: float = ranged_param(
        50.0, 1.0, 1000.0, "LOS-state correlation distance (TR 38.901 Table 7.6.3.1-2, UMa: 50 m)"
    )
    shadow_site_correlation: float = ranged_param(
        0.5, 0.0, 1.0, "shadowing correlation between a user's links to different sites (TR 36.942)"
    )
    noise_psd_dbm_hz: float = ranged_param(-174.0, -200.0, -100.0, "thermal noise density")
    noise_figure_db: float = ranged_param(9.0, 0.0, 20.0, "UE noise figure (TR 38.802: 9 dB)")
    interference_load: float = ranged_param(
        1.0, 0.0, 1.0, "fraction of time neighbour cells transmit (1 = full buffer)"
    )
    hysteresis_db: float = ranged_param(
        3.0, 0.0, 20.0, "handover hysteresis (A3 offset, TS 38.331)"
    )
    l3_filter_k: int = ranged_param(
        4, 0, 19, "layer-3 RSRP filter coefficient k (TS 38.331: a = 1/2^(k/4))"
    )
    time_to_trigger_s: float = ranged_param(
        2.0, 0.0, 60.0, "A3 condition must hold this long (TS 38.331 TTT)"
    )
    candidate_cells: int = ranged_param(
        8, 1, 64, "strongest cells tracked per user (others ignored)"
    )
    candidate_refresh_s: float = ranged_param(
        10.0, 0.1, 3600.0, "how often the candidate cells are re-chosen"
    )
    max_spectral_efficiency: float = ranged_param(
        0.0, 0.0, 30.0, "cap on bit/s/Hz (0 = pure Shannon; TR 36.942 suggests 4.4)"
    )


@dataclass(frozen=True, slots=True)
class EdgeParams:
    """Edge servers (seed 000 Sec. IV: one edge server with 10 GCycles/s)."""

    count: int = ranged_param(1, 1, 10_000, "number of edge servers")
    cpu_gcycles: float = ranged_param(
        10.0, 0.001, 1e6, "computing capacity, Gcycles/s (seed 000 Sec. IV)"
    )
    cache_gb: float = ranged_param(64.0, 0.0, 1e6, "caching capacity in GB")
    sensing_units: float = ranged_param(0.0, 0.0, 1e6, "sensing resource (abstract units)")


@dataclass(frozen=True, slots=True)
class CloudParams:
    """The cloud behind the edge (level-two DAs, the cloud twin)."""

    cpu_gcycles: float = ranged_param(1000.0, 0.001, 1e9, "computing capacity, Gcycles/s")
    cache_gb: float = ranged_param(10_000.0, 0.0, 1e9, "storage in GB")


@dataclass(frozen=True, slots=True)
class LinkParams:
    """Latency and bandwidth of wired links, and the air-interface latency."""

    air_latency_ms: float = ranged_param(
        4.0, 0.0, 1000.0, "user-plane latency of the radio hop (ITU-R M.2410 eMBB: 4 ms)"
    )
    bs_edge_latency_ms: float = ranged_param(1.0, 0.0, 1000.0, "BS-edge fronthaul/backhaul latency")
    bs_edge_gbps: float = ranged_param(10.0, 1e-6, 1e4, "BS-edge bandwidth")
    edge_edge_latency_ms: float = ranged_param(2.0, 0.0, 1000.0, "edge-edge metro link latency")
    edge_edge_gbps: float = ranged_param(10.0, 1e-6, 1e4, "edge-edge bandwidth")
    edge_cloud_latency_ms: float = ranged_param(20.0, 0.0, 1000.0, "edge-cloud Internet latency")
    edge_cloud_gbps: float = ranged_param(1.0, 1e-6, 1e4, "edge-cloud bandwidth")
    min_air_rate_mbps: float = ranged_param(
        0.1, 1e-6, 1e5, "floor of the radio rate used for message timing"
    )


@dataclass(frozen=True, slots=True)
class OutputParams:
    """What a run records besides the per-slot model metrics."""

    user_period_s: float = ranged_param(60.0, 0.01, 1e7, "period of the per-user snapshot table")
    record_users: bool = ranged_param(True, doc="write the per-user snapshot table (users.parquet)")
