"""The Mesa-free core of a level-one DA (seed 000 Sec. III.C): history, fitting, emulation, demand.

``agents.level_one.LevelOneDA`` is a thin shell: it reads its inbox, hands each QoS report and
window notice to a :class:`LevelOneCore`, and turns what the core returns into messages and log
rows. The core knows only what the shell passes in (reports of its own user, the window length)
and its own configuration (:class:`CoreConfig`), never other agents or the model.

Policies by scheme (``model.schemes``):

* ``qoe_model = "personalised"``: factors by DCC, the user's model fitted with the population
  prior (``policies.qoe.prior``), refitted on the adaptive-update trigger; B and C emulated by
  their learnt chains (``emulate_bc``).
* ``qoe_model = "generic"`` (w/o DA): the population model, no fit and no emulation: the
  forecast of (B, C) is the last observed pair.
* ``demand = "qoe"``: the least resources meeting the ELA under the model (``predict_demand``),
  with the model's QoE gain per Hz at that demand.
* ``demand = "sla"`` (HSLA-L2): a QoS model and the SLA, nothing from the QoE model: the SLA
  promises a bitrate rung (``sla.target_bitrate_bps``, default 2 Mbps, the HD rung of the video
  ladder) and the QoS model says it needs bandwidth = rung x headroom / SE at the user's
  spectral efficiency SE (EWMA of log2(1 + SINR) over its reports) and cpu = cycles/bit x rung
  (``sla_demand``). The report carries structure ``"sla"`` and no gain (NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from policies.qoe.bandwidth import qoe_bandwidth_slope
from policies.qoe.demand import DemandEstimate, predict_demand, sla_demand
from policies.qoe.emulation import BcForecast, decide_update, emulate_bc
from policies.qoe.factors import CANDIDATE_FACTORS, FactorSelection, select_factors
from policies.qoe.models import QoeModel, construct_qoe_model, generic_qoe_model
from policies.qoe.prior import fit_with_prior, prior_weight

SLA_STRUCTURE = "sla"


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """What a level-one DA is configured with (scenario sections and the scheme's policies)."""

    das: Any  # agents.da_params.DaParams
    qoe_factors: Any  # FactorSelectionParams
    qoe_fit: Any  # QoeFitParams
    generic_qoe: Any  # GenericQoeParams
    emulation: Any  # EmulationParams
    demand: Any  # DemandParams
    sla: Any  # SlaParams
    qoe_model: str = "personalised"  # scheme policy: "personalised" | "generic"
    demand_rule: str = "qoe"  # scheme policy: "qoe" | "sla"

    @classmethod
    def from_scenario(cls, cfg: Any, policies: Any) -> CoreConfig:
        """From the scenario config and the scheme's ``SchemePolicies``."""
        return cls(
            cfg.das, cfg.qoe_factors, cfg.qoe_fit, cfg.generic_qoe, cfg.emulation, cfg.demand,
            cfg.sla, policies.qoe_model, policies.demand,
        )  # fmt: skip


def report_features(r: Any) -> dict[str, float]:
    """The candidate QoE factors of one QoS report (throughput in bit/s, as the models use)."""
    return {
        "throughput": r.throughput_mbps * 1e6,
        "delay": r.delay_ms,
        "jitter": r.jitter_ms,
        "loss": r.loss,
        "rebuffer": r.rebuffer,
        "quality": r.quality,
        "B": r.behaviour,
        "C": r.environment,
    }


@dataclass(frozen=True, slots=True)
class FitEvent:
    """One factor selection / fit, with how the replaced model tracked the feedback since."""

    reason: str
    rule: str  # "prior" | "constant" | "keep"
    prior_weight: float
    kept_previous: bool
    tracking: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """What the DA reports for one slice window."""

    estimate: DemandEstimate
    gain_per_hz: float
    structure: str
    forecast: BcForecast


def tracking_stats(pred: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """How predictions tracked the realised MOS: n, R^2, correlation, bias, calibration slope."""
    n = int(pred.size)
    nan = float("nan")
    if n < 2:
        return {"track_n": n, "track_r2": nan, "track_corr": nan, "track_bias": nan,
                "track_slope": nan}  # fmt: skip
    err = pred - real
    sst = float(((real - real.mean()) ** 2).sum())
    r2 = 1.0 - float(err @ err) / sst if sst > 0 else nan
    sp, sr = float(pred.std()), float(real.std())
    corr = float(np.corrcoef(pred, real)[0, 1]) if sp > 0 and sr > 0 else nan
    slope = float(np.cov(pred, real)[0, 1] / pred.var(ddof=1)) if sp > 0 else nan
    return {"track_n": n, "track_r2": r2, "track_corr": corr, "track_bias": float(err.mean()),
            "track_slope": slope}  # fmt: skip


class LevelOneCore:
    """History, QoE model, emulation and demand of one user's DA (no Mesa, no messages)."""

    def __init__(self, config: CoreConfig, ela: float, gen: np.random.Generator) -> None:
        self.cfg = config
        self.ela = float(ela)
        self.gen = gen
        self.rows: list[dict[str, float]] = []
        self.mos: list[float] = []
        self.prior = generic_qoe_model(config.generic_qoe)
        self.qoe_model: QoeModel = self.prior  # the population model until a personal fit
        self.personalised = False
        self.selection: FactorSelection | None = None
        self.since_fit = 0
        self.reference: BcForecast | None = None
        self.last: Any = None
        self.se_ewma = 0.0
        self.handovers = 0
        self.fits = 0
        self._track: list[tuple[float, float]] = []

    # -- observations ----------------------------------------------------------------------
    def observe(self, r: Any) -> FitEvent | None:
        """Take one QoS report of the user; returns the fit it triggered, if any."""
        if self.last is not None and r.cell != self.last.cell:
            self.handovers += 1
        self.last = r
        if r.throughput_mbps > 0 and r.sinr_db == r.sinr_db:
            se = float(np.log2(1.0 + 10.0 ** (r.sinr_db / 10.0)))
            self.se_ewma = se if self.se_ewma == 0 else 0.8 * self.se_ewma + 0.2 * se
        if r.mos != r.mos:  # no feedback this period
            return None
        row = report_features(r)
        self._track.append((float(self.qoe_model.predict(row)), float(r.mos)))
        self.rows.append(row)
        self.mos.append(float(r.mos))
        keep = self.cfg.das.history
        del self.rows[:-keep], self.mos[:-keep]
        self.since_fit += 1
        reason = self._refit_reason()
        return self.fit(reason) if reason else None

    def history(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """MOS and factor arrays of the kept history."""
        feats = {k: np.array([row[k] for row in self.rows]) for k in CANDIDATE_FACTORS}
        return np.asarray(self.mos), feats

    # -- QoE model construction and update (Sec. III.C.1) ----------------------------------
    def _refit_reason(self) -> str | None:
        das = self.cfg.das
        if self.cfg.qoe_model == "generic" or len(self.mos) < das.min_samples:
            return None
        if not self.personalised:
            if self.fits == 0:
                return "first fit"
            return "retry fit" if self.since_fit >= das.min_samples else None
        if self.since_fit >= das.refit_every:
            return "periodic refit"
        decision = self._update_decision()
        if decision is not None and (decision.reselect_factors or decision.refit):
            return "emulated pattern shift" if decision.pattern_shift else "prediction error"
        return None

    def _update_decision(self):  # noqa: ANN202 - policies.qoe.UpdateDecision | None
        k = self.cfg.das.min_samples
        if self.reference is None or len(self.mos) < 2 * k:
            return None
        mos, feats = self.history()
        predicted = self.qoe_model.predict({f: v[-k:] for f, v in feats.items()})
        current = self.forecast(60.0)
        return decide_update(
            self.reference, current, mos[-k:], predicted, self.qoe_model.rmse, self.cfg.emulation
        )

    def fit(self, reason: str) -> FitEvent:
        """Select factors and fit the user's model (seed Fig. 2) with the population prior.

        With ``qoe_fit.prior_strength`` n0 > 0 (default) the model is the MAP fit shrunk toward
        the population model (``fit_with_prior``), whatever the tests select. With n0 = 0 the
        seed's procedure is taken literally and ``das.no_factor_fit`` decides what a DA whose
        tests keep no factor holds: a constant model (``"constant"``) or the model it had
        (``"keep"``, retrying after ``min_samples`` more reports).
        """
        mos, feats = self.history()
        track = np.asarray(self._track, dtype=float).reshape(-1, 2)
        tracking = tracking_stats(track[:, 0], track[:, 1])
        self.selection = select_factors(mos, feats, self.cfg.qoe_factors, self.gen)
        self.since_fit = 0
        self.fits += 1
        n0 = float(self.cfg.qoe_fit.prior_strength)
        if n0 > 0:
            self._adopt(fit_with_prior(mos, feats, self.selection, self.cfg.qoe_fit, self.prior))
            return FitEvent(reason, "prior", prior_weight(mos.size, n0), False, tracking)
        if not self.selection.selected and self.cfg.das.no_factor_fit == "keep":
            return FitEvent(reason, "keep", 0.0, True, tracking)
        self._adopt(construct_qoe_model(mos, feats, self.selection, self.cfg.qoe_fit))
        return FitEvent(reason, "constant", 0.0, False, tracking)

    def _adopt(self, model: QoeModel) -> None:
        self.qoe_model = model
        self.personalised = True
        self.reference = self.forecast(60.0)
        self._track = []

    # -- emulation and demand (Sec. III.C.1-2) ---------------------------------------------
    def forecast(self, horizon_s: float) -> BcForecast:
        """(B, C) over the next ``horizon_s``: emulated by the learnt chains, or (generic
        model, w/o DA: no emulation) the last observed pair."""
        if self.cfg.qoe_model == "generic":
            r = self.last
            b, c = (1.5, 1.5) if r is None else (r.behaviour, r.environment)
            b, c = (v if v == v else 1.5 for v in (b, c))
            return BcForecast(np.array([b]), np.array([c]), np.ones(1), np.ones(1))
        b = np.array([row["B"] for row in self.rows]) if self.rows else np.array([1.5])
        c = np.array([row["C"] for row in self.rows]) if self.rows else np.array([1.5])
        return emulate_bc(b, c, horizon_s, self.cfg.emulation, self.gen)

    def context(self) -> dict[str, float]:
        """The QoS context of the last report (factors not driven by resources)."""
        r = self.last
        if r is None:
            return {}
        return {"delay": r.delay_ms, "jitter": r.jitter_ms, "loss": r.loss}

    def spectral_efficiency(self) -> float:
        """Expected spectral efficiency of the user (bit/s/Hz, floored at 0.1)."""
        return max(self.se_ewma, 0.1)

    def plan_window(self, length_s: float) -> WindowPlan:
        """The user's demand for a coming window of ``length_s`` (Fig. 3 or the SLA rule)."""
        se = self.spectral_efficiency()
        forecast = self.forecast(length_s)
        if self.cfg.demand_rule == "sla":
            est = sla_demand(se, length_s, self.cfg.sla, self.cfg.demand)
            return WindowPlan(est, math.nan, SLA_STRUCTURE, forecast)
        est = predict_demand(
            self.qoe_model, self.ela, se, forecast.b_samples, forecast.c_samples, length_s,
            self.cfg.demand, self.context(),
        )  # fmt: skip
        ctx = {**self.context(), "B": forecast.b_mean, "C": forecast.c_mean}
        slope = qoe_bandwidth_slope(self.qoe_model, max(est.bandwidth_hz, 1.0), se, ctx)
        gain = float(np.asarray(slope).ravel()[0])
        return WindowPlan(est, gain, self.qoe_model.structure_id, forecast)

    def take_handovers(self) -> int:
        """Handovers since the last call (reported once per window)."""
        count, self.handovers = self.handovers, 0
        return count

    def recent_ela_ratio(self) -> float:
        """The user's recent ELA achievable ratio from its MOS feedback (what the DA observes),
        by the rule ``das.ela_ratio``."""
        recent = np.asarray(self.mos[-self.cfg.das.min_samples :], dtype=float)
        if not recent.size:
            return float("nan")
        if self.cfg.das.ela_ratio == "qoe_over_ela":
            return float(min(1.0, recent.mean() / self.ela))
        return float(np.mean(recent >= self.ela))

    def model_context(self, r: Any) -> dict[str, float]:
        """Context the edge orchestrator evaluates the model in (from the user's last report)."""
        return {
            **self.context(),
            "B": r.behaviour,
            "C": r.environment,
            "buffer_s": r.buffer_s,
            "quality": r.quality,
            "throughput": r.throughput_mbps * 1e6,
        }
