"""``NetworkModel``: the Mesa model that wires the world, the bus and the agents together.

One step is one slot of network time (DESIGN.md "One step of the world"):

1. physics, vectorised (``model.world``): mobility, association, channel, shares, QoS;
   handovers move the users' wireless edges in the topology;
2. message delivery: every message due by now goes to its receiver's inbox;
3. agents act, by role, in a fixed order — users (whose reports are due) → level-one DAs and
   edge twins → infrastructure (edge orchestrators, BSs) → level-two DAs and the cloud twin.
   Only agents with mail or a due timer act, so 10^5 idle users cost nothing here;
4. data collection: model metrics every slot (Mesa DataCollector), a per-user snapshot table
   every ``output.user_period_s``.

Parameters are flat keywords so ``mesa.batch_run`` and SolaraViz sliders can drive the model:
``NetworkModel("campus-video", rng=3, n_users=24, scheme="wo-da", users__report_period_s=5)``
— any ``section__key`` keyword is a scenario override and is validated like ``--set``.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents.base import NetAgent
from agents.infrastructure import BaseStation, Cloud, EdgeServer
from agents.users import User
from model.bus import MessageBus
from model.config import ConfigError, ScenarioConfig, load_scenario, with_overrides
from model.messages import Kind
from model.resources import ResourceLedger
from model.rng import RandomStreams
from model.topology import CLOUD, Topology, bs_node, edge_node
from model.world import World

ROLE_ORDER = (
    "user",
    "vehicle",
    "level_one",
    "edge_twin",
    "infrastructure",
    "level_two",
    "cloud_twin",
)

_FLAT = {
    "n_users": "users.count",
    "scheme": "scenario.scheme",
    "speed_min_kmh": "users.speed_min_kmh",
    "speed_max_kmh": "users.speed_max_kmh",
    "duration_s": "scenario.duration_s",
}


def resolve_config(
    scenario: str | Path | ScenarioConfig, rng: int | None, flat: Mapping[str, Any]
) -> ScenarioConfig:
    """The scenario with flat keyword overrides (``n_users`` or ``section__key``) applied."""
    overrides: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        if key in _FLAT:
            overrides[_FLAT[key]] = value
        elif "__" in key:
            overrides[key.replace("__", ".", 1)] = value
        else:
            allowed = ", ".join([*_FLAT, "<section>__<key>"])
            raise ConfigError(f"{key}: unknown NetworkModel parameter; allowed: {allowed}")
    if rng is not None:
        if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
            raise ConfigError(f"rng: NetworkModel takes an integer seed, got {type(rng).__name__}")
        overrides["scenario.seed"] = int(rng)
    base = scenario if isinstance(scenario, ScenarioConfig) else load_scenario(scenario)
    return with_overrides(base, overrides) if overrides else base


class SlotCollector(mesa.DataCollector):
    """Mesa's DataCollector without a ``deepcopy`` per value.

    The model's reporters all return fresh Python scalars, so the copies Mesa takes protect
    nothing here, and at 100 users they cost more than the radio physics. Agent reporters, if
    ever added, fall back to Mesa's own ``collect``.
    """

    def collect(self, model: mesa.Model) -> None:
        if not self._validated or self.agent_reporters or self.agenttype_reporters:
            super().collect(model)
            return
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        for var, reporter in self.model_reporters.items():
            self.model_vars[var].append(reporter(model))


def low_percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear interpolation) by one partial sort, without its overhead."""
    n = len(x)
    if n == 0:
        return 0.0
    pos = q / 100.0 * (n - 1)
    lo = int(pos)
    hi = min(lo + 1, n - 1)
    part = np.partition(x, (lo, hi))
    return float(part[lo] + (pos - lo) * (part[hi] - part[lo]))


class NetworkModel(mesa.Model):
    """The simulated 6G / vehicular network with its digital agents and twins."""

    def __init__(
        self,
        scenario: str | Path | ScenarioConfig = "campus-video",
        *,
        rng: int | None = None,
        n_users: int | None = None,
        scheme: str | None = None,
        speed_min_kmh: float | None = None,
        speed_max_kmh: float | None = None,
        duration_s: float | None = None,
        **overrides: Any,
    ) -> None:
        flat = dict(
            n_users=n_users,
            scheme=scheme,
            speed_min_kmh=speed_min_kmh,
            speed_max_kmh=speed_max_kmh,
            duration_s=duration_s,
            **overrides,
        )
        cfg = resolve_config(scenario, rng, flat)
        super().__init__(rng=cfg.seed)
        self.cfg = cfg
        self.streams = RandomStreams(cfg.seed)
        self.slot_s = cfg.scenario.slot_s
        self.n_slots = cfg.n_slots
        self.world = World(cfg, self.streams)
        self.topology = Topology(
            self.world.bs_pos,
            self.world.edge_pos,
            self.world.cloud_pos,
            cfg.links,
            cfg.base_stations.kind,
        )
        self.ledger = ResourceLedger()
        self._registry: dict[int, NetAgent] = {}
        self._timers: list[tuple[float, int, int]] = []
        self._timer_seq = 0
        self.bus = MessageBus(self.topology.route, self._locate, self._registry.get)
        self._build_infrastructure()
        self._build_users()
        self.topology.set_rate_source(self._device_rate)
        self._report_every = max(1, int(round(cfg.users.report_period_s / self.slot_s)))
        self._user_every = max(1, int(round(cfg.output.user_period_s / self.slot_s)))
        self._report_phase = self.streams.get("report-phase").integers(
            0, self._report_every, size=self.world.n
        )
        self.user_snapshots: list[pd.DataFrame] = []
        self._handovers_slot = 0
        self._build_extensions()
        self._totals = self.bus.totals()
        self.datacollector = SlotCollector(model_reporters=self._model_reporters())
        self.datacollector.collect(self)

    # -- construction --------------------------------------------------------------------
    def _build_infrastructure(self) -> None:
        cfg = self.cfg
        self.cloud = Cloud(self, CLOUD, cfg.cloud.cpu_gcycles * 1e9, cfg.cloud.cache_gb * 1e9)
        self.edges = [
            EdgeServer(
                self,
                edge_node(i),
                i,
                cfg.edge.cpu_gcycles * 1e9,
                cfg.edge.cache_gb * 1e9,
                cfg.edge.sensing_units,
            )
            for i in range(len(self.world.edge_pos))
        ]
        kind = cfg.base_stations.kind
        self.cells = [
            BaseStation(
                self,
                bs_node(j, kind),
                j,
                cfg.base_stations.bandwidth_mhz * 1e6,
                cfg.base_stations.sensing_units,
            )
            for j in range(self.world.n_cells)
        ]

    def _build_users(self) -> None:
        w = self.world
        w.radio.update(w.pos, np.zeros(w.n))  # initial association before anyone reports
        self.user_manager = np.full(w.n, -1, dtype=np.int64)  # level-one DA per user (-1: none)
        self.users = [User(self, i) for i in range(w.n)]
        self.user_ids = np.array([u.unique_id for u in self.users], dtype=np.int64)
        self._user_nodes = np.array([u.node for u in self.users], dtype=object)
        self.cell_edge_ids = np.array(
            [self.edges[int(e)].unique_id for e in self.topology.cell_edge], dtype=np.int64
        )
        for user in self.users:
            self.topology.add_device(user.node, "ue", int(w.serving[user.index]))

    def _build_extensions(self) -> None:
        """Hook for services, digital agents and twins (added by ``model.extensions``)."""
        from model.extensions import build_extensions

        self.extensions = build_extensions(self)

    def register_agent(self, agent: mesa.Agent) -> None:
        super().register_agent(agent)
        if isinstance(agent, NetAgent):
            self._registry[agent.unique_id] = agent

    def deregister_agent(self, agent: mesa.Agent) -> None:
        super().deregister_agent(agent)
        self._registry.pop(agent.unique_id, None)

    # -- lookups used by agents and the bus ------------------------------------------------
    @property
    def now_s(self) -> float:
        """Network time in seconds."""
        return self.time * self.slot_s

    def _locate(self, agent_id: int) -> str | None:
        agent = self._registry.get(agent_id)
        return None if agent is None else agent.node

    def _device_rate(self, node: str) -> float:
        kind, idx = node.split(":")
        if kind == "ue":
            return float(self.world.rate_bps[int(idx)])
        return float("inf")

    def agent(self, agent_id: int) -> NetAgent | None:
        return self._registry.get(agent_id)

    def edge_agent_of_cell(self, cell: int) -> EdgeServer:
        return self.edges[int(self.topology.cell_edge[cell])]

    def wake(self, agent: NetAgent, at_s: float) -> None:
        """Ask for ``agent.act()`` at the first step whose time reaches ``at_s``."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (at_s, self._timer_seq, agent.unique_id))

    # -- the step --------------------------------------------------------------------------
    def step(self) -> None:
        self.world.step()
        if self.extensions:
            self.extensions.after_physics()
        self.world.measure_qos()
        self._apply_handovers()
        mail = self.bus.deliver_due(self.now_s)
        self._activate(mail)
        self._totals = self.bus.totals()
        self.datacollector.collect(self)
        if self.steps % self._user_every == 0:
            self._snapshot_users()
        if self.steps >= self.n_slots:
            self.running = False

    def _apply_handovers(self) -> None:
        moved = np.flatnonzero(self.world.radio.handover)
        self._handovers_slot = len(moved)
        if len(moved):
            self.topology.move_devices(
                self._user_nodes[moved].tolist(), self.world.serving[moved].tolist()
            )

    def _due_reporters(self) -> np.ndarray:
        return np.flatnonzero((self.steps + self._report_phase) % self._report_every == 0)

    def _activate(self, mail: list[NetAgent]) -> None:
        """Phase 3: users with a due report, then every agent with mail or a due timer, by role."""
        due = self._due_reporters()
        if due.size:
            window = self.world.take_window(due)
            extra = self.extensions.report_extras(due) if self.extensions else {}
            User.report_batch(self, due, window, extra)
        woken: dict[int, NetAgent] = {}
        while self._timers and self._timers[0][0] <= self.now_s + 1e-9:
            _, _, aid = heapq.heappop(self._timers)
            if aid in self._registry:
                woken[aid] = self._registry[aid]
        for agent in mail:
            woken[agent.unique_id] = agent
        by_role: dict[str, list[NetAgent]] = {}
        for agent in woken.values():
            by_role.setdefault(agent.role, []).append(agent)
        for role in ROLE_ORDER:
            for agent in sorted(by_role.get(role, ()), key=lambda a: a.unique_id):
                agent.act()

    # -- data ------------------------------------------------------------------------------
    def _model_reporters(self) -> dict[str, Any]:
        w = self.world
        reporters: dict[str, Any] = {
            "time_s": lambda m: m.now_s,
            "users": lambda m: m.world.n,
            "mean_sinr_db": lambda m: float(w.radio.sinr_db.sum()) / w.n if w.n else float("nan"),
            "mean_throughput_mbps": lambda m: (
                float(w.throughput_bps.sum()) / w.n / 1e6 if w.n else 0.0
            ),
            "p5_throughput_mbps": lambda m: low_percentile(w.throughput_bps, 5.0) / 1e6,
            "mean_delay_ms": lambda m: float(w.delay_ms.sum()) / w.n if w.n else 0.0,
            "handovers": lambda m: m._handovers_slot,
            "msgs_sent": lambda m: m._totals["sent"],
            "msgs_delivered": lambda m: m._totals["delivered"],
            "msgs_in_flight": lambda m: m._totals["in_flight"],
            "msgs_undeliverable": lambda m: m._totals["undeliverable"],
            "bytes_sent": lambda m: m._totals["bytes"],
        }
        for kind in Kind:
            reporters[f"sent_{kind.value}"] = lambda m, k=kind.value: m.bus.sent[k]
        if self.extensions:
            reporters.update(self.extensions.model_reporters())
        return reporters

    def _snapshot_users(self) -> None:
        if not self.cfg.output.record_users or self.world.n == 0:
            return
        w = self.world
        frame = {
            "time_s": np.full(w.n, self.now_s),
            "user": np.array([u.unique_id for u in self.users]),
            "x": w.pos[:, 0],
            "y": w.pos[:, 1],
            "cell": w.serving.copy(),
            "speed_mps": w.speed.copy(),
            "sinr_db": w.radio.sinr_db.copy(),
            "alloc_mhz": w.alloc_hz / 1e6,
            "throughput_mbps": w.throughput_bps / 1e6,
            "delay_ms": w.delay_ms.copy(),
        }
        if self.extensions:
            frame.update(self.extensions.user_columns())
        self.user_snapshots.append(pd.DataFrame(frame))

    def users_frame(self) -> pd.DataFrame:
        """All per-user snapshots as one table."""
        if not self.user_snapshots:
            return pd.DataFrame()
        return pd.concat(self.user_snapshots, ignore_index=True)
