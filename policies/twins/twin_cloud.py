"""The cloud digital twin's decision logic, free of Mesa (seed 003, Sec. III.A-III.C, Fig. 5a).

The cloud twin "collects high-level data (such as network-level attributes) and adaptation loss
gradients from the edge DTs" and "trains and maintains sets of hierarchical meta models".
:class:`CloudTwinCore` keeps, from messages only:

* the PLVN list of every category (:class:`~policies.twins.hierarchy.CategoryRegistry`);
* one :class:`~policies.twins.hierarchy.MetaModelTree` for the INMF, with a
  :class:`~policies.meta.MetaLearner` per category being trained;
* meta-training rounds (Fig. 5a): the current meta model goes to I PLVNs sampled uniformly
  from the category's list; the round closes when all I updates arrived or at its deadline,
  with whatever arrived; later updates are counted as late and dropped;
* new categories: trained once they list ``min_category_size`` PLVNs, starting from their
  least-general trained ancestor, served after ``serve_after_rounds`` rounds (and pushed to the
  PLVNs that asked for them);
* drift (Sec. III.B): composition drift of sub-category fractions and a rise of the adaptation
  loss re-activate a category's training; training stops when the average adaptation loss
  has converged (Sec. II).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from policies.meta import MetaLearner, MetaParams, adaptation_loss_converged
from policies.twins.attributes import ROOT, CategoryKey, category_keys, key_str
from policies.twins.drift import CompositionDriftMonitor, LossDriftMonitor, RetrainSignal
from policies.twins.hierarchy import CategoryRegistry, MetaModelTree, categories_to_train
from policies.twins.params import TwinParams
from policies.twins.twin_edge import TwinEvent
from policies.twins.twin_params import INMF, TwinOpsParams
from policies.twins.twin_payloads import (
    AttributeReport,
    MetaUpdate,
    ModelRequest,
    ModelShipment,
    Params,
    tensor_bytes,
)


@dataclass(frozen=True, slots=True)
class CloudOut:
    """A meta model to send to the edge twin of PLVN ``plvn``."""

    plvn: int
    payload: ModelShipment
    size_bytes: int


@dataclass(slots=True)
class Round:
    """An open meta-training round."""

    round_id: int
    key: CategoryKey
    sampled: tuple[int, ...]
    opened_s: float
    deadline_s: float
    updates: dict[int, MetaUpdate] = field(default_factory=dict)


@dataclass(slots=True)
class CategoryTraining:
    """Training record of one category's meta model."""

    rounds: int = 0
    losses: list[float] = field(default_factory=list)  # since the last (re)start
    active: bool = True
    last_round_s: float = -math.inf


class CloudTwinCore:
    """Registry, meta-model tree, rounds and drift of the cloud twin."""

    def __init__(self, module: nn.Module, super_params: Params, twins: TwinParams,
                 meta: MetaParams, ops: TwinOpsParams, rng: np.random.Generator) -> None:
        self.module = module
        self.twins, self.meta, self.ops = twins, meta, ops
        self.rng = rng
        self.registry = CategoryRegistry()
        self.tree = MetaModelTree(INMF)
        self.learners: dict[CategoryKey, MetaLearner] = {}
        self.training: dict[CategoryKey, CategoryTraining] = {}
        self._new_learner(ROOT, super_params)
        self.tree.set_model(ROOT, self.learners[ROOT].state_dict())
        self.composition = CompositionDriftMonitor(twins.drift_distance_threshold)
        self.loss_drift = LossDriftMonitor(twins.loss_window, twins.loss_rise_threshold)
        self.round: Round | None = None
        self.next_round_id = 1
        self.rounds_closed = self.timeouts = self.late_updates = 0
        self.round_log: list[dict[str, object]] = []
        self.waiting: dict[int, int] = {}  # PLVN -> level of the model it was served
        self.events: list[tuple[int | None, TwinEvent]] = []

    # -- message handlers ------------------------------------------------------------------
    def on_attributes(self, rep: AttributeReport) -> None:
        """Record a PLVN's (new) category; check the composition of affected categories."""
        old = self.registry.path_of(rep.plvn) if rep.plvn in self.registry else None
        if old is None:
            self.registry.add(rep.plvn, rep.path)
        else:
            self.registry.move(rep.plvn, rep.path)
        self._event(rep.plvn, "register", rep.path, f"from {key_str(old) if old else 'none'}")
        touched = set(category_keys(rep.path)) | set(category_keys(old or ROOT))
        for key in sorted(touched, key=lambda k: (len(k), k)):
            node = self.tree.node(key)
            if node is not None and node.available:
                signal = self.composition.check(key, self.registry.subcategory_counts(key))
                if signal is not None:
                    self._drift(signal)

    def on_request(self, req: ModelRequest) -> list[CloudOut]:
        """Serve the least-general trained match of the PLVN's category (seed III.B)."""
        node = self.tree.least_general_match(req.path)
        if req.request_training:
            self.waiting[req.plvn] = len(node.key)
            self._event(req.plvn, "training_request", req.path, f"serving {key_str(node.key)}")
        if req.want is None:
            return []
        self._event(req.plvn, "serve", node.key, f"v{node.version} for {key_str(req.path)}")
        return [self._ship(req.plvn, "serve", node.key, node.payload, node.version)]  # type: ignore[arg-type]

    def on_tick(self, now_s: float) -> list[CloudOut]:
        """Open a meta-training round if none is open and a category needs training."""
        if self.round is not None:
            return []
        key = self._pick_category()
        if key is None:
            return []
        sampled = tuple(self.registry.sample(key, self.meta.tasks_per_round, self.rng))
        if not sampled:
            return []
        rid = self.next_round_id
        self.next_round_id += 1
        self.round = Round(rid, key, sampled, now_s, now_s + self.ops.round_timeout_s)
        self.training[key].last_round_s = now_s
        self._event(None, "meta_round_open", key, f"round {rid}: PLVNs {list(sampled)}")
        params = self.learners[key].state_dict()
        version = self.tree.add(key).version
        return [self._ship(p, "train", key, params, version, rid) for p in sampled]

    def on_update(self, upd: MetaUpdate, now_s: float) -> list[CloudOut]:
        """Collect one task's update; close the round once all sampled PLVNs answered."""
        r = self.round
        if r is None or upd.round_id != r.round_id or upd.plvn not in r.sampled \
                or upd.plvn in r.updates:
            self.late_updates += 1
            self._event(upd.plvn, "late_update", upd.key, f"round {upd.round_id} dropped")
            return []
        r.updates[upd.plvn] = upd
        if len(r.updates) == len(r.sampled):
            return self._close(now_s, timed_out=False)
        return []

    def on_timeout(self, round_id: int, now_s: float) -> list[CloudOut]:
        """Deadline of round ``round_id``: close it with the updates received, if still open."""
        if self.round is None or self.round.round_id != round_id:
            return []
        self.timeouts += 1
        return self._close(now_s, timed_out=True)

    def catalogue(self) -> tuple[tuple[CategoryKey, int], ...]:
        """Trained categories and their versions."""
        return tuple((n.key, n.version) for n in self.tree.nodes() if n.available)

    # -- rounds ----------------------------------------------------------------------------
    def _pick_category(self) -> CategoryKey | None:
        """The active eligible category trained least recently (general first on ties)."""
        for key in categories_to_train(self.registry, self.tree, self.twins.min_category_size,
                                       self.ops.max_category_level):
            if key not in self.learners:
                parent = self.tree.least_general_match(key)
                self._new_learner(key, parent.payload)  # type: ignore[arg-type]
                self.tree.add(key)
                self._event(None, "new_category", key, f"initialised from {key_str(parent.key)}")
        candidates = [k for k, st in self.training.items() if st.active and self._eligible(k)]
        if not candidates:
            return None
        return min(candidates, key=lambda k: (self.training[k].last_round_s, len(k), k))

    def _eligible(self, key: CategoryKey) -> bool:
        need = 1 if key == ROOT else self.twins.min_category_size
        return self.registry.count(key) >= need

    def _close(self, now_s: float, timed_out: bool) -> list[CloudOut]:
        r = self.round
        assert r is not None
        self.round = None
        self.rounds_closed += 1
        st = self.training[r.key]
        out: list[CloudOut] = []
        loss = math.nan
        if r.updates:
            ups = [r.updates[p] for p in sorted(r.updates)]
            self.learners[r.key].meta_update([u.update for u in ups])
            loss = float(np.mean([u.adaptation_loss for u in ups]))
            self.tree.record_iteration(r.key, loss)
            st.rounds += 1
            st.losses.append(loss)
            signal = self.loss_drift.observe(r.key, loss)
            out = self._publish(r.key)
            if signal is not None:
                self._drift(signal)
            elif adaptation_loss_converged(st.losses, self.meta.convergence_window,
                                           self.meta.convergence_tol):
                st.active = False
                self._event(None, "converged", r.key, f"after {st.rounds} rounds")
        self.round_log.append({
            "round": r.round_id, "category": key_str(r.key), "sampled": len(r.sampled),
            "received": len(r.updates), "timed_out": timed_out, "opened_s": r.opened_s,
            "closed_s": now_s, "loss": loss})
        self._event(None, "meta_round", r.key, f"round {r.round_id}: {len(r.updates)}/"
                    f"{len(r.sampled)} updates{' (timeout)' if timed_out else ''}, loss {loss:.4f}")
        return out

    def _publish(self, key: CategoryKey) -> list[CloudOut]:
        """Store the updated model; a category's first model is pushed to PLVNs waiting for it."""
        node = self.tree.add(key)
        was_available = node.available
        if not was_available and self.training[key].rounds < self.ops.serve_after_rounds:
            return []
        node = self.tree.set_model(key, self.learners[key].state_dict())
        if was_available:
            return []
        out = []
        for plvn in self.registry.members(key):
            if self.waiting.get(plvn, len(key)) < len(key):
                self.waiting[plvn] = len(key)
                self._event(plvn, "push", key, f"v{node.version}")
                out.append(self._ship(plvn, "serve", key, node.payload, node.version))  # type: ignore[arg-type]
        return out

    def _drift(self, signal: RetrainSignal) -> None:
        key = signal.category
        self._event(None, "drift_signal", key, f"{signal.cause.value} {signal.value:.3f}: retrain")
        st = self.training.setdefault(key, CategoryTraining())
        st.active, st.losses = True, []
        self.loss_drift.reset(key)
        self.composition.set_reference(key, self.registry.subcategory_counts(key))

    # -- helpers ---------------------------------------------------------------------------
    def _new_learner(self, key: CategoryKey, params: Params) -> None:
        learner = MetaLearner.from_params(self.module, self.meta)
        learner.load_state_dict(params)
        self.learners[key] = learner
        self.training[key] = CategoryTraining()

    def _ship(self, plvn: int, purpose: str, key: CategoryKey, params: Params, version: int,
              round_id: int = -1) -> CloudOut:
        ship = ModelShipment(purpose, key, version, params, round_id, self.catalogue())
        return CloudOut(plvn, ship, tensor_bytes(params))

    def _event(self, plvn: int | None, event: str, key: CategoryKey | None, details: str) -> None:
        self.events.append((plvn, TwinEvent(event, key, details)))

    def drain_events(self) -> list[tuple[int | None, TwinEvent]]:
        """Events since the last call, with the PLVN they concern (None: the cloud itself)."""
        events, self.events = self.events, []
        return events
