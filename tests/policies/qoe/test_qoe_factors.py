"""Tests of DCC-based QoE factor selection (seed 000, Sec. III.C.1, Fig. 2)."""

from __future__ import annotations

import itertools

import dcor
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from policies.qoe.factors import (
    CANDIDATE_FACTORS,
    FactorSelectionParams,
    adjust_pvalues,
    distance_correlations,
    select_factors,
)


def _independent_features(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "throughput": rng.uniform(0.2e6, 8e6, n),
        "delay": rng.uniform(0.005, 0.2, n),
        "jitter": rng.uniform(0.0, 0.03, n),
        "loss": rng.uniform(0.0, 0.02, n),
        "rebuffer": rng.exponential(3.0, n),
        "quality": rng.uniform(0.0, 1.0, n),
        "B": rng.uniform(1.0, 2.0, n),
        "C": rng.uniform(1.0, 2.0, n),
    }


def _truncated_mos(loc: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    a, b = (1.0 - loc) / sd, (5.0 - loc) / sd
    return stats.truncnorm.rvs(a, b, loc=loc, scale=sd, random_state=rng)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("test", ["permutation", "t"])
def test_selection_finds_exactly_the_true_factors(seed: int, test: str) -> None:
    rng = np.random.default_rng(seed)
    n = 200 if test == "permutation" else 300
    f = _independent_features(n, rng)
    loc = (1.0 + 4.0 * f["quality"] - 0.4 * np.minimum(f["rebuffer"], 5.0)) * f["C"] ** -0.8
    mos = _truncated_mos(loc + 1.0, 0.5, rng)
    sel = select_factors(mos, f, FactorSelectionParams(test=test, num_resamples=499), rng)
    assert sel.selected == ("rebuffer", "quality", "C")
    assert sel.candidates == CANDIDATE_FACTORS


def test_dcc_detects_dependence_that_pearson_misses() -> None:
    rng = np.random.default_rng(4)
    n = 200
    f = _independent_features(n, rng)
    mos = 1.0 + 3.5 * (2.0 * f["B"] - 3.0) ** 2 + rng.normal(0.0, 0.2, n)  # U-shape in B
    assert abs(stats.pearsonr(f["B"], mos).statistic) < 0.2
    sel = select_factors(mos, f, FactorSelectionParams(num_resamples=299), rng)
    assert sel.selected == ("B",)


def test_dcc_values_are_dcor_distance_correlations() -> None:
    rng = np.random.default_rng(5)
    f = _independent_features(60, rng)
    f["loss"] = np.zeros(60)  # a constant factor carries no information
    mos = rng.uniform(1, 5, 60)
    dcc = distance_correlations(mos, f, CANDIDATE_FACTORS)
    for name, value in zip(CANDIDATE_FACTORS, dcc, strict=True):
        expect = 0.0 if name == "loss" else dcor.distance_correlation(f[name], mos)
        assert value == pytest.approx(expect)
    assert np.all((dcc >= 0) & (dcc <= 1))
    sel = select_factors(mos, f, FactorSelectionParams(), rng)
    assert "loss" not in sel.selected
    assert sel.as_dict()["loss"] == (0.0, 1.0, False)


def test_too_few_windows_select_nothing() -> None:
    rng = np.random.default_rng(6)
    f = _independent_features(8, rng)
    sel = select_factors(f["quality"] * 4 + 1, f, FactorSelectionParams(min_samples=10), rng)
    assert sel.selected == ()


def test_min_dcor_filters_weak_but_significant_factors() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    f = _independent_features(n, rng)
    mos = 1 + 3 * f["quality"] + 0.3 * f["B"] + rng.normal(0, 0.3, n)
    strict = select_factors(mos, f, FactorSelectionParams(test="t", min_dcor=0.3), rng)
    loose = select_factors(mos, f, FactorSelectionParams(test="t"), rng)
    assert "B" in loose.selected and "B" not in strict.selected
    assert "quality" in strict.selected


def _holm_by_definition(p: np.ndarray) -> np.ndarray:
    """Holm adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), 1-based order."""
    m = p.size
    order = np.argsort(p, kind="stable")
    out = np.empty(m)
    for i in range(m):
        out[order[i]] = max(min(1.0, (m - j) * p[order[j]]) for j in range(i + 1))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=9))
def test_holm_matches_its_definition(pvalues: list[float]) -> None:
    p = np.array(pvalues)
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), _holm_by_definition(p))
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), np.minimum(p * p.size, 1.0))
    np.testing.assert_array_equal(adjust_pvalues(p, "none"), p)
    # Holm never rejects less than Bonferroni and never more than no correction.
    holm = adjust_pvalues(p, "holm")
    assert np.all(holm <= adjust_pvalues(p, "bonferroni") + 1e-12) and np.all(holm >= p - 1e-12)


def test_false_selection_rate_is_controlled() -> None:
    # Independent MOS: each run's chance of selecting anything is at most alpha (family-wise).
    rng = np.random.default_rng(8)
    hits = 0
    params = FactorSelectionParams(num_resamples=199)
    for _ in range(40):
        f = _independent_features(30, rng)
        hits += bool(select_factors(rng.uniform(1, 5, 30), f, params, rng).selected)
    # Binomial(40, 0.05): P(X >= 7) < 0.005.
    assert hits < 7


def test_candidates_restrict_the_analysis() -> None:
    rng = np.random.default_rng(9)
    f = _independent_features(100, rng)
    sel = select_factors(1 + 4 * f["quality"], f, FactorSelectionParams(), rng, ("B", "quality"))
    assert sel.candidates == ("B", "quality") and sel.selected == ("quality",)
    assert list(itertools.islice(sel.as_dict(), 2)) == ["B", "quality"]
