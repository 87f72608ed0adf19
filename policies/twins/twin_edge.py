"""The edge digital twin's decision logic, free of Mesa (seed 003, Sec. III.B, III.C.2, Fig. 5b).

An edge twin is "a digital copy of a PLVN" with the PLVN's ID. :class:`EdgeTwinCore` holds what
the twin knows — only what reached it in messages — and turns each incoming message into the
messages to send (:class:`Outgoing`) plus lifecycle events (:class:`TwinEvent`):

* a PLVN report updates the data buffer and the emulation model, derives the attributes and
  the category (Sec. III.A); a new category is sent to the cloud twin and, by the transfer
  rule of Sec. III.C.2 (:func:`policies.twins.drift.transfer_decision`), retrains the
  individual model from a cached meta model or fetches one;
* a meta model ("serve") is cached (:class:`~policies.twins.cache.MetaModelCache`) and starts
  the online adaptation (Fig. 5b): ``online_adaptation_steps`` steps, each on hybrid data — the
  PLVN's true transitions under the previous step's model plus synthetic ones emulated here —
  each followed by a dispatch of the model to the PLVN;
* after training, the regret of the PLVN's decisions is monitored; a remarkable rise
  (:class:`~policies.twins.drift.LossRiseDetector`) triggers retraining (Sec. II);
* a meta model with purpose "train" (Fig. 5a) is evaluated on emulated data and answered with
  the meta update;
* the emulation model is the twin's own (:class:`~policies.twins.emulator.EmulatorEstimate`):
  estimated from the reports, tested against every new report; a drift restarts the estimate
  and retrains the individual model from a re-fetched meta model (Sec. III.C.2).

How an individual model starts is ``meta.init`` (seed Fig. 6): ``meta`` fetches the
least-general meta model (above), ``scratch`` starts from a fresh network drawn from the twin's
own torch stream, ``transfer`` asks the edge twin of task ``meta.transfer_source`` for its
individual model (a ``transfer_request`` answered by a ``meta_model`` with purpose
"transfer").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from policies.meta import MetaParams
from policies.rl.cav_params import CavParams
from policies.rl.ppo import PPOParams, PPOTrainer, RolloutBatch, make_policy
from policies.rl.ppo_net import params_of, stack_params, unstack_params
from policies.twins.attributes import ROOT, CategoryKey, PLVNAttributes, category_path, key_str
from policies.twins.cache import MetaModelCache
from policies.twins.drift import LossRiseDetector, transfer_decision
from policies.twins.emulator import DriftScore, EmulatorEstimate
from policies.twins.params import TwinParams
from policies.twins.twin_learning import (
    actor_params,
    detached,
    emulated_batch,
    mean_regret,
    merge_batches,
    meta_task_update,
    stacked_batch,
    true_batch,
)
from policies.twins.twin_params import INMF, TwinOpsParams
from policies.twins.twin_payloads import (
    AttributeReport,
    MetaUpdate,
    ModelRequest,
    ModelShipment,
    Params,
    Trajectory,
    TransferRequest,
    TwinReport,
    tensor_bytes,
)

SMALL_MESSAGE_BYTES = 256


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to send: to the cloud twin, the PLVN or another edge twin, after ``work_cycles``.

    ``to="twin"`` addresses the edge twin of PLVN ``dest`` (a ``transfer`` answer) or of the
    task named in a :class:`TransferRequest` (``transfer_request``).
    """

    to: str  # "cloud" | "plvn" | "twin"
    kind: str  # "attributes" | "model_request" | "meta_update" | "individual" | "transfer..."
    payload: object
    size_bytes: int
    work_cycles: float = 0.0
    dest: int | None = None


@dataclass(frozen=True, slots=True)
class TwinEvent:
    """One lifecycle event for the twins table."""

    event: str
    category: CategoryKey | None
    details: str


@dataclass(frozen=True, slots=True)
class TwinSettings:
    """The configuration sections an edge twin reads."""

    twins: TwinParams
    meta: MetaParams
    ops: TwinOpsParams
    cav: CavParams
    ppo: PPOParams


@dataclass(slots=True)
class Adaptation:
    """An online adaptation in progress (seed Fig. 5b)."""

    base: CategoryKey
    steps: int
    trainer: PPOTrainer
    step: int = 0


def derive_attributes(report: TwinReport, cav: CavParams) -> PLVNAttributes:
    """Network-level attributes of a PLVN from one report (seed Sec. III.A)."""
    traj = report.trajectory
    objects = np.asarray(cav.object_levels, dtype=float)[traj.object_level]
    return PLVNAttributes(
        hour=report.hour, city=report.city, road_type=report.road_type,
        vehicle_count=report.vehicle_count,
        average_workload=float(objects.mean()) if objects.size else None,
        average_resources=float(traj.bandwidth_mhz.mean()) if len(traj) else None)


class EdgeTwinCore:
    """Everything an edge twin knows and decides, as message handlers."""

    def __init__(self, plvn: int, module: nn.Module, settings: TwinSettings,
                 rng: np.random.Generator, gen: torch.Generator, individual: bool = True) -> None:
        """``individual=False``: a twin that only takes part in meta training (its PLVN is a
        task of the offline planning stage) and never customises a model for its PLVN."""
        self.plvn = plvn
        self.module = module
        self.s = settings
        self.rng, self.gen = rng, gen
        self.serves_plvn = individual
        ops = settings.ops
        self.emulator = EmulatorEstimate(settings.cav, ops.prior_count, ops.prior_sigma_mhz,
                                         ops.emulator_min_samples, ops.emulator_drift_z)
        self.slots: deque[int] = deque(maxlen=ops.buffer_slots)
        self.episode_slots = 0  # K of the PLVN, as seen in its reports (0: unknown)
        self.last_score: DriftScore | None = None
        self.emulator_drifts = 0
        self.pending_transfer = False
        self.cache = MetaModelCache.from_params(settings.twins)
        self.catalogue: dict[CategoryKey, int] = {ROOT: 0}  # the super model always exists
        self.path: CategoryKey | None = None
        self.attributes: PLVNAttributes | None = None
        self.buffer: deque[Trajectory] = deque()
        self.radio: deque[float] = deque(maxlen=settings.ops.buffer_slots)
        self.individual: Params | None = None
        self.version = 0
        self.base_key: CategoryKey | None = None
        self.adaptation: Adaptation | None = None
        self.pending_fetch: CategoryKey | None = None
        self.monitor = LossRiseDetector(settings.ops.monitor_window, settings.ops.monitor_threshold)
        self.monitoring = False
        self.retrainings = 0
        self.events: list[TwinEvent] = []

    # -- message handlers ------------------------------------------------------------------
    def on_report(self, report: TwinReport) -> list[Outgoing]:
        """A PLVN report: store data, re-categorise, advance adaptation or monitor."""
        drift = self._learn_emulator(report.trajectory)
        self._store(report.trajectory)
        self.attributes = derive_attributes(report, self.s.cav)
        path = category_path(self.attributes, self.s.twins)
        if path != self.path:
            old, self.path = self.path, path
            self._event("category_change", path, f"from {_name(old)}")
            rep = AttributeReport(self.plvn, path, self.attributes)
            out = [Outgoing("cloud", "attributes", rep, SMALL_MESSAGE_BYTES)]
            if old is None or self.s.ops.retrain_on_category_change:
                return out + self._retrain(old, "category change")
            return out
        if drift and self.s.ops.retrain_on_emulator_drift and self.individual is not None:
            return self._retrain(self.path, "emulation model drift", refetch=True)
        if self.adaptation is not None:
            return self._continue_adaptation(report.trajectory)
        if self.monitoring:
            return self._monitor(report.trajectory)
        return []

    def on_shipment(self, ship: ModelShipment) -> list[Outgoing]:
        """A meta model from the cloud twin: for meta training, or to serve this PLVN."""
        self.catalogue.update(dict(ship.catalogue))
        if ship.purpose == "train":
            return self._meta_task(ship)
        if ship.purpose == "transfer":
            if not self.pending_transfer:
                return []
            self.pending_transfer = False
            self._event("transfer_received", ship.key, f"individual model v{ship.version} of "
                        f"{self.s.meta.transfer_source}, {tensor_bytes(ship.params)} B")
            return self._start_adaptation(ROOT, ship.params)
        return self._serve(ship)

    def on_transfer_request(self, req: TransferRequest) -> list[Outgoing]:
        """Another twin asks for this twin's individual model (PPO-TL's source task)."""
        if self.individual is None:
            self._event("transfer_refused", self.path, f"no individual model for PLVN {req.plvn}")
            return []
        ship = ModelShipment("transfer", self.base_key or ROOT, self.version,
                             detached(self.individual))
        return [Outgoing("twin", "transfer", ship, tensor_bytes(ship.params), dest=req.plvn)]

    def drain_events(self) -> list[TwinEvent]:
        """Events since the last call."""
        events, self.events = self.events, []
        return events

    def state_nbytes(self) -> int:
        """Size of the twin's state (data, models, cache) when it migrates."""
        models = tensor_bytes(self.individual) if self.individual is not None else 0
        data = sum(t.nbytes for t in self.buffer) + 8 * len(self.radio)
        return SMALL_MESSAGE_BYTES + models + self.cache.nbytes + data

    # -- retraining and the transfer rule (Sec. III.C.2) -------------------------------------
    def _retrain(self, old: CategoryKey | None, reason: str,
                 refetch: bool = False) -> list[Outgoing]:
        assert self.path is not None
        if not self.serves_plvn:
            return []
        self.adaptation, self.monitoring, self.pending_fetch = None, False, None
        self.pending_transfer = False
        self.retrainings += 1
        init = self.s.meta.init
        if init == "scratch":
            self._event("transfer", self.path, f"scratch ({reason}): a fresh network")
            return self._start_adaptation(ROOT, self._fresh_params())
        if init == "transfer":
            self._event("transfer", self.path, f"transfer ({reason}): ask the twin of "
                        f"{self.s.meta.transfer_source}")
            self.pending_transfer = True
            req = TransferRequest(self.plvn, self.s.meta.transfer_source)
            return [Outgoing("twin", "transfer_request", req, SMALL_MESSAGE_BYTES)]
        if refetch:  # the cached copy was adapted to a world that no longer exists
            for key in list(self.cache.eviction_order()):
                self.cache.remove(key)
        cached = self._fresh_cached()
        d = transfer_decision(old, self.path, set(self.catalogue), cached,
                              self.s.twins.unknown_category_fallback)
        self._event("transfer", self.path, f"{d.decision.value} ({reason}): {d.reason}")
        out: list[Outgoing] = []
        if d.request_training or d.fetch:
            want = d.model_key if d.fetch else None
            out.append(Outgoing("cloud", "model_request",
                                ModelRequest(self.plvn, self.path, want, d.request_training),
                                SMALL_MESSAGE_BYTES))
        if d.fetch:
            self.cache.remove((INMF, d.model_key))  # stale copy, if any
            self.cache.get((INMF, d.model_key))  # counts the miss
            self._event("cache_miss", d.model_key, "fetch from the cloud twin")
            self.pending_fetch = d.model_key
            return out
        payload = self.cache.get((INMF, d.model_key))
        entry = self.cache.peek((INMF, d.model_key))
        assert payload is not None and entry is not None
        self._event("cache_hit", d.model_key, f"v{entry.version}")
        return out + self._start_adaptation(d.model_key, payload)  # type: ignore[arg-type]

    def _fresh_cached(self) -> set[CategoryKey]:
        """Cached categories not too many versions behind the cloud twin's catalogue."""
        lag = self.s.ops.refresh_after_versions
        out = set()
        for key in self.cache.eviction_order():
            entry = self.cache.peek(key)
            category: CategoryKey = key[1]  # type: ignore[index]
            assert entry is not None
            if not lag or self.catalogue.get(category, 0) - entry.version < lag:
                out.add(category)
        return out

    def _serve(self, ship: ModelShipment) -> list[Outgoing]:
        evicted = self.cache.put((INMF, ship.key), ship.params, tensor_bytes(ship.params),
                                 ship.version)
        self._event("fetch", ship.key, f"v{ship.version}, {tensor_bytes(ship.params)} B")
        for key in evicted:
            self._event("cache_evict", key[1], f"{self.s.twins.cache_policy} victim")  # type: ignore[index]
        if self.path is None:
            return []
        deeper = (self.base_key is not None and len(ship.key) > len(self.base_key)
                  and self.path[: len(ship.key)] == ship.key)
        if self.pending_fetch is None and not deeper:
            return []
        if self.pending_fetch is None and self.adaptation is not None:
            self._event("push_cached", ship.key, "adaptation in progress: kept for the next "
                        "retraining")
            return []
        if self.pending_fetch is None:
            self.retrainings += 1
            self._event("transfer", self.path, f"pushed model of {key_str(ship.key)} is less "
                        "general: retrain from it")
        self.pending_fetch = None
        return self._start_adaptation(ship.key, ship.params)

    def _fresh_params(self) -> Params:
        """A freshly initialised actor-critic from the twin's own torch stream."""
        cav = self.s.cav
        net = make_policy(cav.n_pairs * 6, cav.n_pairs, self.s.ppo, self.gen)
        return {k: v.detach() for k, v in params_of(net).items()}

    # -- online adaptation with hybrid data (Fig. 5b) ----------------------------------------
    def _start_adaptation(self, key: CategoryKey, params: Params) -> list[Outgoing]:
        trainer = PPOTrainer(self.module, stack_params([detached(params)]), self.s.ppo, self.gen)
        self.adaptation = Adaptation(key, self.s.meta.online_adaptation_steps, trainer)
        self.base_key, self.monitoring = key, False
        self._event("adaptation_start", key, f"{self.adaptation.steps} steps")
        if self.adaptation.steps == 0:
            self.adaptation = None
            self.monitoring = True
            self.monitor.reset()
            return [self._dispatch(detached(params), 0.0)]
        return self._adapt_step(None)

    def _continue_adaptation(self, traj: Trajectory) -> list[Outgoing]:
        assert self.individual is not None
        batch = true_batch(self.module, self.individual, traj, self.version, self.s.cav, self.s.ppo)
        if batch is None or len(batch) < self.s.ops.min_true_slots:
            return []  # the PLVN has not used the latest model yet
        return self._adapt_step(batch)

    def _adapt_step(self, true: RolloutBatch | None) -> list[Outgoing]:
        """One online adaptation step: hybrid data, then synthetic-only PPO epochs, dispatch."""
        ad = self.adaptation
        assert ad is not None
        n_true = 0 if true is None else len(true)
        if true is None and not self.s.ops.hybrid_data:
            # nothing to learn from yet: dispatch the starting model so the PLVN collects data
            return [self._dispatch(unstack_params(ad.trainer.snapshot(), 0), 0.0)]
        trained, returns = 0, []
        for epoch in range(self.s.ops.epochs_per_step):
            if self.s.ops.hybrid_data:
                synthetic, ret = self._emulate(unstack_params(ad.trainer.snapshot(), 0))
                batch = synthetic if true is None or epoch else merge_batches([true, synthetic])
                returns.append(ret)
            else:
                assert true is not None
                batch = true
            ad.trainer.update(stacked_batch(batch))
            trained += len(batch)
        ad.step += 1
        ret_txt = f"{np.mean(returns):.2f}" if returns else "n/a"
        self._event("adaptation", ad.base, f"step {ad.step}/{ad.steps}: {n_true} true + "
                    f"{trained - n_true} synthetic transitions, emulated return {ret_txt}")
        work = trained * (1 + self.s.ppo.update_epochs) * self.s.ops.cycles_per_transition
        out = self._dispatch(unstack_params(ad.trainer.snapshot(), 0), work)
        if ad.step >= ad.steps:
            self.adaptation = None
            self.monitoring = True
            self.monitor.reset()
            self._event("model_trained", ad.base, f"individual model v{self.version}")
        return [out]

    def _emulate(self, params: Params) -> tuple[RolloutBatch, float]:
        """Synthetic trajectories from the emulation model (seed III.B)."""
        cav_em, mu = self.emulation_model()
        return emulated_batch(self.module, params, cav_em, mu, self.s.ops.emulation_episodes,
                              self.s.ppo, self.rng, self.gen)

    def _dispatch(self, params: Params, work: float) -> Outgoing:
        """Send the current individual model to the PLVN (the old one is dropped)."""
        self.version += 1
        self.individual = params
        actor = actor_params(params)
        ship = ModelShipment("individual", self.base_key or ROOT, self.version, actor)
        return Outgoing("plvn", "individual", ship, tensor_bytes(actor), work)

    def _monitor(self, traj: Trajectory) -> list[Outgoing]:
        regret = mean_regret(traj, self.version, self.s.cav)
        if regret is None:
            return []
        if self.monitor.update(regret + self.s.ops.regret_floor):
            self._event("drift_signal", self.path, f"regret rose {self.monitor.relative_rise():.0%}"
                        " over its baseline: retrain")
            return self._retrain(self.path, "performance drop")
        return []

    # -- meta training participation (Fig. 5a) ----------------------------------------------
    def _meta_task(self, ship: ModelShipment) -> list[Outgoing]:
        cav_em, mu = self.emulation_model()
        sizes: list[int] = []

        def sample(params: Params) -> RolloutBatch:
            batch, _ = emulated_batch(self.module, params, cav_em, mu,
                                      self.s.ops.emulation_episodes, self.s.ppo, self.rng,
                                      self.gen)
            sizes.append(len(batch))
            return batch

        update, loss = meta_task_update(self.module, ship.params, self.s.meta, sample, self.s.ppo)
        self._event("meta_task", ship.key, f"round {ship.round_id}: adaptation loss {loss:.4f}")
        work = 2 * sum(sizes) * self.s.ops.cycles_per_transition
        msg = MetaUpdate(ship.round_id, self.plvn, ship.key, update, loss)
        return [Outgoing("cloud", "meta_update", msg, tensor_bytes(update), work)]

    # -- data ------------------------------------------------------------------------------
    def _store(self, traj: Trajectory) -> None:
        self.buffer.append(traj)
        self.radio.extend(traj.bandwidth_mhz.tolist())
        if traj.slot is not None:
            self.slots.extend(traj.slot.tolist())
            self.episode_slots = max(self.episode_slots, int(traj.slot.max()) + 1)
        else:
            self.slots.clear()
        while sum(len(t) for t in self.buffer) > self.s.ops.buffer_slots and len(self.buffer) > 1:
            self.buffer.popleft()

    def _learn_emulator(self, traj: Trajectory) -> bool:
        """Score a report under the emulation model, then learn from it; True on a drift."""
        _, mu, _, sd = self._radio_model()
        score = self.emulator.score(traj, mu, sd)
        self.last_score = score
        drift = self.emulator.drifted(score)
        if drift:
            assert score is not None
            part, z = score.worst()
            self.emulator_drifts += 1
            self._event("emulator_drift", self.path, f"{part} z={z:.1f} > "
                        f"{self.s.ops.emulator_drift_z:g}: the estimate restarts")
            self.emulator.reset()
            self.radio.clear()
            self.slots.clear()
            self.buffer.clear()
        self.emulator.learn(traj)
        return drift

    def _radio_model(self) -> tuple[int, np.ndarray, float, np.ndarray]:
        """(horizon, mu(0..horizon-1), sigma, predictive sd per k): the radio model."""
        horizon = self.episode_slots or self.s.ops.emulation_slots
        slots = list(self.slots) if self.slots and len(self.slots) == len(self.radio) else None
        if slots is None:
            horizon = self.s.ops.emulation_slots
        mu, sigma, sd = self.emulator.radio(list(self.radio), slots, horizon)
        return horizon, mu, sigma, sd

    def emulation_model(self) -> tuple[CavParams, np.ndarray]:
        """The twin's emulation model: its CAV parameters and mu(0..emulation_slots-1).

        Built from the reports only (:mod:`policies.twins.emulator`); the physics constants are
        the twin's expert knowledge (its configured ``[cav]`` section).
        """
        slots = self.s.ops.emulation_slots
        _, mu, sigma, _ = self._radio_model()
        return self.emulator.emulation_params(slots, sigma), np.resize(mu, slots)

    def _event(self, event: str, category: CategoryKey | None, details: str) -> None:
        self.events.append(TwinEvent(event, category, details))


def _name(key: CategoryKey | None) -> str:
    return "none" if key is None else key_str(key)
