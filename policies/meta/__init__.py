"""Gradient-based meta learning (seed 003, Sec. II): MAML, first-order MAML and Reptile."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below are imported on first use (PEP 562): importing
    # one submodule (e.g. a parameter dataclass for config validation) stays cheap
    from policies.meta.functional import (
        ALGORITHMS,
        OUTER_OPTIMIZERS,
        LossFn,
        MetaLearner,
        Params,
        adapt,
        adaptation_loss_converged,
        average_params,
        detach_params,
        forward,
        maml_meta_gradient,
        params_nbytes,
        params_of,
        reptile_direction,
    )
    from policies.meta.params import MetaParams, validate_fields

_EXPORTS: dict[str, str] = {
    "ALGORITHMS": "policies.meta.names",
    "OUTER_OPTIMIZERS": "policies.meta.names",
    "LossFn": "policies.meta.functional",
    "MetaLearner": "policies.meta.functional",
    "Params": "policies.meta.functional",
    "adapt": "policies.meta.functional",
    "adaptation_loss_converged": "policies.meta.functional",
    "average_params": "policies.meta.functional",
    "detach_params": "policies.meta.functional",
    "forward": "policies.meta.functional",
    "maml_meta_gradient": "policies.meta.functional",
    "params_nbytes": "policies.meta.functional",
    "params_of": "policies.meta.functional",
    "reptile_direction": "policies.meta.functional",
    "MetaParams": "policies.meta.params",
    "validate_fields": "policies.meta.params",
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
    "ALGORITHMS",
    "OUTER_OPTIMIZERS",
    "LossFn",
    "MetaLearner",
    "MetaParams",
    "Params",
    "adapt",
    "adaptation_loss_converged",
    "average_params",
    "detach_params",
    "forward",
    "maml_meta_gradient",
    "params_nbytes",
    "params_of",
    "reptile_direction",
    "validate_fields",
]
