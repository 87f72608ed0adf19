"""The vectorised physical world: placement, mobility, radio, shares and QoS measurements.

:class:`World` holds every per-user quantity as a numpy array (struct of arrays) and advances
them all at once in :meth:`World.step` (DESIGN.md step phase 1). It knows nothing of Mesa or of
agents: the model owns a World, and agents keep an index into its arrays.

QoS measured per user and slot (seed 000 Sec. III.B lists delay, throughput, jitter, loss):

* rate = allocated bandwidth × spectral efficiency (Shannon, ``model.channel``);
* delay = air latency + BS–edge latency + one 1500-byte packet's transmission time inflated by
  the M/M/1 factor 1 / (1 − ρ), ρ = offered load / rate (capped at 0.95), the wait bounded by
  one slot (a service never offers more than the link carries in a slot); a user with traffic
  whose slot rate carries less than one packet: the head-of-line wait since its last served
  slot instead;
* jitter = RFC 3550's running estimate J ← J + (|ΔD| − J) / 16;
* loss = a logistic block-error curve in SINR, 50 % at ``LOSS_SINR_MID_DB`` (just under the
  lowest NR CQI's SINR, TS 38.214 Table 5.2.2.1-2), slope ``LOSS_SINR_SLOPE_DB``.
"""

from __future__ import annotations

import math

import numpy as np

from model.mobility import Mobility
from model.params import AreaParams, BaseStationParams
from model.radio import RadioAccess, cell_shares
from model.rng import RandomStreams
from model.roads import RoadArrays, build_road_graph, road_arrays
from model.rrm import RrmPolicy, newcomer_weights, rrm_shares

PACKET_BITS = 1500 * 8
LOSS_SINR_MID_DB = -7.0
LOSS_SINR_SLOPE_DB = 1.0
FULL_BUFFER_BPS = 5e6  # offered load of a user with no service model (5 Mbit/s)


def grid_layout(count: int, width: float, height: float) -> np.ndarray:
    """``count`` sites at the centres of a near-square grid of cells over the area."""
    cols = max(1, math.ceil(math.sqrt(count * width / height)))
    rows = max(1, math.ceil(count / cols))
    xs = (np.arange(cols) + 0.5) * width / cols
    ys = (np.arange(rows) + 0.5) * height / rows
    sites = np.array([(x, y) for y in ys for x in xs], dtype=float)
    return sites[:count]


def road_layout(count: int, width: float, height: float, offset_m: float = 20.0) -> np.ndarray:
    """``count`` sites evenly along a road running along x at mid-height (RSUs by a highway)."""
    xs = (np.arange(count) + 0.5) * width / count
    return np.column_stack([xs, np.full(count, height / 2.0 + offset_m)])


def cell_sites(bs: BaseStationParams, area: AreaParams) -> np.ndarray:
    if bs.layout == "road":
        return road_layout(bs.count, area.width_m, area.height_m)
    return grid_layout(bs.count, area.width_m, area.height_m)


class World:
    """All vectorised per-slot physics of users (and vehicle clusters) in one place."""

    def __init__(self, cfg, streams: RandomStreams) -> None:  # noqa: ANN001 - ScenarioConfig
        self.cfg = cfg
        self.dt = cfg.scenario.slot_s
        self.road_graph = build_road_graph(cfg.area, streams.get("roads"))
        self.roads: RoadArrays = road_arrays(self.road_graph)
        self.bs_pos = cell_sites(cfg.base_stations, cfg.area)
        if cfg.base_stations.layout == "road":  # edge servers along the road, like the RSUs
            self.edge_pos = road_layout(cfg.edge.count, cfg.area.width_m, cfg.area.height_m, 60.0)
        else:
            self.edge_pos = grid_layout(cfg.edge.count, cfg.area.width_m, cfg.area.height_m)
        self.cloud_pos = (cfg.area.width_m / 2.0, cfg.area.height_m * 1.25)
        self.n_cells = len(self.bs_pos)
        self.cell_hz = np.full(self.n_cells, cfg.base_stations.bandwidth_mhz * 1e6)
        n = cfg.users.count
        self.n = n
        self.mobility = Mobility(
            self.roads, n, cfg.users.speed_min_kmh, cfg.users.speed_max_kmh, streams.get("mobility")
        )
        self.radio = RadioAccess(
            self.bs_pos,
            cfg.base_stations,
            cfg.radio,
            cfg.users.height_m,
            n,
            self.dt,
            streams.get("channel"),
            max_distance_m=float(np.hypot(cfg.area.width_m, cfg.area.height_m)) + 1_000.0,
        )
        self.pos = self.mobility.positions
        self.weight = np.ones(n)  # scheduling weight within the user's cell (set by orchestrators)
        self.alloc_hz = np.zeros(n)
        self.rate_bps = np.zeros(n)
        self.offered_bps = np.full(n, FULL_BUFFER_BPS)
        self.cpu_hz = np.full(n, np.inf)  # edge computing granted per user (services cap on it)
        # Slices that bind (model.rrm): a user's slice class (its subscription; -1 = none), whether
        # it has traffic, and the RRM policies the cells / edge servers enforce (None: plain
        # weights, no slicing). Computing is enforced only once a service sets ``edge_cpu_hz``.
        self.slice_class = np.full(n, -1, dtype=np.int64)
        self.slice_classes = 0
        self.active = np.ones(n, dtype=bool)
        self.comm_policy: RrmPolicy | None = None
        self.cpu_weight = np.ones(n)
        # the cell each weight was allocated for (-1: none yet): after a handover a user is a
        # newcomer in its new cell until its orchestrator allocates it there (newcomer_weights)
        self.weight_cell = np.full(n, -1, dtype=np.int64)
        self.cpu_weight_cell = np.full(n, -1, dtype=np.int64)
        self.compute_policy: RrmPolicy | None = None
        self.edge_cpu_hz: np.ndarray | None = None
        self.cell_edge: np.ndarray | None = None
        self.active_slots = 0
        self.starved_slots = 0
        self.usage: dict[str, np.ndarray] | None = None
        self.usage_slots = np.zeros(0)
        self.throughput_bps = np.zeros(n)
        self.delay_ms = np.zeros(n)
        self.unserved_slots = np.zeros(n)  # consecutive slots without bandwidth (delay)
        self.jitter_ms = np.zeros(n)
        self.loss = np.zeros(n)
        self.backhaul_ms = cfg.links.air_latency_ms + cfg.links.bs_edge_latency_ms
        self.acc = {k: np.zeros(n) for k in ("thr", "delay", "jitter", "loss", "sinr")}
        self.acc_slots = np.zeros(n)
        self.handovers_total = 0

    @property
    def serving(self) -> np.ndarray:
        return self.radio.serving

    @property
    def speed(self) -> np.ndarray:
        return self.mobility.speed

    def step(self) -> None:
        """Advance mobility, radio and shares of every user by one slot (QoS comes after the
        services in :meth:`measure_qos`)."""
        before = self.mobility.distance.copy()
        self.mobility.step(self.dt)
        self.pos = self.mobility.positions
        self.radio.update(self.pos, self.mobility.distance - before)
        self.handovers_total += int(self.radio.handover.sum())
        serving = self.radio.serving
        if self.comm_policy is None:
            self.alloc_hz = cell_shares(serving, self.weight, self.n_cells, self.cell_hz)
        else:
            weight = newcomer_weights(
                serving, self.slice_class, self.weight, self.weight_cell, serving, self.active
            )
            self.alloc_hz = rrm_shares(
                serving, self.slice_class, weight, self.active, self.cell_hz, self.comm_policy
            )
        self.rate_bps = self.alloc_hz * self.radio.spectral_eff
        if self.edge_cpu_hz is not None and self.cell_edge is not None:
            self.cpu_hz = self._compute_shares(serving)
        if self.slice_classes > 0:
            self._account_slices(serving)

    def _account_slices(self, serving: np.ndarray) -> None:
        """Accumulate what each (cell, slice class) received this slot (``take_slice_usage``)."""
        k = self.slice_classes + 1  # last column: users outside every slice
        idx = serving * k + np.where(self.slice_class >= 0, self.slice_class, k - 1)
        size = self.n_cells * k
        if self.usage is None:
            self.usage = {name: np.zeros(size) for name in ("hz", "cpu", "users")}
            self.usage_slots = np.zeros(self.n_cells)
        u = self.usage
        u["hz"] += np.bincount(idx, weights=self.alloc_hz, minlength=size)
        cpu = np.where(np.isfinite(self.cpu_hz), self.cpu_hz, 0.0)
        u["cpu"] += np.bincount(idx, weights=cpu, minlength=size)
        u["users"] += np.bincount(idx, weights=self.active.astype(float), minlength=size)
        self.usage_slots += 1

    def take_slice_usage(self, cell: int, reset: bool = True) -> dict[str, np.ndarray] | None:
        """Cell ``cell``'s per-slice-class (+ best effort) means since its last call: Hz and
        cycles/s received (sums over the class's users) and active users; then reset."""
        if self.usage is None or self.usage_slots[cell] == 0:
            return None
        k = self.slice_classes + 1
        rows = slice(cell * k, (cell + 1) * k)
        out = {n: v[rows] / self.usage_slots[cell] for n, v in self.usage.items()}
        if reset:
            for v in self.usage.values():
                v[rows] = 0.0
            self.usage_slots[cell] = 0
        return out

    def compute_class(self, serving: np.ndarray) -> np.ndarray:
        """A user's class in the edge servers' compute policies: its (serving cell, slice)."""
        k = self.slice_classes
        return np.where(self.slice_class >= 0, serving * k + self.slice_class, -1)

    def _compute_shares(self, serving: np.ndarray) -> np.ndarray:
        edge = self.cell_edge[serving]
        policy = self.compute_policy
        if policy is None:
            width = self.n_cells * self.slice_classes
            policy = RrmPolicy.best_effort(len(self.edge_cpu_hz), width)
        klass = self.compute_class(serving)
        weight = newcomer_weights(
            edge, klass, self.cpu_weight, self.cpu_weight_cell, serving, self.active
        )
        return rrm_shares(edge, klass, weight, self.active, self.edge_cpu_hz, policy)

    def measure_qos(self) -> None:
        """QoS of the slot from the rates and the load the services offered."""
        # Served: the slot's rate carries at least one packet; below that the head-of-line
        # packet waits (a sub-packet rate is not a 1,500-byte transfer lasting minutes).
        served = self.rate_bps * self.dt >= PACKET_BITS
        rate = np.where(served, self.rate_bps, 1.0)
        self.throughput_bps = np.minimum(self.rate_bps, self.offered_bps)
        rho = np.minimum(self.offered_bps / rate, 0.95)
        # A user the slot did not serve has its head-of-line packet waiting since its last
        # served slot: its delay is that wait (slots x slot length), not a transfer at 1 bit/s.
        # A user with no traffic queues nothing: no wait.
        waiting = ~served & self.active
        self.unserved_slots = np.where(waiting, self.unserved_slots + 1, 0)
        waited_ms = 1e3 * self.dt * self.unserved_slots
        # M/M/1 waiting, bounded by one slot: a service offers at most what the link carries in
        # a slot (the video client downloads at most rate x dt), so the backlog a packet finds
        # drains within the slot.
        packet_ms = 1e3 * PACKET_BITS / rate
        transfer_ms = np.minimum(packet_ms / (1.0 - rho), packet_ms + 1e3 * self.dt)
        delay = self.backhaul_ms + np.where(served, transfer_ms, waited_ms)
        self.jitter_ms += (np.abs(delay - self.delay_ms) - self.jitter_ms) / 16.0
        self.delay_ms = delay
        self.loss = 1.0 / (
            1.0 + np.exp((self.radio.sinr_db - LOSS_SINR_MID_DB) / LOSS_SINR_SLOPE_DB)
        )
        acc = self.acc
        acc["thr"] += self.throughput_bps
        acc["delay"] += delay
        acc["jitter"] += self.jitter_ms
        acc["loss"] += self.loss
        acc["sinr"] += self.radio.sinr_db
        self.acc_slots += 1
        if self.comm_policy is not None or self.edge_cpu_hz is not None:
            self.active_slots += int(self.active.sum())
            self.starved_slots += int(np.sum(self.active & (self.rate_bps <= 0.0)))

    def take_window(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Per-user means since the last report of users ``idx``, then reset their accumulators."""
        cnt = np.maximum(self.acc_slots[idx], 1)
        out = {k: v[idx] / cnt for k, v in self.acc.items()}
        for v in self.acc.values():
            v[idx] = 0.0
        self.acc_slots[idx] = 0
        return out
