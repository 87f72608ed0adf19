"""The twins' Mesa-free cores driven as the agents drive them, on task PLVNs (seed 003 Sec. IV).

``twinslice reproduce fig6`` needs PLVNs whose radio pattern is a *task* of the case study
(task 1: mu = 5 MHz in every slot, task 2: 7 MHz, meta-training tasks: each mu(k) uniform over
{5, 6, 7}) and the seed's 500 epochs of 10 episodes, which the highway world (PLVNs whose radio
follows their traffic) does not give. This module keeps everything else of the framework:

* :class:`TaskPLVN` is the physical side of one PLVN: it runs its episodes (K slots each) with
  the individual model its edge twin dispatched (all SP, the default mode, before one
  arrives), samples decisions itself and sends the twin a :class:`TwinReport` after every
  ``report_period_s`` (= one *epoch* of ``report_period_s / (K slot_s)`` episodes);
* :class:`TwinNetwork` is the message bus: every payload between a PLVN, its edge twin
  (:class:`~policies.twins.twin_edge.EdgeTwinCore`), other edge twins and the cloud twin
  (:class:`~policies.twins.twin_cloud.CloudTwinCore`) travels as an :class:`Envelope`, and each
  is handed to the same core method :mod:`agents.twins` calls for it (``twin_report`` ->
  ``on_report``, ``meta_model`` -> ``on_shipment``, ``attributes`` / ``model_request`` /
  ``meta_update`` -> the cloud's handlers; ``transfer_request`` -> ``on_transfer_request``).
  Rounds open on :meth:`TwinNetwork.tick` (the cloud twin's timer) and close when all updates
  arrived (no network delay here: the protocol, not its timing, is what Fig. 6 measures).

Nothing reaches a twin except through an envelope; the PLVNs' world parameters (their
``CavParams`` and task pattern) stay in :class:`TaskPLVN`.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from policies.rl.cav_env import cav_slot, initial_state, observe
from policies.rl.cav_gym import CavBatchEnv
from policies.rl.cav_params import CavParams
from policies.rl.ppo_net import gaussian_entropy, gaussian_log_prob
from policies.twins.twin_cloud import CloudOut, CloudTwinCore
from policies.twins.twin_edge import EdgeTwinCore, Outgoing
from policies.twins.twin_payloads import ModelShipment, Params, Trajectory, TwinReport


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message: kind, sender, receiver (``"cloud"``, ``"twin:<plvn>"``, ``"plvn:<plvn>"``)."""

    kind: str
    sender: str
    receiver: str
    payload: Any
    size_bytes: int


@dataclass(frozen=True, slots=True)
class EpochLog:
    """What one PLVN epoch looked like (physical side; for the figure only)."""

    reward: float  # mean total reward per episode
    entropy: float  # mean differential entropy of the pairs' Gaussians (NaN without a model)
    model_version: int


class TaskPLVN:
    """A PLVN on one task: its episodes, its CAV pairs' decisions, its reports.

    Args:
        plvn: PLVN ID (its edge twin has the same).
        mu: (K,) the task's radio pattern mu(0..K-1) (world truth, never sent as such).
        cav: The world's CAV parameters.
        module: The actor-critic architecture (the PLVN evaluates dispatched actor tensors).
        episodes: Episodes per report (one epoch).
        threshold: A pair runs CP iff its Gaussian sample exceeds this.
        rng, gen: The PLVN's numpy stream (world) and torch stream (decision samples).
        attributes: Fixed raw attribute data sent with each report (hour, city, road...).
    """

    def __init__(self, plvn: int, mu: np.ndarray, cav: CavParams, module: nn.Module,
                 episodes: int, threshold: float, rng: np.random.Generator,
                 gen: torch.Generator, attributes: dict[str, Any]) -> None:
        self.plvn = plvn
        self.mu = np.asarray(mu, dtype=float)
        self.cav = cav
        self.module = module
        self.episodes = episodes
        self.threshold = threshold
        self.env = CavBatchEnv(cav, rng)
        self.gen = gen
        self.attributes = attributes
        self.policy: Params | None = None
        self.version = -1
        self.time_s = 0.0
        self.models_received = 0

    def install(self, ship: ModelShipment) -> None:
        """An individual model from the edge twin: decide with it from the next slot."""
        self.policy = ship.params
        self.version = ship.version
        self.models_received += 1

    def drift(self, cav: CavParams | None = None, mu_offset_mhz: float = 0.0) -> None:
        """The world changes (a drift scenario): new level chains and/or shifted mu(k)."""
        if cav is not None:
            self.cav = cav
            self.env.params = cav
        self.mu = self.mu + mu_offset_mhz

    @torch.no_grad()
    def run_epoch(self, slot_s: float = 1.0) -> tuple[TwinReport, EpochLog]:
        """Run ``episodes`` episodes in lock step; return the report and the epoch's log."""
        k_slots, e = self.cav.slots_per_episode, self.episodes
        n = self.cav.n_pairs
        state = initial_state(np.tile(self.mu, (e, 1)), self.cav, self.env.rng)
        cols: dict[str, list[np.ndarray]] = {k: [] for k in (
            "b", "o", "d", "prev", "x", "logp", "r")}
        ent: list[float] = []
        for _ in range(k_slots):
            if self.policy is None:
                cp = np.zeros((e, n), bool)
                x = np.full((e, n), np.nan, np.float32)
                logp = np.full(e, np.nan, np.float32)
            else:
                obs = torch.from_numpy(observe(state, self.cav))
                mean, log_std, _ = functional_call(self.module, self.policy, (obs,))
                xs = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=self.gen)
                logp = gaussian_log_prob(xs, mean, log_std).numpy()
                ent.append(float(gaussian_entropy(log_std).mean()))
                x = xs.numpy()
                cp = x > self.threshold
            for key, val in (("b", state.bandwidth_mhz), ("o", state.object_level),
                             ("d", state.distance_level), ("prev", state.prev_mode)):
                cols[key].append(np.asarray(val).copy())
            reward, state, _ = cav_slot(state, cp, self.cav, self.env.rng)
            cols["x"].append(np.asarray(x, np.float32))
            cols["logp"].append(np.asarray(logp, np.float32))
            cols["r"].append(reward)

        def flat(key: str) -> np.ndarray:  # (K, E, ...) -> episode-major (E * K, ...)
            a = np.stack(cols[key])
            return np.swapaxes(a, 0, 1).reshape(e * k_slots, *a.shape[2:])

        rewards = flat("r")
        slots = np.tile(np.arange(k_slots, dtype=np.int64), e)
        traj = Trajectory(flat("b"), flat("o").astype(np.int64), flat("d").astype(np.int64),
                          flat("prev").astype(bool), flat("x"), flat("logp"), rewards,
                          np.full(e * k_slots, self.version, np.int64),
                          float(state.bandwidth_mhz[-1]), state.object_level[-1].copy(),
                          state.distance_level[-1].copy(), state.prev_mode[-1].copy(),
                          slots, slots == k_slots - 1)
        self.time_s += e * k_slots * slot_s
        report = TwinReport(
            self.plvn, self.time_s, int(self.attributes.get("rsu", 0)), 0.0,
            float(self.attributes["hour"]), str(self.attributes["city"]),
            str(self.attributes["road_type"]), int(self.attributes["hdvs"]),
            float(self.attributes["vehicle_count"]), traj)
        log = EpochLog(float(rewards.reshape(e, k_slots).sum(axis=1).mean()),
                       float(np.mean(ent)) if ent else float("nan"), self.version)
        return report, log


class TwinNetwork:
    """Message routing between task PLVNs, their edge twin cores and the cloud twin core.

    Args:
        cloud: The cloud twin core.
        edges: Edge twin cores by PLVN ID.
        plvns: Task PLVNs by PLVN ID.
        names: Task names (e.g. "task2") -> PLVN ID, for ``transfer_request`` messages.
    """

    def __init__(self, cloud: CloudTwinCore, edges: dict[int, EdgeTwinCore],
                 plvns: dict[int, TaskPLVN], names: dict[str, int] | None = None) -> None:
        self.cloud = cloud
        self.edges = edges
        self.plvns = plvns
        self.names = dict(names or {})
        self.queue: deque[Envelope] = deque()
        self.counts: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.now_s = 0.0

    # -- entry points ----------------------------------------------------------------------
    def report(self, plvn: int, report: TwinReport) -> None:
        """PLVN ``plvn`` sends its report to its edge twin; deliver everything that follows."""
        self.now_s = max(self.now_s, report.time_s)
        self._post("twin_report", f"plvn:{plvn}", f"twin:{plvn}", report, report.nbytes)
        self.run()

    def tick(self, now_s: float | None = None) -> int:
        """The cloud twin's round timer; returns the number of ``train`` shipments sent."""
        if now_s is not None:
            self.now_s = now_s
        outs = self.cloud.on_tick(self.now_s)
        self._cloud_out(outs)
        self.run()
        if self.cloud.round is not None:  # a sampled twin did not answer: the deadline
            self._cloud_out(self.cloud.on_timeout(self.cloud.round.round_id, self.now_s))
            self.run()
        return len(outs)

    def run(self) -> None:
        """Deliver queued envelopes (FIFO) until none is left."""
        while self.queue:
            self._deliver(self.queue.popleft())

    # -- routing ---------------------------------------------------------------------------
    def _post(self, kind: str, sender: str, receiver: str, payload: Any, size: int) -> None:
        self.counts[kind] += 1
        self.bytes[kind] += int(size)
        self.queue.append(Envelope(kind, sender, receiver, payload, int(size)))

    def _deliver(self, env: Envelope) -> None:
        where, _, ident = env.receiver.partition(":")
        if where == "cloud":
            if env.kind == "attributes":
                self.cloud.on_attributes(env.payload)
            elif env.kind == "model_request":
                self._cloud_out(self.cloud.on_request(env.payload))
            elif env.kind == "meta_update":
                self._cloud_out(self.cloud.on_update(env.payload, self.now_s))
            return
        plvn = int(ident)
        if where == "plvn":
            if env.kind == "meta_model" and env.payload.purpose == "individual":
                self.plvns[plvn].install(env.payload)
            return
        core = self.edges[plvn]
        if env.kind == "twin_report":
            outs = core.on_report(env.payload)
        elif env.kind == "meta_model":
            outs = core.on_shipment(env.payload)
        elif env.kind == "transfer_request":
            outs = core.on_transfer_request(env.payload)
        else:
            outs = []
        self._edge_out(plvn, outs)

    def _edge_out(self, plvn: int, outs: list[Outgoing]) -> None:
        me = f"twin:{plvn}"
        for o in outs:
            if o.to == "cloud":
                self._post(o.kind, me, "cloud", o.payload, o.size_bytes)
            elif o.to == "plvn":
                self._post("meta_model", me, f"plvn:{plvn}", o.payload, o.size_bytes)
            elif o.kind == "transfer_request":
                source = self.names[o.payload.source]
                self._post(o.kind, me, f"twin:{source}", o.payload, o.size_bytes)
            else:  # a "transfer" answer to the twin that asked
                self._post("meta_model", me, f"twin:{o.dest}", o.payload, o.size_bytes)

    def _cloud_out(self, outs: list[CloudOut]) -> None:
        for o in outs:
            self._post("meta_model", "cloud", f"twin:{o.plvn}", o.payload, o.size_bytes)


def fixed_attributes(cav: CavParams, hour: float = 12.0, city: str = "waterloo",
                     road_type: str = "highway") -> dict[str, Any]:
    """Raw attribute data of a task PLVN whose make-up does not change (seed Sec. IV)."""
    return {"hour": hour, "city": city, "road_type": road_type, "hdvs": cav.n_hdv,
            "vehicle_count": float(2 * cav.n_pairs + cav.n_hdv), "rsu": 0}


def with_slots(cav: CavParams, slots: int) -> CavParams:
    """``cav`` with episodes of ``slots`` slots."""
    return replace(cav, slots_per_episode=int(slots))
