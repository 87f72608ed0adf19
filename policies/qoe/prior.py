"""Personal QoE models shrunk toward the population model (seed 000 Sec. III.C.1; our rule).

A level-one DA starts from the population QoE model (``generic_qoe_model``: the mean of the
seed's Sec. IV MOS principles, E = 7/3 + 8/3 Q - 0.8/3 R). With the dozen feedback windows it
has at its first decision, the distance-correlation tests (``select_factors``) rarely keep a
factor, and a model over no factor is a constant that predicts no gain from any resource. That
is an artefact of little data, not evidence that QoE ignores QoS. We treat the population model
as a prior and the personal fit as its posterior (hierarchical / empirical Bayes):

* **Prior as pseudo-observations.** The population model speaks through ``n0`` pseudo-
  observations spread evenly over a design grid of its own factors (``GRID_LEVELS`` levels per
  factor over ``PRIOR_RANGES``: Q in [0, 1], R in [0, 10] stall s/min, where the population
  model spans the MOS scale); every other factor sits at the user's own mean. The personal model
  minimises own squared errors plus the weighted squared deviations from the population model on
  the grid: the maximum a-posteriori fit under a Gaussian prior on the QoE function at the
  design points. The prior is re-centred on the user's own level (its MOS mean minus the
  population model's mean on the user's own data): the population says how the factors act, the
  user's baseline is its own (a random intercept with a flat prior). The own data weigh n / (n +
  n0), the prior n0 / (n + n0): the prior decides where the user's data are silent (QoS the user
  never experienced) and fades as data arrive.
* **n0 by empirical Bayes.** Per design point, n0 / G = sigma^2 / tau^2, with sigma^2 = 0.40
  the mean variance of the seed's truncated-normal MOS (spreads 0.8, 1, 0.8) and tau^2 = 0.55
  the variance of the three principles' expected MOS around their mean, averaged over the grid
  (computed from ``MosParams`` defaults): n0 = 25 x 0.73 = 18 (``qoe_fit.prior_strength``).
* **Factors.** The DCC tests still decide which factors the *data* support (``selected``); the
  model reads those plus the prior's factors. A prior factor the data do not support keeps the
  prior's effect scaled by n0 / (n + n0) and loses it as n grows; a factor outside the prior
  enters only if its test passes. So a selected set stays what the data support, and a DA with
  no significant factor holds the population model re-centred on its own MOS, not a constant.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np

from policies.qoe.factors import CONTEXT_FACTORS, FactorSelection
from policies.qoe.models import (
    FACTOR_SCALES,
    QoeFitParams,
    QoeModel,
    _fit_one,
    _skeleton,
    construct_qoe_model,
)

GRID_LEVELS = 5
PRIOR_RANGES: dict[str, tuple[float, float]] = {
    "quality": (0.0, 1.0),
    "rebuffer": (0.0, 10.0),
    "throughput": (0.0, 8e6),
    "delay": (0.0, 0.2),
    "jitter": (0.0, 0.05),
    "loss": (0.0, 0.05),
    "B": (1.0, 2.0),
    "C": (1.0, 2.0),
}


def prior_weight(n: int, strength: float) -> float:
    """Weight n0 / (n + n0) the population prior keeps after n own samples."""
    return 0.0 if strength <= 0.0 else float(strength / (n + strength))


def prior_design(
    prior: QoeModel, features: Mapping[str, np.ndarray], names: tuple[str, ...]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Grid of the prior's factors (other factors at the user's mean) and the prior's MOS there."""
    axes = [np.linspace(*PRIOR_RANGES[f], GRID_LEVELS) for f in prior.factors]
    grid = np.array(list(itertools.product(*axes))) if axes else np.zeros((1, 0))
    design = {f: grid[:, k] for k, f in enumerate(prior.factors)}
    for f in names:
        if f not in design:
            design[f] = np.full(grid.shape[0], float(np.mean(features[f])))
    return design, np.asarray(prior.predict(design), dtype=float)


def recentred_prior(
    prior: QoeModel, mos: np.ndarray, features: Mapping[str, np.ndarray], y_prior: np.ndarray
) -> np.ndarray:
    """Prior MOS on the design shifted by the user's own level: mean(own MOS) - mean(prior at own
    data). The prior speaks about the factors' effects; the user's baseline is its own (a free
    random intercept), clipped to the MOS scale."""
    own = {f: np.asarray(features[f], dtype=float) for f in prior.factors}
    shift = float(np.mean(mos) - np.mean(prior.predict(own))) if own else 0.0
    return np.clip(y_prior + shift, prior.mos_low, prior.mos_high)


def _model_factors(selected: tuple[str, ...], prior: QoeModel) -> tuple[tuple, tuple]:
    union = set(selected) | set(prior.factors)
    qos = tuple(f for f in FACTOR_SCALES if f in union)
    ctx = tuple(f for f in CONTEXT_FACTORS if f in union)
    return qos, ctx


def fit_with_prior(
    mos: np.ndarray,
    features: Mapping[str, np.ndarray],
    selection: FactorSelection,
    params: QoeFitParams,
    prior: QoeModel,
) -> QoeModel:
    """The user's QoE model shrunk toward the population model (see module doc).

    Args:
        mos: own MOS per feedback window, shape (n,).
        features: own factor values per window (each (n,)), all candidate factors.
        selection: the DCC selection on the own data (which factors the data support).
        params: families, criterion and ``prior_strength`` n0 (0: no prior, plain fit).
        prior: the population model.

    Returns:
        The MAP model; its RMSE, R^2 and n_obs are on the own data.
    """
    if params.prior_strength <= 0.0:
        return construct_qoe_model(mos, features, selection, params)
    y = np.asarray(mos, dtype=float)
    qos, ctx = _model_factors(selection.selected, prior)
    names = qos + ctx
    design, y_prior = prior_design(prior, features, names)
    y_prior = recentred_prior(prior, y, features, y_prior)
    data = {f: np.concatenate([np.asarray(features[f], float), design[f]]) for f in names}
    target = np.concatenate([y, y_prior])
    weights = np.concatenate(
        [np.ones(y.size), np.full(y_prior.size, params.prior_strength / y_prior.size)]
    )
    s_fams = params.s_families if qos else ("const",)
    i_fams = params.i_families if ctx else ("none",)
    scored = [
        _fit_one(_skeleton(s, i, qos, ctx, params), target, data, params, weights, y.size)
        for s in s_fams
        for i in i_fams
    ]
    return min(scored, key=lambda pair: pair[1])[0]
