"""Gradient-based meta learning (seed 003, Sec. II): MAML, first-order MAML and Reptile."""

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
