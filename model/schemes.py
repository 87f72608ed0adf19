"""The management schemes of seed 000 Sec. IV as data: one model, different policy choices.

=========  ===============  ==========  ===================  ============  ========
scheme     QoE model        demand      scheduler (L1)       slicing (L2)  window
=========  ===============  ==========  ===================  ============  ========
proposed   personalised     QoE + ELA   BDQN + SLSQP         game          adaptive
wo-da      generic          QoE + ELA   round robin          greedy        fixed
pdrl-l1    personalised     QoE + ELA   5-layer BDQN (PDRL)  game          adaptive
hsla-l2    personalised     QoS / SLA   BDQN + SLSQP         game          adaptive
=========  ===============  ==========  ===================  ============  ========

"w/o DA utilises general QoE models for resource demand estimation, round-robin scheduling
methods for real-time resource allocation, and greedy-based network slicing methods";
"PDRL-L1 adopts a five-layer BDQN algorithm to substitute the data-model-driven scheduling
algorithm in the level-one DA"; "HSLA-L2 selects QoS models and SLA to estimate resource demand
distribution for network slice adjustment in the level-two DA" (seed 000 Sec. IV). For w/o DA
the per-user agents still carry reports but hold the generic model and do no emulation — the
same code with the DA's intelligence switched off, so no benchmark is a copied model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SchemePolicies:
    """Which policy each stage of the DA pipeline uses."""

    qoe_model: str  # "personalised" | "generic"
    demand: str  # "qoe" | "sla"
    scheduler: str  # a SchedulerParams.scheduler choice
    slicing: str  # a SlicingParams.mechanism choice
    window: str  # "adaptive" | "fixed"


SCHEME_POLICIES: dict[str, SchemePolicies] = {
    "proposed": SchemePolicies("personalised", "qoe", "bdqn-slsqp", "game", "adaptive"),
    "wo-da": SchemePolicies("generic", "qoe", "round-robin", "greedy", "fixed"),
    "pdrl-l1": SchemePolicies("personalised", "qoe", "pdrl", "game", "adaptive"),
    "hsla-l2": SchemePolicies("personalised", "sla", "bdqn-slsqp", "game", "adaptive"),
}


def policies_for(scheme: str) -> SchemePolicies:
    """The policy choices of ``scheme`` (one of ``model.params.SCHEMES``)."""
    return SCHEME_POLICIES[scheme]
