"""QoE factor formation by distance correlation (seed 000, Sec. III.C.1, Fig. 2).

A level-one DA stores a user's feedback over a period: per feedback window, the MOS and the
window averages of the candidate factors (QoS: throughput, delay, jitter, loss, rebuffer time,
quality; context: behavioural dynamics B and environmental complexity C). The distance
correlation coefficient (DCC, Szekely et al. 2007; the seed's ref. [14]) between MOS and each
factor measures dependence of any form, from 0 (independent) to 1. A factor is selected when the
dependence is significant and, optionally, strong enough:

* significance: the permutation test of distance covariance (exact level for any n; all factors
  in one vectorised computation, ``policies.qoe.dcc``, equal to ``dcor``'s test on the same
  permutations), with a family-wise correction across the factors (Holm by default) so that
  irrelevant factors are rarely selected. The faster distance-correlation t-test is offered too,
  but it is meant for high dimensions: for univariate factors we measured it rejecting 2 % of
  independent pairs at p < 0.001 (n = 120-300), 20 times its nominal rate, which inflates
  family-wise errors. Cost of the batched permutation test: O(resamples K n^2) flops for K
  factors, so DAs cap the history they analyse (a sliding window of recent feedback);
* strength: the DCC must reach ``min_dcor`` (0 by default: significance alone decides).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from policies.qoe.dcc import (
    distance_correlation_batch,
    double_centred,
    draw_permutations,
    permutation_pvalues,
)

QOS_FACTORS = ("throughput", "delay", "jitter", "loss", "rebuffer", "quality")
CONTEXT_FACTORS = ("B", "C")
CANDIDATE_FACTORS = QOS_FACTORS + CONTEXT_FACTORS


def _dcor():  # noqa: ANN202 - the dcor module
    """dcor, imported on first use: it JIT-compiles with numba on import (~8 CPU s), a cost
    that processes which only load scenarios (sweep drivers, the CLI's bad-input path) skip."""
    import dcor

    return dcor


@dataclass(frozen=True, slots=True)
class FactorSelectionParams:
    """How DCC analysis decides which factors a user's QoE depends on."""

    alpha: float = field(
        default=0.05,
        metadata={"range": (1e-6, 0.5), "doc": "family-wise significance level of the tests"},
    )
    test: str = field(
        default="permutation",
        metadata={
            "choices": ("permutation", "t"),
            "doc": "independence test: dcor permutation test of distance covariance (exact"
            " level; cost O(resamples n^2)), or the distance-correlation t-test (one O(n^2)"
            " pass, but liberal in the tail for univariate factors: see module doc)",
        },
    )
    num_resamples: int = field(
        default=999,
        metadata={
            "range": (19, 100_000),
            "doc": "permutations of the permutation test (p-values >= 1 / (resamples + 1),"
            " so Holm over 8 factors at 0.05 needs >= 160)",
        },
    )
    correction: str = field(
        default="holm",
        metadata={
            "choices": ("holm", "bonferroni", "none"),
            "doc": "multiple-testing correction across the candidate factors",
        },
    )
    min_dcor: float = field(
        default=0.0,
        metadata={"range": (0.0, 1.0), "doc": "smallest DCC a selected factor must reach"},
    )
    min_samples: int = field(
        default=10,
        metadata={"range": (4, 1_000_000), "doc": "fewer feedback windows select nothing"},
    )


@dataclass(frozen=True, slots=True)
class FactorSelection:
    """Outcome of DCC analysis: per candidate factor, its DCC, p-value and the verdict."""

    candidates: tuple[str, ...]
    dcc: tuple[float, ...]
    pvalues: tuple[float, ...]
    selected: tuple[str, ...]

    def as_dict(self) -> dict[str, tuple[float, float, bool]]:
        """Map factor -> (DCC, p-value, selected)."""
        return {
            name: (d, p, name in self.selected)
            for name, d, p in zip(self.candidates, self.dcc, self.pvalues, strict=True)
        }


def distance_correlations(
    mos: np.ndarray, features: Mapping[str, np.ndarray], names: Sequence[str]
) -> np.ndarray:
    """DCC between MOS and each named feature (0 for a constant feature), all in one batch."""
    y = np.asarray(mos, dtype=float)
    if not names:
        return np.zeros(0)
    x = np.stack([np.asarray(features[n], dtype=float) for n in names])
    return distance_correlation_batch(double_centred(x), double_centred(y))


def _pvalues(
    x: np.ndarray, y: np.ndarray, params: FactorSelectionParams, rng: np.random.Generator
) -> np.ndarray:
    """Raw p-values of every factor (rows of x): one batched permutation test (``dcc``)."""
    if params.test == "t":
        t_test = _dcor().independence.distance_correlation_t_test
        return np.array(
            [
                1.0 if np.ptp(row) == 0.0 or np.ptp(y) == 0.0 else float(t_test(row, y).pvalue)
                for row in x
            ]
        )
    perms = draw_permutations(y.size, params.num_resamples, rng)
    return permutation_pvalues(x, y, perms)[0]


def adjust_pvalues(pvalues: np.ndarray, correction: str) -> np.ndarray:
    """Family-wise adjusted p-values (Holm step-down, Bonferroni, or unchanged)."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if correction == "none" or m == 0:
        return p.copy()
    if correction == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    # Holm: k-th smallest p times (m - k), made monotone so rejections are a prefix.
    stepped = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def select_factors(
    mos: np.ndarray,
    features: Mapping[str, np.ndarray],
    params: FactorSelectionParams,
    rng: np.random.Generator,
    candidates: Sequence[str] | None = None,
) -> FactorSelection:
    """Select the factors MOS significantly depends on (seed 000 Fig. 2).

    Args:
        mos: MOS per feedback window, shape (n,).
        features: window averages of the factors, each shape (n,).
        params: test, level, correction and thresholds.
        rng: random stream for the permutations.
        candidates: factors to examine; default every name of ``CANDIDATE_FACTORS`` present
            in ``features``.

    Returns:
        DCC and corrected p-value of every candidate, and the selected ones in candidate order.
    """
    names = (
        tuple(n for n in CANDIDATE_FACTORS if n in features)
        if candidates is None
        else (tuple(candidates))
    )
    y = np.asarray(mos, dtype=float)
    dcc = distance_correlations(y, features, names)
    if y.size < params.min_samples or not names:
        return FactorSelection(names, tuple(dcc.tolist()), (1.0,) * len(names), ())
    raw = _pvalues(np.stack([np.asarray(features[n], float) for n in names]), y, params, rng)
    adjusted = adjust_pvalues(raw, params.correction)
    keep = (adjusted <= params.alpha) & (dcc >= params.min_dcor)
    selected = tuple(n for n, k in zip(names, keep, strict=True) if k)
    return FactorSelection(names, tuple(dcc.tolist()), tuple(adjusted.tolist()), selected)
