"""The video service of seed 000 Sec. IV with its level-one DAs, orchestrators and level-two DAs.

Physics (vectorised, every slot, after the world's radio): playback of every user
(``model.services.video``) at the rate its allocation gives, capped by the edge computing it
was granted (``cycles_per_bit``); engagement-driven swiping; the load the service offers feeds
the world's QoS. At each user's report: the window's rebuffering R, quality Q, behavioural
dynamics B (swipe rate) and environmental complexity C (speed); the user's true experience
(the expected MOS of its own principle, ``expected_mos``: the "real-time QoE" of Fig. 5(b)) and
a MOS feedback drawn from it (``sample_mos``) that only the user's level-one DA sees.

Agents: one :class:`agents.level_one.LevelOneDA` per user on its home edge server, one
:class:`agents.orchestrator.EdgeOrchestrator` per edge server, and the level-two DAs of
``agents.level_two`` on the cloud. The ELA achievable ratio of a user in a slicing window
(``das.ela_ratio``) is by default its mean real-time QoE in that window over its ELA, capped
at 1 (seed 000 Sec. IV: "the proportion of user QoE over ELA in each slicing window"); the
share of its samples at or above the ELA is kept beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agents.level_one import LevelOneDA
from agents.orchestrator import EdgeOrchestrator
from model.config import ConfigError
from model.schemes import policies_for
from model.services.behaviour import (
    behavioural_dynamics,
    environmental_complexity,
    expected_mos,
    init_population,
    sample_mos,
    swipe_rate_scale,
    true_impact,
    update_engagement,
)
from model.services.video import init_video, step_video
from policies.qoe.bandwidth import VideoQosMapping
from policies.scheduling.orchestrator_core import OrchestratorConfig
from policies.scheduling.params import SchedulerParams
from policies.scheduling.units import UnitRules
from policies.slicing.params import SlicingParams
from policies.slicing.reports import ela_tier

PERCENTILES = (10, 25, 50, 75, 90)


def _with(params: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(params, **changes)


def check_scheme(cfg: Any) -> None:
    """Reject a scheduler/slicing choice that contradicts the named scheme (never drop it)."""
    pol = policies_for(cfg.scenario.scheme)
    if cfg.scheduler.scheduler not in (pol.scheduler, SchedulerParams().scheduler):
        raise ConfigError(
            f"scheduler.scheduler: {cfg.scheduler.scheduler!r} contradicts scenario.scheme="
            f"{cfg.scenario.scheme} (which uses {pol.scheduler!r})"
        )
    slicing_mechanism(cfg)


def slicing_mechanism(cfg: Any) -> str:
    """The scheme's slicing mechanism; a game-based scheme may choose its market form, "kelly".

    The default ``slicing.mechanism`` means "the scheme's"; anything else that contradicts the
    scheme is rejected, never dropped.
    """
    pol = policies_for(cfg.scenario.scheme)
    chosen = cfg.slicing.mechanism
    if chosen in (pol.slicing, SlicingParams().mechanism):
        return pol.slicing
    if pol.slicing == "game" and chosen == "kelly":
        return chosen
    raise ConfigError(
        f"slicing.mechanism: {chosen!r} contradicts scenario.scheme={cfg.scenario.scheme} "
        f"(which uses {pol.slicing!r})"
    )


class _NoLevelTwo:
    """Stands in for the level-two DAs when a scenario runs without digital agents."""

    controller_id = None

    def model_reporters(self) -> dict[str, Any]:
        return {}

    def tables(self) -> dict[str, pd.DataFrame]:
        return {}

    def summary(self) -> dict[str, Any]:
        return {}

    def write_files(self, folder: Path) -> None:
        return None


class VideoExtension:
    """Video users, their DAs and the slicing that serves them."""

    def __init__(self, model: Any) -> None:
        check_scheme(model.cfg)
        self.model = model
        self.cfg = cfg = model.cfg
        self.policies = policies_for(cfg.scenario.scheme)
        self.scheduler_params = _with(cfg.scheduler, scheduler=self.policies.scheduler)
        self.slicing_params = _with(cfg.slicing, mechanism=slicing_mechanism(cfg))
        self.cycles_per_bit = VideoQosMapping().cycles_per_bit
        n = model.world.n
        self.rng = model.streams.get("video")
        self.rng_fb = model.streams.get("feedback")
        self.state = init_video(n, cfg.video, self.rng)
        self.pop = init_population(n, cfg.behaviour, model.streams.get("users"))
        self.acc = {
            k: np.zeros(n) for k in ("played", "rebuffer", "quality", "requests", "elapsed")
        }
        self.qoe_now = np.full(n, np.nan)
        self.b_now = np.ones(n)
        self.c_now = np.ones(n)
        world = model.world
        world.cpu_hz = self._initial_cpu()
        # Slices bind (model.rrm): a user's slice class is its ELA tier (its subscription, as
        # a UE's S-NSSAI is), the cells and edge servers enforce the grants as RRM policies.
        world.slice_classes = cfg.das.ela_tiers
        lo, hi, k = cfg.behaviour.ela_low, cfg.behaviour.ela_high, cfg.das.ela_tiers
        world.slice_class = np.array([ela_tier(e, lo, hi, k) for e in self.pop.ela], np.int64)
        world.edge_cpu_hz = np.array([self.edge_cpu_hz(e.index) for e in model.edges])
        world.cell_edge = np.asarray(model.topology.cell_edge, dtype=np.int64)
        world.active = self.state.active.copy()
        # Scheduling weights are allocated Hz: start every user at a 1 MHz share so users not
        # yet orchestrated compete on equal terms with those that are.
        world.weight[:] = 1e6
        self.samples: list[pd.DataFrame] = []
        self.fit_log: list[dict[str, Any]] = []
        self.demand_log: list[dict[str, Any]] = []
        self.windows: list[tuple[int, float, float]] = []
        self.window_index = -1
        self.das: list[LevelOneDA] = []
        self.orchestrators: list[EdgeOrchestrator] = []
        self.level_two: Any = _NoLevelTwo()
        if cfg.scenario.digital_agents:  # off: the service alone, users report to edge servers
            self.das = [self._make_da(u) for u in model.users]
            self.orchestrators = [self._make_orchestrator(e) for e in model.edges]
            from agents.level_two import build_level_two

            self.level_two = build_level_two(model, self)
        self.controller_id = self.level_two.controller_id
        if cfg.scenario.digital_agents:
            self._deploy()

    def unit_rules(self) -> UnitRules:
        """How orchestrators form slice units (``policies.scheduling.units``)."""
        cfg = self.cfg
        return UnitRules(
            "video",
            cfg.behaviour.ela_low,
            cfg.behaviour.ela_high,
            cfg.das.ela_tiers,
            cfg.base_stations.bandwidth_mhz * 1e6,
            cfg.edge.cpu_gcycles * 1e9,
        )

    def _make_orchestrator(self, edge: Any) -> EdgeOrchestrator:
        model, cfg = self.model, self.cfg
        cell_edge = [int(e) for e in model.topology.cell_edge]
        cells = tuple(j for j, e in enumerate(cell_edge) if e == edge.index)
        config = OrchestratorConfig(
            edge.index,
            cells,
            self.unit_rules(),
            self.scheduler_params,
            cfg.scheduler_emulator,
            cfg.das.retrain_every_windows,
            self.cycles_per_bit,
        )
        cell_agents = {j: model.cells[j].unique_id for j in cells}
        return EdgeOrchestrator(
            model, edge.node, config, cfg.das.orchestration_period_s, cell_agents, edge.unique_id
        )

    def _deploy(self) -> None:
        """Wiring at t = 0: every agent gets its address book and announces itself to the
        slicing controller (REGISTER, from its own id and node): the DAs, the orchestrators,
        the cells and the edge servers. The controller learns who is out there only so."""
        model, controller = self.model, self.controller_id
        cell_edge = tuple(int(e) for e in model.topology.cell_edge)
        orch = tuple(self.orchestrators[e].unique_id for e in cell_edge)
        for da in self.das:
            da.deploy(controller, orch, cell_edge, model.agent(da.user_id).cell)
        for o in self.orchestrators:
            o.announce(controller)
        for cell in model.cells:
            cell.announce(controller, cell_edge[cell.cell])
        for edge in model.edges:
            edge.announce(controller, tuple(j for j, e in enumerate(cell_edge) if e == edge.index))

    def _make_da(self, user: Any) -> LevelOneDA:
        edge = self.model.edge_agent_of_cell(user.cell)
        da = LevelOneDA(self.model, edge.node, user.unique_id, self.pop.ela[user.index], self)
        user.manager = da.unique_id
        return da

    def _initial_cpu(self) -> np.ndarray:
        w = self.model.world
        edge_of_user = self.model.topology.cell_edge[w.serving]
        counts = np.bincount(edge_of_user, minlength=len(self.model.edges))
        return self.edge_cpu_hz(0) / np.maximum(counts[edge_of_user], 1)

    # -- lookups for agents ----------------------------------------------------------------
    def edge_cpu_hz(self, edge_index: int) -> float:
        return self.cfg.edge.cpu_gcycles * 1e9

    def begin_window(self, index: int, start_s: float, length_s: float) -> None:
        """Record the slicing window the level-two DAs opened (for the ELA ratio per window)."""
        self.window_index = index
        self.windows.append((index, start_s, length_s))

    # -- physics ---------------------------------------------------------------------------
    def after_physics(self) -> None:
        w, dt = self.model.world, self.model.slot_s
        cap = np.minimum(w.rate_bps, w.cpu_hz / self.cycles_per_bit)
        scale = swipe_rate_scale(self.pop.propensity, self.pop.engagement, self.cfg.behaviour)
        slot = step_video(self.state, cap, dt, self.cfg.video, self.rng, None, scale)
        w.offered_bps = slot.bits / dt
        w.active = self.state.active.copy()  # users with a video session have traffic
        a = self.acc
        a["played"] += slot.played_s
        a["rebuffer"] += slot.rebuffer_s
        a["quality"] += slot.quality_s
        a["requests"] += slot.requests
        a["elapsed"] += dt

    def report_extras(self, due: np.ndarray) -> dict[str, np.ndarray]:
        a, cfg = self.acc, self.cfg
        minutes = np.maximum(a["elapsed"][due], 1e-9) / 60.0
        r = a["rebuffer"][due] / minutes
        played = a["played"][due]
        q = np.divide(a["quality"][due], played, out=np.zeros(len(due)), where=played > 0)
        swipes = a["requests"][due] / minutes
        b = behavioural_dynamics(swipes, cfg.behaviour)
        c = environmental_complexity(self.model.world.speed[due], cfg.behaviour)
        pop = self.pop
        impact = true_impact(b, c, pop.beta_b[due], pop.beta_c[due])
        qoe = expected_mos(pop.principle[due], r, q, cfg.mos, impact)
        mos = sample_mos(pop.principle[due], r, q, cfg.mos, self.rng_fb, impact)
        pop.engagement[due] = update_engagement(
            pop.engagement[due], qoe, pop.ela[due], cfg.behaviour
        )
        self.qoe_now[due], self.b_now[due], self.c_now[due] = qoe, b, c
        for v in a.values():
            v[due] = 0.0
        self._record(due, qoe, mos, r, q, b, c)
        return {
            "rebuffer": r,
            "quality": q,
            "behaviour": b,
            "environment": c,
            "mos": mos,
            "swipes": swipes,
            "buffer_s": self.state.buffer_s[due],
        }

    def _record(self, due, qoe, mos, r, q, b, c) -> None:  # noqa: ANN001
        self.samples.append(
            pd.DataFrame(
                {
                    "time_s": np.full(len(due), self.model.now_s),
                    "user": due,
                    "window": np.full(len(due), self.window_index),
                    "qoe": qoe,
                    "mos": mos,
                    "ela": self.pop.ela[due],
                    "rebuffer_s_per_min": r,
                    "quality": q,
                    "B": b,
                    "C": c,
                }
            )
        )

    # -- logs written by agents ------------------------------------------------------------
    def log_fit(self, da: LevelOneDA, reason: str, **extra: Any) -> None:
        """One row of ``da_fits``; ``extra`` columns come from the DA (rule, prior weight,
        model factors and parameters, how the replaced model tracked the feedback since)."""
        m, sel = da.qoe_model, da.selection
        self.fit_log.append(
            {
                "time_s": self.model.now_s,
                "user": self.model.agent(da.user_id).index,
                "reason": reason,
                "selected": ",".join(sel.selected) if sel else "",
                "dcc": ",".join(
                    f"{k}={v:.3f}" for k, v in zip(sel.candidates, sel.dcc, strict=True)
                )
                if sel
                else "",
                "structure": m.structure_id,
                "rmse": m.rmse,
                "r2": m.r2,
                "n_obs": m.n_obs,
                **extra,
            }
        )

    def log_demand(self, da: LevelOneDA, notice: Any, est: Any, structure: str) -> None:
        self.demand_log.append(
            {
                "time_s": self.model.now_s,
                "user": self.model.agent(da.user_id).index,
                "window": notice.window,
                "window_s": notice.length_s,
                "comm_mhz": est.bandwidth_hz / 1e6,
                "cpu_gcycles": est.cpu_hz / 1e9,
                "predicted_qoe": est.predicted_qoe,
                "attainable": bool(est.attainable),
                "structure": structure,
            }
        )

    # -- outputs ---------------------------------------------------------------------------
    def model_reporters(self) -> dict[str, Any]:
        def ela_now(m: Any) -> float:
            ok = ~np.isnan(self.qoe_now)
            if not ok.any():
                return float("nan")
            q, ela = self.qoe_now[ok], self.pop.ela[ok]
            if self.cfg.das.ela_ratio == "qoe_over_ela":
                return float(np.mean(np.minimum(1.0, q / ela)))
            return float(np.mean(q >= ela))

        reporters = {
            "qoe_mean": lambda m: (
                float(np.nanmean(self.qoe_now)) if (~np.isnan(self.qoe_now)).any() else float("nan")
            ),
            "ela_ratio": ela_now,
            "window": lambda m: self.window_index,
            "window_s": lambda m: self.windows[-1][2] if self.windows else float("nan"),
            "buffer_mean_s": lambda m: float(np.mean(self.state.buffer_s)),
        }
        reporters.update(self.level_two.model_reporters())
        return reporters

    def user_columns(self) -> dict[str, np.ndarray]:
        return {
            "qoe": self.qoe_now.copy(),
            "ela": self.pop.ela.copy(),
            "B": self.b_now.copy(),
            "C": self.c_now.copy(),
            "engagement": self.pop.engagement.copy(),
            "buffer_s": self.state.buffer_s.copy(),
        }

    def qoe_frame(self) -> pd.DataFrame:
        return pd.concat(self.samples, ignore_index=True) if self.samples else pd.DataFrame()

    def ela_frame(self) -> pd.DataFrame:
        """ELA achievable ratio per user and slicing window, with predicted vs realised QoE."""
        q = self.qoe_frame()
        if q.empty:
            return q
        q = q[q["window"] >= 0]
        g = q.assign(met=q["qoe"] >= q["ela"]).groupby(["window", "user"], as_index=False)
        out = g.agg(
            share_at_or_above=("met", "mean"),
            qoe_realised=("qoe", "mean"),
            samples=("qoe", "size"),
            ela=("ela", "first"),
        )
        out["qoe_over_ela"] = np.minimum(1.0, out["qoe_realised"] / out["ela"])
        out.insert(2, "ela_ratio", out[self.cfg.das.ela_ratio])
        if self.demand_log:
            d = pd.DataFrame(self.demand_log)[
                ["window", "user", "predicted_qoe", "comm_mhz", "attainable"]
            ]
            out = out.merge(d, on=["window", "user"], how="left")
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {
            "qoe": self.qoe_frame(),
            "ela": self.ela_frame(),
            "da_fits": pd.DataFrame(self.fit_log),
            "demands": pd.DataFrame(self.demand_log),
            "scheduler_training": pd.DataFrame(
                [r for o in self.orchestrators for r in o.training_log]
            ),
            "slice_usage": pd.DataFrame(
                [r for c in self.model.cells for r in c.usage_rows(final=True)]
            ),
        }
        tables.update(self.level_two.tables())
        return tables

    def summary(self) -> dict[str, Any]:
        q, e = self.qoe_frame(), self.ela_frame()
        out: dict[str, Any] = {
            "scheme": self.cfg.scenario.scheme,
            "windows": len(self.windows),
            "da_fits": len(self.fit_log),
            "demand_estimates": len(self.demand_log),
        }
        updates = [u for o in self.orchestrators for u in o.updates.values()]
        if updates:  # gradient steps each unit's scheduler received over the run
            out["scheduler_updates"] = {
                "schedulers": len(updates),
                "trainings": int(sum(o.trainings for o in self.orchestrators)),
                "min": int(min(updates)),
                "mean": float(np.mean(updates)),
                "max": int(max(updates)),
            }
        w = self.model.world
        # Users with a video session that got no bandwidth in a slot (model.rrm): a decision of
        # the slices / the orchestrators, reported, never a leak.
        out["starved_share"] = w.starved_slots / max(w.active_slots, 1)
        out["active_user_slots"] = int(w.active_slots)
        if not q.empty:
            out["qoe"] = {f"p{p}": float(np.percentile(q["qoe"], p)) for p in PERCENTILES}
            out["qoe"]["mean"] = float(q["qoe"].mean())
        if not e.empty:
            out["ela_ratio"] = {
                f"p{p}": float(np.percentile(e["ela_ratio"], p)) for p in PERCENTILES
            }
            out["ela_ratio"]["mean"] = float(e["ela_ratio"].mean())
        out.update(self.level_two.summary())
        return out

    def write_files(self, folder: Path) -> None:
        self.level_two.write_files(folder)
