"""Digital-twin policies of seed 003, Sec. III: PLVN categories, hierarchical meta models,
the edge twin's meta-model cache, drift detection and transfer decisions."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): importing
    # one submodule (e.g. a parameter dataclass for config validation) stays cheap
    from policies.twins.attributes import (
        ROOT,
        CategoryKey,
        PLVNAttributes,
        bin_index,
        category_at_level,
        category_keys,
        category_path,
        discretise,
        is_ancestor,
        key_str,
        normalise,
        parse_key,
    )
    from policies.twins.cache import CacheEntry, MetaModelCache
    from policies.twins.drift import (
        CompositionDriftMonitor,
        Decision,
        DriftCause,
        LossDriftMonitor,
        LossRiseDetector,
        RetrainSignal,
        TransferDecision,
        composition_distance,
        fraction_vector,
        transfer_decision,
    )
    from policies.twins.hierarchy import (
        CategoryRegistry,
        MetaModelNode,
        MetaModelTree,
        TrainingStats,
        categories_to_train,
    )
    from policies.twins.params import ATTRIBUTES, TwinParams

_EXPORTS: dict[str, str] = {
    "ROOT": "policies.twins.attributes",
    "CategoryKey": "policies.twins.attributes",
    "PLVNAttributes": "policies.twins.attributes",
    "bin_index": "policies.twins.attributes",
    "category_at_level": "policies.twins.attributes",
    "category_keys": "policies.twins.attributes",
    "category_path": "policies.twins.attributes",
    "discretise": "policies.twins.attributes",
    "is_ancestor": "policies.twins.attributes",
    "key_str": "policies.twins.attributes",
    "normalise": "policies.twins.attributes",
    "parse_key": "policies.twins.attributes",
    "CacheEntry": "policies.twins.cache",
    "MetaModelCache": "policies.twins.cache",
    "CompositionDriftMonitor": "policies.twins.drift",
    "Decision": "policies.twins.drift",
    "DriftCause": "policies.twins.drift",
    "LossDriftMonitor": "policies.twins.drift",
    "LossRiseDetector": "policies.twins.drift",
    "RetrainSignal": "policies.twins.drift",
    "TransferDecision": "policies.twins.drift",
    "composition_distance": "policies.twins.drift",
    "fraction_vector": "policies.twins.drift",
    "transfer_decision": "policies.twins.drift",
    "CategoryRegistry": "policies.twins.hierarchy",
    "MetaModelNode": "policies.twins.hierarchy",
    "MetaModelTree": "policies.twins.hierarchy",
    "TrainingStats": "policies.twins.hierarchy",
    "categories_to_train": "policies.twins.hierarchy",
    "ATTRIBUTES": "policies.twins.params",
    "TwinParams": "policies.twins.params",
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
    "ATTRIBUTES",
    "ROOT",
    "CacheEntry",
    "CategoryKey",
    "CategoryRegistry",
    "CompositionDriftMonitor",
    "Decision",
    "DriftCause",
    "LossDriftMonitor",
    "LossRiseDetector",
    "MetaModelCache",
    "MetaModelNode",
    "MetaModelTree",
    "PLVNAttributes",
    "RetrainSignal",
    "TrainingStats",
    "TransferDecision",
    "TwinParams",
    "bin_index",
    "categories_to_train",
    "category_at_level",
    "category_keys",
    "category_path",
    "composition_distance",
    "discretise",
    "fraction_vector",
    "is_ancestor",
    "key_str",
    "normalise",
    "parse_key",
    "transfer_decision",
]
