"""The batched distance-correlation computations equal dcor's, permutation by permutation."""

from __future__ import annotations

import dcor
import numpy as np
import pytest

from policies.qoe.dcc import (
    distance_correlation_batch,
    double_centred,
    draw_permutations,
    permutation_pvalues,
    permuted_statistics,
)


class _Replay(np.random.Generator):
    """A generator whose ``permutation`` replays given index arrays (what dcor draws from)."""

    def __init__(self, perms: np.ndarray) -> None:
        super().__init__(np.random.PCG64(0))
        self._perms = iter(perms)

    def permutation(self, n):  # noqa: ANN001, ANN201 - numpy's signature
        return next(self._perms)


def _factors(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([rng.uniform(0, 1, n), rng.exponential(2.0, n), rng.normal(0, 1, n)])
    y = 1.0 + 2.0 * x[0] + 0.3 * np.sin(3 * x[2]) + rng.normal(0, 0.5, n)
    return x, y


@pytest.mark.parametrize("n", [5, 12, 40])
def test_pvalues_and_statistics_equal_dcor_on_the_same_permutations(n: int) -> None:
    rng = np.random.default_rng(n)
    x, y = _factors(n, rng)
    perms = draw_permutations(n, 199, np.random.default_rng(7))
    pvalues, stats = permutation_pvalues(x, y, perms)
    for k in range(x.shape[0]):
        ref = dcor.independence.distance_covariance_test(
            x[k], y, num_resamples=199, random_state=_Replay(perms)
        )
        assert pvalues[k] == ref.pvalue
        assert stats[k] == pytest.approx(float(ref.statistic), rel=1e-12)
    # the permuted statistics themselves match dcor's n * mean_product(A[p][:, p], B)
    a, b = double_centred(x), double_centred(y)
    batch = permuted_statistics(a, b, perms[:5])
    for r, p in enumerate(perms[:5]):
        ref = n * dcor.mean_product(a[1][np.ix_(p, p)], b)
        assert batch[1, r] == pytest.approx(ref, rel=1e-12)


def test_draws_consume_the_stream_as_dcor_does() -> None:
    x, y = _factors(20, np.random.default_rng(3))
    ours = permutation_pvalues(x[:1], y, draw_permutations(20, 99, np.random.default_rng(5)))[0]
    ref = dcor.independence.distance_covariance_test(
        x[0], y, num_resamples=99, random_state=np.random.default_rng(5)
    )
    assert ours[0] == ref.pvalue


def test_distance_correlation_equals_dcor_and_is_zero_for_constants() -> None:
    rng = np.random.default_rng(1)
    x, y = _factors(30, rng)
    x = np.vstack([x, np.full(30, 2.0)])
    got = distance_correlation_batch(double_centred(x), double_centred(y))
    want = [dcor.distance_correlation(row, y) for row in x[:3]]
    np.testing.assert_allclose(got[:3], want, rtol=1e-10)
    assert got[3] == 0.0
    p, _ = permutation_pvalues(x, y, draw_permutations(30, 19, rng))
    assert p[3] == 1.0 and p[0] < 0.1


def test_ties_are_not_more_extreme() -> None:
    # a two-level factor: many permutations reproduce the observed statistic exactly
    x = np.array([[0.0, 0.0, 1.0, 1.0, 0.0, 1.0]])
    y = np.array([1.0, 1.2, 4.0, 4.1, 1.1, 3.9])
    perms = draw_permutations(6, 199, np.random.default_rng(0))
    p, _ = permutation_pvalues(x, y, perms)
    a, b = double_centred(x), double_centred(y)
    stats = permuted_statistics(a, b, perms)[0]
    observed = float(np.einsum("ij,ij->", a[0], b)) / 6
    strictly = np.sum(stats > observed * (1 + 1e-9))
    assert p[0] == (strictly + 1) / 200 and p[0] < 0.2
