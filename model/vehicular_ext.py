"""Vehicle clusters (PLVNs) with edge and cloud digital twins on the highway (seed 003, III-IV).

The extension of the ``cav`` service (``model.extensions``). It owns the physical side of the
PLVNs as arrays over all clusters (struct of arrays, DESIGN.md step phase 1) and creates the
agents of the digital side:

* **physics, every slot** (:meth:`VehicularExtension.after_physics`): clusters move along the
  highway (:class:`model.mobility.Mobility`, stream ``plvn-mobility``) and attach to their
  nearest RSU (``veh:c`` moved with ``topology.move_device``); time of day, road type and HDV
  counts evolve and set each cluster's radio mean mu (:mod:`policies.twins.twin_plvn`, stream
  ``plvn-traffic``); the CAV pairs of every cluster decide SP/CP with the cluster's current
  individual model (one batched forward pass of the stacked actor parameters, Gaussian samples
  from torch stream ``plvn-policy``; all-SP, the default mode, before the first model arrives)
  and one slot of :func:`policies.rl.cav_env.cav_slot` runs for all clusters at once (stream
  ``plvn-perception``; the episode counter wraps every K slots, the state carries on).
  Rewards, states and actions are recorded for the clusters' reports.
* **agents**: one :class:`~agents.vehicles.VehicleCluster` per cluster, its
  :class:`~agents.twins.EdgeTwin` on the edge server of its RSU, one
  :class:`~agents.twins.CloudTwin` on the cloud node. The super model is a freshly initialised
  PPO actor-critic (torch stream ``twin-architecture``): the offline planning stage is not run.

Outputs: per-slot reporters (``meta_reward`` = mean per-slot reward over clusters,
``migrations``, ``meta_rounds``, ``cache_hit_ratio``, ``categories``, ``retrainings``...), the
``twins`` table (one row per lifecycle event), the ``plvns`` table (per-cluster snapshots every
``plvn.snapshot_period_s``), the ``meta_rounds`` table (one row per closed round) and summary
entries (event counts and headline numbers).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.func import functional_call

from agents.twins import CloudTwin, EdgeTwin
from agents.vehicles import VehicleCluster
from model.mobility import Mobility
from model.topology import edge_node
from model.twin_log import SlotRecord, TwinLog
from policies.rl.cav_env import FEATURES_PER_PAIR, cav_slot, initial_state, observe
from policies.rl.ppo import make_policy
from policies.rl.ppo_net import gaussian_log_prob, params_of
from policies.twins import twin_plvn as dyn
from policies.twins.attributes import key_str
from policies.twins.emulator import model_error
from policies.twins.twin_cloud import CloudTwinCore
from policies.twins.twin_edge import EdgeTwinCore, TwinSettings
from policies.twins.twin_learning import actor_params
from policies.twins.twin_payloads import Params, Trajectory, TwinReport


class VehicularExtension:
    """Physics of the vehicle clusters and the twins that serve them."""

    def __init__(self, model: Any) -> None:
        cfg = model.cfg
        self.model = model
        self.p: dyn.PlvnParams = cfg.plvn
        self.ops = cfg.twin_ops
        self.veh = cfg.vehicles
        self.cav = replace(cfg.cav, n_pairs=self.veh.cav_pairs, n_hdv=self.veh.hdvs)
        if cfg.meta.init == "transfer":
            raise ValueError("meta.init='transfer' needs a named source task: only "
                             "'twinslice reproduce fig6' runs one (use scratch or meta here)")
        # The world's dynamics (the twins see them only through reports); plvn.drift_* switch
        # them once at plvn.drift_at_s.
        self.world_cav = self.cav
        self.drifted = False
        self.n = self.veh.clusters
        self.log = TwinLog()
        self._build_fleet(model)
        self._build_policies(model)
        self._build_agents(model)

    # -- construction --------------------------------------------------------------------
    def _build_fleet(self, model: Any) -> None:
        w, streams = model.world, model.streams
        self.mobility = Mobility(
            w.roads,
            self.n,
            self.veh.speed_min_kmh,
            self.veh.speed_max_kmh,
            streams.get("plvn-mobility"),
        )
        self.rsu_x = w.bs_pos[:, 0]
        self.x = self.mobility.positions[:, 0]
        self.rsu = dyn.nearest_rsu(self.x, self.rsu_x)
        self.traffic_rng = streams.get("plvn-traffic")
        self.hour = dyn.hour_of_day(0.0, self.p)
        self.urban = dyn.urban_mask(self.x, self.p)
        target = dyn.hdv_targets(self.veh.hdvs, self.urban, self.hour, self.p)
        self.hdvs = dyn.initial_hdvs(target, self.traffic_rng)
        self._update_radio()
        self.perception_rng = streams.get("plvn-perception")
        self.state = initial_state(self._mu_pattern(), self.cav, self.perception_rng)
        for c in range(self.n):
            model.topology.add_device(f"veh:{c}", "vehicle", int(self.rsu[c]))
        self.plvn_handovers = 0
        self.slot = 0
        self._records: list[SlotRecord] = []
        self._records_start = 0
        self._reported = np.zeros(self.n, dtype=np.int64)
        self.last_reward = np.zeros(self.n)
        self.last_cp = 0.0
        self.reward_history: list[float] = []
        self.snapshots: list[dict[str, Any]] = []
        self._snapshot_every = max(1, int(round(self.p.snapshot_period_s / model.slot_s)))

    def _build_policies(self, model: Any) -> None:
        obs_dim = self.cav.n_pairs * FEATURES_PER_PAIR
        self.module = make_policy(
            obs_dim,
            self.cav.n_pairs,
            model.cfg.ppo,
            model.streams.torch_generator(
                "twin-architecture", threads=model.cfg.scenario.torch_threads
            ),
        )
        self.super_params: Params = params_of(self.module)
        self.policy = {
            k: torch.zeros((self.n, *v.shape)) for k, v in actor_params(self.super_params).items()
        }
        self.version = np.full(self.n, -1, dtype=np.int64)
        self.policy_gen = model.streams.torch_generator("plvn-policy")
        self.threshold = model.cfg.ppo.action_threshold

    def _build_agents(self, model: Any) -> None:
        cfg, streams = model.cfg, model.streams
        cloud_core = CloudTwinCore(
            self.module, self.super_params, cfg.twins, cfg.meta, self.ops, streams.get("cloud-twin")
        )
        self.cloud = CloudTwin(model, cloud_core, self.ops, self.log)
        settings = TwinSettings(cfg.twins, cfg.meta, self.ops, self.cav, cfg.ppo)
        period = max(1, int(round(self.ops.report_period_s / model.slot_s)))
        phase = streams.get("plvn-report-phase").integers(1, period + 1, size=self.n)
        self.clusters: list[VehicleCluster] = []
        self.twins: list[EdgeTwin] = []
        for c in range(self.n):
            cluster = VehicleCluster(model, c, self, float(phase[c]) * model.slot_s)
            core = EdgeTwinCore(
                c,
                self.module,
                settings,
                streams.get(f"edge-twin-{c}"),
                streams.torch_generator(f"edge-twin-{c}"),
            )
            node = edge_node(int(model.topology.cell_edge[self.rsu[c]]))
            twin = EdgeTwin(model, c, node, core, cluster.unique_id, self.cloud.unique_id, self.log)
            cluster.twin_id = twin.unique_id
            self.clusters.append(cluster)
            self.twins.append(twin)

    # -- the slot ------------------------------------------------------------------------
    def after_physics(self) -> None:
        """Move clusters, evolve their traffic and radio, run one perception slot."""
        dt = self.model.slot_s
        self._move(dt)
        self.hour = dyn.hour_of_day(self.model.now_s, self.p)
        if not self.drifted and dyn.drift_active(self.model.now_s, self.p):
            self.drifted = True
            self.world_cav = dyn.drifted_cav(self.cav, self.p)
        self.urban = dyn.urban_mask(self.x, self.p)
        target = dyn.hdv_targets(self.veh.hdvs, self.urban, self.hour, self.p)
        self.hdvs = dyn.hdv_step(self.hdvs, target, dt, self.p, self.traffic_rng)
        self._update_radio()
        self._perceive()
        if self.slot % self._snapshot_every == 0:
            self._snapshot()

    def _move(self, dt: float) -> None:
        self.mobility.step(dt)
        self.x = self.mobility.positions[:, 0]
        rsu = dyn.nearest_rsu(self.x, self.rsu_x)
        for c in np.flatnonzero(rsu != self.rsu):
            self.model.topology.move_device(f"veh:{c}", int(rsu[c]))
            self.plvn_handovers += 1
        self.rsu = rsu

    def _update_radio(self) -> None:
        self.vehicles = dyn.vehicle_counts(self.cav.n_pairs, self.hdvs)
        self.mu = dyn.radio_mean_mhz(
            self.hdvs, self.rsu, self.vehicles, self.cav.bandwidth_levels_mhz, self.p
        )
        if getattr(self, "drifted", False) and self.p.drift_kind == "radio":
            self.mu = self.mu + self.p.drift_mu_offset_mhz

    def _mu_pattern(self) -> np.ndarray:
        return np.repeat(self.mu[:, None], self.cav.slots_per_episode, axis=1)

    @torch.no_grad()
    def _decide(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SP/CP of every pair, Gaussian samples and their log-probabilities (NaN: no model)."""
        n, pairs = self.n, self.cav.n_pairs
        has = self.version >= 0
        if not has.any():
            return (
                np.zeros((n, pairs), bool),
                np.full((n, pairs), np.nan, np.float32),
                np.full(n, np.nan, np.float32),
            )
        obs = torch.from_numpy(observe(self.state, self.cav)).unsqueeze(1)
        mean, log_std, _ = functional_call(self.module, self.policy, (obs,))
        x = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=self.policy_gen)
        logp = gaussian_log_prob(x, mean, log_std)[:, 0].numpy()
        x = x[:, 0].numpy()
        cp = (x > self.threshold) & has[:, None]
        return (
            cp,
            np.where(has[:, None], x, np.nan).astype(np.float32),
            np.where(has, logp, np.nan).astype(np.float32),
        )

    def _perceive(self) -> None:
        state = replace(self.state, mu_mhz=self._mu_pattern())
        cp, x, logp = self._decide()
        reward, nxt, info = cav_slot(state, cp, self.world_cav, self.perception_rng)
        if nxt.slot >= self.cav.slots_per_episode:
            nxt = replace(nxt, slot=0)  # a new episode of the continuing PLVN
        self._records.append(
            SlotRecord(
                state.bandwidth_mhz.copy(),
                state.object_level.copy(),
                state.distance_level.copy(),
                state.prev_mode.copy(),
                x,
                logp,
                reward.copy(),
                self.version.copy(),
                self.vehicles.copy(),
            )
        )
        self.state = nxt
        self.slot += 1
        self.last_reward = reward
        self.last_cp = float(info.effective_mode.mean())
        self.reward_history.append(float(reward.mean()))

    # -- called by the cluster agents ----------------------------------------------------
    def install_policy(self, c: int, params: Params, version: int) -> None:
        """Cluster ``c`` decides with this individual model from the next slot on."""
        for name, stacked in self.policy.items():
            stacked[c] = params[name]
        self.version[c] = version

    def take_report(self, c: int, now_s: float) -> TwinReport:
        """Cluster ``c``'s report: its attributes now and its slots since its last report."""
        recs = self._records[int(self._reported[c] - self._records_start) :]
        self._reported[c] = self.slot
        traj = self._trajectory(c, recs)
        drop = int(self._reported.min() - self._records_start)
        del self._records[:drop]
        self._records_start += drop
        vehicles = (
            float(np.mean([r.vehicles[c] for r in recs])) if recs else float(self.vehicles[c])
        )
        return TwinReport(
            c,
            now_s,
            int(self.rsu[c]),
            float(self.x[c]),
            self.hour,
            self.p.city,
            dyn.road_labels(self.urban[c : c + 1])[0],
            int(self.hdvs[c]),
            vehicles,
            traj,
        )

    def _trajectory(self, c: int, recs: list[SlotRecord]) -> Trajectory:
        pairs = self.cav.n_pairs

        def col(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
            if not recs:
                return np.zeros((0, *shape), dtype=dtype)
            return np.stack([getattr(r, name)[c] for r in recs]).astype(dtype)

        s = self.state
        return Trajectory(
            col("bandwidth", (), np.float64),
            col("objects", (pairs,), np.int64),
            col("distances", (pairs,), np.int64),
            col("prev_mode", (pairs,), bool),
            col("action", (pairs,), np.float32),
            col("logprob", (), np.float32),
            col("reward", (), np.float64),
            col("version", (), np.int64),
            float(s.bandwidth_mhz[c]),
            s.object_level[c].copy(),
            s.distance_level[c].copy(),
            s.prev_mode[c].copy(),
        )

    # -- outputs ---------------------------------------------------------------------------
    def _snapshot(self) -> None:
        now = self.model.now_s
        roads = dyn.road_labels(self.urban)
        for c, twin in enumerate(self.twins):
            _, mu_hat, sigma_hat, _ = twin.core._radio_model()
            err = model_error(twin.core.emulator, self.world_cav, mu_hat, sigma_hat,
                              np.full(len(mu_hat), float(self.mu[c])))
            self.snapshots.append(
                {
                    "time_s": now,
                    "plvn": c,
                    "x_m": float(self.x[c]),
                    "rsu": int(self.rsu[c]),
                    "twin_node": twin.node,
                    "road_type": roads[c],
                    "hour": self.hour,
                    "hdvs": int(self.hdvs[c]),
                    "mu_mhz": float(self.mu[c]),
                    "reward": float(self.last_reward[c]),
                    "model_version": int(self.version[c]),
                    "category": "" if twin.core.path is None else key_str(twin.core.path),
                    # the twin's emulation model against the world (outputs only)
                    **{f"emulator_{k}": v for k, v in err.items()},
                    "emulator_drifts": twin.core.emulator_drifts,
                }
            )

    def _cache_totals(self) -> tuple[int, int, int]:
        caches = [t.core.cache for t in self.twins]
        return (
            sum(c.hits for c in caches),
            sum(c.misses for c in caches),
            sum(c.evictions for c in caches),
        )

    def cache_hit_ratio(self) -> float:
        hits, misses, _ = self._cache_totals()
        return hits / (hits + misses) if hits + misses else 0.0

    def categories(self) -> int:
        """Distinct categories occupied by PLVNs, as the cloud twin knows them."""
        reg = self.cloud.core.registry
        return len({reg.path_of(c) for c in range(self.n) if c in reg})

    def model_reporters(self) -> dict[str, Any]:
        core = self.cloud.core
        return {
            "meta_reward": lambda m: float(np.mean(self.last_reward)),
            "cp_fraction": lambda m: self.last_cp,
            "plvns_with_model": lambda m: int((self.version >= 0).sum()),
            "migrations": lambda m: sum(t.migrations for t in self.twins),
            "meta_rounds": lambda m: core.rounds_closed,
            "late_updates": lambda m: core.late_updates,
            "cache_hit_ratio": lambda m: self.cache_hit_ratio(),
            "categories": lambda m: self.categories(),
            "meta_models": lambda m: len(core.tree.available_keys()),
            "retrainings": lambda m: sum(t.core.retrainings for t in self.twins),
            "emulator_drifts": lambda m: sum(t.core.emulator_drifts for t in self.twins),
        }

    def summary(self) -> dict[str, Any]:
        core = self.cloud.core
        hits, misses, evictions = self._cache_totals()
        rewards = np.asarray(self.reward_history)
        quarter = max(1, len(rewards) // 4)
        seen = sorted({row[4] for row in self.log.rows if row[3] == "category_change"})
        return {
            "twin_events": dict(sorted(self.log.counts.items())),
            "plvn_handovers": self.plvn_handovers,
            "migrations": sum(t.migrations for t in self.twins),
            "meta_rounds": core.rounds_closed,
            "meta_round_timeouts": core.timeouts,
            "late_updates": core.late_updates,
            "cache_hits": hits,
            "cache_misses": misses,
            "cache_evictions": evictions,
            "cache_hit_ratio": self.cache_hit_ratio(),
            "retrainings": sum(t.core.retrainings for t in self.twins),
            "emulator_drifts": sum(t.core.emulator_drifts for t in self.twins),
            "world_drift": self.p.drift_kind if self.drifted else "none",
            "mean_meta_reward": float(rewards.mean()) if rewards.size else None,
            "meta_reward_first_quarter": float(rewards[:quarter].mean()) if rewards.size else None,
            "meta_reward_last_quarter": float(rewards[-quarter:].mean()) if rewards.size else None,
            "categories_seen": seen,
            "meta_models": {key_str(k): v for k, v in core.catalogue()},
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "twins": self.log.frame(),
            "plvns": pd.DataFrame(self.snapshots),
            "meta_rounds": pd.DataFrame(self.cloud.core.round_log),
        }

    def report_extras(self, due: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def user_columns(self) -> dict[str, np.ndarray]:
        return {}

    def write_files(self, folder: Path) -> None:
        return None
