"""Level-one DA QoE policies (seed 000, Sec. III.C): factor formation, comprehensive QoE models,
behaviour/environment emulation, QoE-vs-resource curves and QoE-based demand prediction."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): importing
    # one submodule (e.g. a parameter dataclass for config validation) stays cheap
    from policies.qoe.bandwidth import (
        VideoQosMapping,
        qoe_bandwidth_slope,
        qoe_vs_bandwidth,
        qoe_vs_resources,
        qoe_vs_throughput,
        video_qos_from_throughput,
    )
    from policies.qoe.demand import (
        DemandEstimate,
        DemandParams,
        SlaParams,
        predict_demand,
        sla_demand,
    )
    from policies.qoe.emulation import (
        BcForecast,
        EmulationParams,
        LevelChain,
        UpdateDecision,
        decide_update,
        emulate_bc,
        fit_transition_matrix,
        learn_chain,
        simulate_levels,
        stationary_distribution,
    )
    from policies.qoe.factors import (
        CANDIDATE_FACTORS,
        CONTEXT_FACTORS,
        QOS_FACTORS,
        FactorSelection,
        FactorSelectionParams,
        select_factors,
    )
    from policies.qoe.models import (
        GenericQoeParams,
        QoeFitParams,
        QoeModel,
        construct_qoe_model,
        fit_qoe_model,
        generic_qoe_model,
        impact_value,
    )

_EXPORTS: dict[str, str] = {
    "VideoQosMapping": "policies.qoe.bandwidth",
    "qoe_bandwidth_slope": "policies.qoe.bandwidth",
    "qoe_vs_bandwidth": "policies.qoe.bandwidth",
    "qoe_vs_resources": "policies.qoe.bandwidth",
    "qoe_vs_throughput": "policies.qoe.bandwidth",
    "video_qos_from_throughput": "policies.qoe.bandwidth",
    "DemandEstimate": "policies.qoe.demand",
    "DemandParams": "policies.qoe.demand",
    "SlaParams": "policies.qoe.demand",
    "predict_demand": "policies.qoe.demand",
    "sla_demand": "policies.qoe.demand",
    "BcForecast": "policies.qoe.emulation",
    "EmulationParams": "policies.qoe.emulation",
    "LevelChain": "policies.qoe.emulation",
    "UpdateDecision": "policies.qoe.emulation",
    "decide_update": "policies.qoe.emulation",
    "emulate_bc": "policies.qoe.emulation",
    "fit_transition_matrix": "policies.qoe.emulation",
    "learn_chain": "policies.qoe.emulation",
    "simulate_levels": "policies.qoe.emulation",
    "stationary_distribution": "policies.qoe.emulation",
    "CANDIDATE_FACTORS": "policies.qoe.factors",
    "CONTEXT_FACTORS": "policies.qoe.factors",
    "QOS_FACTORS": "policies.qoe.factors",
    "FactorSelection": "policies.qoe.factors",
    "FactorSelectionParams": "policies.qoe.factors",
    "select_factors": "policies.qoe.factors",
    "GenericQoeParams": "policies.qoe.models",
    "QoeFitParams": "policies.qoe.models",
    "QoeModel": "policies.qoe.models",
    "construct_qoe_model": "policies.qoe.models",
    "fit_qoe_model": "policies.qoe.models",
    "generic_qoe_model": "policies.qoe.models",
    "impact_value": "policies.qoe.models",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "CANDIDATE_FACTORS",
    "CONTEXT_FACTORS",
    "QOS_FACTORS",
    "BcForecast",
    "DemandEstimate",
    "DemandParams",
    "EmulationParams",
    "FactorSelection",
    "FactorSelectionParams",
    "GenericQoeParams",
    "LevelChain",
    "QoeFitParams",
    "QoeModel",
    "SlaParams",
    "UpdateDecision",
    "VideoQosMapping",
    "construct_qoe_model",
    "decide_update",
    "emulate_bc",
    "fit_qoe_model",
    "fit_transition_matrix",
    "generic_qoe_model",
    "impact_value",
    "learn_chain",
    "predict_demand",
    "qoe_bandwidth_slope",
    "qoe_vs_bandwidth",
    "qoe_vs_resources",
    "qoe_vs_throughput",
    "select_factors",
    "simulate_levels",
    "sla_demand",
    "stationary_distribution",
    "video_qos_from_throughput",
]
