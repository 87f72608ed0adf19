"""Comprehensive per-user QoE models E = S x I(B, C) (seed 000, Sec. III.C.1, Eq. (1)).

The seed fits each user's model with Matlab ``lsqcurvefit`` but leaves the families open. Ours
(a documented choice) are:

* **S, the QoS part**, over the selected QoS factors x_k, each normalised by a reference scale
  (``FACTOR_SCALES``: Mbps, 10 ms, 1 % loss, stall s/min, Q) and signed by its known direction
  d_k (``FACTOR_DIRECTIONS``: more throughput or quality helps, more delay, jitter, loss or
  rebuffering hurts), with non-negative weights w_k so that the fitted S is monotone in each
  factor the right way:

  - ``linear``:   S = a0 + sum_k d_k w_k x_k (the seed's MOS principles are of this form);
  - ``logistic``: S = lo + (hi - lo) sigmoid(a0 + sum_k d_k w_k x_k) (bounded, saturating);
  - ``const``:    S = a0 when no QoS factor is selected.

* **I, the impact of behavioural dynamics B and environmental complexity C** (both in [1, 2]),
  normalised so I(1, 1) = 1 and non-increasing in B and C (Sec. II.A: a more dynamic or complex
  context needs more QoS), over the selected context factors c_j:

  - ``power``:   I = prod_j c_j^(-beta_j), beta_j >= 0;
  - ``sigmoid``: I = sigmoid(g0 - sum_j g_j (c_j - 1)) / sigmoid(g0), g_j >= 0 (the
    parameterised sigmoids of short-video satisfaction in the seed authors' related work);
  - ``none``:    I = 1 when neither B nor C is selected.

Each candidate pair of families is fitted by bounded nonlinear least squares
(``scipy.optimize.least_squares``, trust-region reflective, the analogue of ``lsqcurvefit``) and
the pair with the smallest corrected AIC is kept. Predictions are clipped to the MOS scale.
The *structure id* names the families and factors, e.g. ``S:linear[rebuffer,quality]*I:power[B]``;
users with equal ids share a model structure (seed Fig. 4 grouping).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from policies.qoe.factors import CONTEXT_FACTORS, FactorSelection

FACTOR_SCALES: dict[str, float] = {
    "throughput": 1e6,
    "delay": 0.01,
    "jitter": 0.01,
    "loss": 0.01,
    "rebuffer": 1.0,
    "quality": 1.0,
}
FACTOR_DIRECTIONS: dict[str, float] = {
    "throughput": 1.0,
    "delay": -1.0,
    "jitter": -1.0,
    "loss": -1.0,
    "rebuffer": -1.0,
    "quality": 1.0,
}
S_FAMILIES = ("linear", "logistic")
I_FAMILIES = ("power", "sigmoid")


@dataclass(frozen=True, slots=True)
class QoeFitParams:
    """Model families tried per user and how the best is chosen."""

    s_families: tuple[str, ...] = field(
        default=S_FAMILIES,
        metadata={"choices": S_FAMILIES, "doc": "QoS-part families tried (see module doc)"},
    )
    i_families: tuple[str, ...] = field(
        default=I_FAMILIES,
        metadata={"choices": I_FAMILIES, "doc": "impact-function families tried for B and C"},
    )
    criterion: str = field(
        default="aicc",
        metadata={
            "choices": ("aicc", "bic", "rmse"),
            "doc": "how the best family pair is chosen (corrected AIC penalises parameters)",
        },
    )
    mos_low: float = field(
        default=1.0, metadata={"range": (-100.0, 100.0), "doc": "bottom of the MOS scale"}
    )
    mos_high: float = field(
        default=5.0, metadata={"range": (-100.0, 100.0), "doc": "top of the MOS scale"}
    )
    max_nfev: int = field(
        default=2000,
        metadata={"range": (10, 1_000_000), "doc": "function evaluations per least-squares fit"},
    )
    prior_strength: float = field(
        default=18.0,
        metadata={
            "range": (0.0, 1e6),
            "doc": "n0: pseudo-observations of the population model every personal fit is"
            " shrunk toward (own-data weight n / (n + n0); 0 = no prior, the seed's procedure"
            " taken literally, then das.no_factor_fit decides). Default: empirical Bayes,"
            " 25 design points x sigma^2 / tau^2 = 25 x 0.40 / 0.55 of the Sec. IV principles"
            " (see policies.qoe.prior)",
        },
    )


@dataclass(frozen=True, slots=True)
class QoeModel:
    """A fitted (or fixed) QoE model E = S x I(B, C) with its fit quality."""

    s_family: str
    i_family: str
    qos_factors: tuple[str, ...]
    context_factors: tuple[str, ...]
    params: tuple[float, ...]
    param_names: tuple[str, ...]
    rmse: float = math.nan
    r2: float = math.nan
    n_obs: int = 0
    mos_low: float = 1.0
    mos_high: float = 5.0

    @property
    def factors(self) -> tuple[str, ...]:
        """All factors the model reads: QoS factors then context factors."""
        return self.qos_factors + self.context_factors

    @property
    def structure_id(self) -> str:
        """Families and factors, e.g. ``S:linear[rebuffer,quality]*I:power[B]``."""
        qos, ctx = ",".join(self.qos_factors), ",".join(self.context_factors)
        return f"S:{self.s_family}[{qos}]*I:{self.i_family}[{ctx}]"

    def param(self, name: str) -> float:
        """One parameter by name (e.g. ``"w_rebuffer"``, ``"beta_B"``)."""
        return self.params[self.param_names.index(name)]

    def predict(self, features: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """Predicted QoE (MOS scale) for the given factor values (broadcast together).

        Raises:
            KeyError: if a factor the model reads is missing from ``features``.
        """
        theta = np.asarray(self.params, dtype=float)
        q = [np.asarray(features[n], dtype=float) for n in self.qos_factors]
        c = [np.asarray(features[n], dtype=float) for n in self.context_factors]
        value = _evaluate(self, theta, q, c)
        return np.clip(value, self.mos_low, self.mos_high)


def _n_s_params(s_family: str, n_qos: int) -> int:
    return 1 + (0 if s_family == "const" else n_qos)


def _evaluate(
    model: QoeModel, theta: np.ndarray, qos: Sequence[np.ndarray], ctx: Sequence[np.ndarray]
) -> np.ndarray:
    """Unclipped S x I for parameter vector ``theta`` (used by fitting and prediction)."""
    k = _n_s_params(model.s_family, len(qos))
    s_theta, i_theta = theta[:k], theta[k:]
    z = s_theta[0] + sum(
        (FACTOR_DIRECTIONS[n] * w * x / FACTOR_SCALES[n])
        for n, w, x in zip(model.qos_factors, s_theta[1:], qos, strict=True)
    )
    if model.s_family == "logistic":
        s = model.mos_low + (model.mos_high - model.mos_low) * _sigmoid(z)
    else:
        s = z
    return s * _impact(model.i_family, i_theta, ctx)


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def _impact(i_family: str, theta: np.ndarray, ctx: Sequence[np.ndarray]) -> np.ndarray | float:
    if i_family == "none" or not ctx:
        return 1.0
    if i_family == "power":
        out: np.ndarray | float = 1.0
        for beta, x in zip(theta, ctx, strict=True):
            out = out * np.maximum(x, 1e-12) ** -beta
        return out
    drop = sum(g * (x - 1.0) for g, x in zip(theta[1:], ctx, strict=True))
    return _sigmoid(theta[0] - drop) / _sigmoid(theta[0])


def impact_value(model: QoeModel, features: Mapping[str, np.ndarray]) -> np.ndarray:
    """The fitted impact I(B, C) alone (1 for models without context factors)."""
    k = _n_s_params(model.s_family, len(model.qos_factors))
    ctx = [np.asarray(features[n], dtype=float) for n in model.context_factors]
    return np.asarray(_impact(model.i_family, np.asarray(model.params[k:]), ctx), dtype=float)


def _skeleton(
    s_family: str, i_family: str, qos: tuple[str, ...], ctx: tuple[str, ...], params: QoeFitParams
) -> QoeModel:
    names = ["a0"] + ([] if s_family == "const" else [f"w_{n}" for n in qos])
    if i_family == "power":
        names += [f"beta_{n}" for n in ctx]
    elif i_family == "sigmoid":
        names += ["g0"] + [f"g_{n}" for n in ctx]
    return QoeModel(
        s_family,
        i_family,
        qos,
        ctx,
        tuple(0.0 for _ in names),
        tuple(names),
        mos_low=params.mos_low,
        mos_high=params.mos_high,
    )


def _bound_of(model: QoeModel, name: str) -> tuple[float, float]:
    if name == "a0":
        span = 30.0 if model.s_family == "logistic" else 100.0
        return -span, span
    if name == "g0":
        return -10.0, 10.0
    # Weights and impact slopes are non-negative: that is what makes the model monotone.
    return 0.0, (50.0 if name.startswith(("beta_", "g_")) else 1e3)


def _bounds(model: QoeModel) -> tuple[np.ndarray, np.ndarray]:
    pairs = [_bound_of(model, name) for name in model.param_names]
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def _initial_guess(model: QoeModel, y: np.ndarray, qos: Sequence[np.ndarray]) -> np.ndarray:
    """Start from the ordinary least-squares S (signs clipped), with a mild impact."""
    target = y
    if model.s_family == "logistic":
        frac = (y - model.mos_low) / (model.mos_high - model.mos_low)
        target = np.log(np.clip(frac, 0.02, 0.98) / (1.0 - np.clip(frac, 0.02, 0.98)))
    cols = [
        FACTOR_DIRECTIONS[n] * x / FACTOR_SCALES[n]
        for n, x in zip(model.qos_factors, qos, strict=True)
    ]
    design = np.column_stack([np.ones_like(y), *cols])
    coef = np.linalg.lstsq(design, target, rcond=None)[0]
    guess = dict(zip(model.param_names, coef, strict=False))
    lo, hi = _bounds(model)
    x0 = np.array([guess.get(n, 0.0 if n == "g0" else 0.1) for n in model.param_names])
    return np.clip(x0, lo + 1e-9, hi - 1e-9)


def _fit_one(
    skeleton: QoeModel,
    y: np.ndarray,
    features: Mapping[str, np.ndarray],
    params: QoeFitParams,
    weights: np.ndarray | None = None,
    n_own: int | None = None,
) -> tuple[QoeModel, float]:
    """Bounded least squares of one family pair.

    ``weights`` (per row) weigh the squared residuals; the first ``n_own`` rows are the user's
    own data (the rest prior pseudo-observations, ``policies.qoe.prior``): fit statistics and
    the selection criterion are computed on those only.
    """
    from scipy.optimize import least_squares  # lazy: config validation must not load scipy

    qos = [np.asarray(features[n], dtype=float) for n in skeleton.qos_factors]
    ctx = [np.asarray(features[n], dtype=float) for n in skeleton.context_factors]
    lo, hi = _bounds(skeleton)
    root_w = np.ones(y.size) if weights is None else np.sqrt(np.asarray(weights, dtype=float))
    own = y.size if n_own is None else int(n_own)

    def raw(theta: np.ndarray) -> np.ndarray:
        return np.clip(_evaluate(skeleton, theta, qos, ctx), params.mos_low, params.mos_high) - y

    def residuals(theta: np.ndarray) -> np.ndarray:
        return root_w * raw(theta)

    # Two starts (least-squares guess, all-zero) guard against the flat regions clipping makes.
    starts = (_initial_guess(skeleton, y, qos), np.clip(np.zeros(lo.size), lo, hi))
    sols = [
        least_squares(residuals, x0, bounds=(lo, hi), max_nfev=params.max_nfev) for x0 in starts
    ]
    best = min(sols, key=lambda sol: sol.cost)
    res, y_own = raw(best.x)[:own], y[:own]
    rss, tss = float(res @ res), float(((y_own - y_own.mean()) ** 2).sum())
    r2 = (1.0 if rss == 0.0 else 0.0) if tss == 0.0 else 1.0 - rss / tss
    fitted = QoeModel(
        skeleton.s_family,
        skeleton.i_family,
        skeleton.qos_factors,
        skeleton.context_factors,
        tuple(float(v) for v in best.x),
        skeleton.param_names,
        math.sqrt(rss / own),
        r2,
        own,
        params.mos_low,
        params.mos_high,
    )
    return fitted, _criterion(rss, own, len(best.x), params.criterion)


def _criterion(rss: float, n: int, k: int, criterion: str) -> float:
    if criterion == "rmse":
        return rss
    log_lik_term = n * math.log(max(rss, 1e-300) / n)
    if criterion == "bic":
        return log_lik_term + k * math.log(n)
    correction = 2.0 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    return log_lik_term + 2.0 * k + correction


def fit_qoe_model(
    mos: np.ndarray,
    features: Mapping[str, np.ndarray],
    factors: Sequence[str],
    params: QoeFitParams,
) -> QoeModel:
    """Fit E = S x I(B, C) over the given factors, choosing the best family pair.

    Args:
        mos: observed MOS per feedback window, shape (n,).
        features: factor values per window (each shape (n,)); must hold every name in
            ``factors``.
        factors: selected factors (QoS factors and/or "B", "C"), e.g. from DCC analysis.
        params: families tried, selection criterion and MOS scale.

    Returns:
        The best-scoring fitted model with its RMSE and R^2 on the data.
    """
    y = np.asarray(mos, dtype=float)
    unknown = [f for f in factors if f not in FACTOR_SCALES and f not in CONTEXT_FACTORS]
    if unknown:
        raise ValueError(f"factors: unknown {unknown}; known {tuple(FACTOR_SCALES)} + B, C")
    qos = tuple(f for f in factors if f in FACTOR_SCALES)
    ctx = tuple(f for f in CONTEXT_FACTORS if f in factors)
    s_fams = params.s_families if qos else ("const",)
    i_fams = params.i_families if ctx else ("none",)
    scored = [
        _fit_one(_skeleton(s, i, qos, ctx, params), y, features, params)
        for s in s_fams
        for i in i_fams
    ]
    return min(scored, key=lambda pair: pair[1])[0]


def construct_qoe_model(
    mos: np.ndarray,
    features: Mapping[str, np.ndarray],
    selection: FactorSelection,
    params: QoeFitParams,
) -> QoeModel:
    """Fit the model over the factors a DCC analysis selected (seed Fig. 2, last step)."""
    return fit_qoe_model(mos, features, selection.selected, params)


@dataclass(frozen=True, slots=True)
class GenericQoeParams:
    """The population-average model of the w/o-DA benchmark (seed 000 Sec. IV).

    Defaults average the locations of the three MOS principles of Sec. IV:
    (5 - 0.4R + 1 + 4Q + 1 + 4Q - 0.4R) / 3 = 7/3 + 8/3 Q - 0.8/3 R.
    """

    intercept: float = field(
        default=7.0 / 3.0,
        metadata={"range": (-100.0, 100.0), "doc": "MOS at Q = 0, R = 0 (mean of Sec. IV)"},
    )
    quality_weight: float = field(
        default=8.0 / 3.0,
        metadata={"range": (0.0, 100.0), "doc": "MOS per unit Q (mean of Sec. IV principles)"},
    )
    rebuffer_weight: float = field(
        default=0.8 / 3.0,
        metadata={"range": (0.0, 100.0), "doc": "MOS lost per stall s/min (mean of Sec. IV)"},
    )


def generic_qoe_model(params: GenericQoeParams) -> QoeModel:
    """One fixed, non-personalised model: no DCC selection, no B/C impact."""
    return QoeModel(
        s_family="linear",
        i_family="none",
        qos_factors=("rebuffer", "quality"),
        context_factors=(),
        params=(params.intercept, params.rebuffer_weight, params.quality_weight),
        param_names=("a0", "w_rebuffer", "w_quality"),
    )
