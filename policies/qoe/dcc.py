"""Batched distance-correlation statistics and permutation tests (seed 000 Sec. III.C.1, Fig. 2).

The factor selection of a level-one DA tests, for every candidate factor x_k, whether the MOS y
depends on it: distance covariance (Szekely et al. 2007) V^2(x, y) = mean(A_k * B) of the
double-centred distance matrices A_k (of x_k) and B (of y), against its permutation
distribution. ``dcor.independence.distance_covariance_test`` does this one factor at a time, one
permutation per joblib task. Here every factor and every permutation is one array computation:

* the double-centred matrices of all factors are one (K, n, n) array;
* a permutation p of x's rows and columns is the inverse permutation q = p^-1 of y's, since
  sum_ij A[p_i, p_j] B_ij = sum_ij A_ij B[q_i, q_j]; the permutations are an index array
  (R, n) and the permuted statistics of all factors an ``einsum`` over chunks of permutations;
* the statistic is n V^2 (dcor's), the p-value (1 + #{permuted > observed}) / (R + 1) (dcor's).

Given the same permutations, the p-values equal dcor's (tested) except where a permuted
statistic ties the observed one: then the comparison depends on floating-point summation order
in both codes. We count a permuted statistic as more extreme only when it exceeds the observed
one by more than ``TIE_RTOL`` relative (ties are not more extreme), which makes the p-value of
tied data (quality levels, zero rebuffering) independent of summation order.

All factors of one fit share the same R permutations (drawn from the DA's stream, R calls of
``rng.permutation(n)``). The tests are then dependent, which the Holm correction allows (it holds
under any dependence).
"""

from __future__ import annotations

import numpy as np

TIE_RTOL = 1e-9
_CHUNK_ELEMENTS = 1 << 21  # permuted (r, n, n) block kept below ~16 MB of float64


def double_centred(x: np.ndarray) -> np.ndarray:
    """Double-centred Euclidean distance matrices of univariate samples.

    Args:
        x: samples, shape (n,) or (K, n) (one row per factor).

    Returns:
        Shape (n, n) or (K, n, n): a_ij - row mean - column mean + grand mean.
    """
    v = np.asarray(x, dtype=float)
    d = np.abs(v[..., :, None] - v[..., None, :])
    row = d.mean(axis=-1, keepdims=True)
    col = d.mean(axis=-2, keepdims=True)
    return d - row - col + d.mean(axis=(-2, -1), keepdims=True)


def distance_correlation_batch(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance correlation of each factor with y from double-centred matrices (V-statistics).

    Args:
        a: (K, n, n) matrices of the factors; b: (n, n) matrix of y.

    Returns:
        (K,) DCC in [0, 1]; 0 where a factor or y is constant.
    """
    dcov2 = np.einsum("kij,ij->k", a, b) / b.size
    dvar_x = np.einsum("kij,kij->k", a, a) / b.size
    dvar_y = float(np.einsum("ij,ij->", b, b)) / b.size
    denom = np.sqrt(np.maximum(dvar_x, 0.0) * max(dvar_y, 0.0))
    ok = denom > 0.0
    out = np.zeros(a.shape[0])
    out[ok] = np.sqrt(np.maximum(dcov2[ok], 0.0) / denom[ok])
    return out


def draw_permutations(n: int, num_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(R, n) permutation index array: R calls of ``rng.permutation(n)``, as dcor draws them."""
    if num_resamples == 0:
        return np.empty((0, n), dtype=np.int64)
    return np.stack([rng.permutation(n) for _ in range(num_resamples)])


def permuted_statistics(a: np.ndarray, b: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """n V^2 of every factor under every permutation of the factor's rows and columns.

    Args:
        a: (K, n, n) double-centred matrices of the factors.
        b: (n, n) double-centred matrix of y.
        perms: (R, n) permutations p applied to the factors (as dcor applies them).

    Returns:
        (K, R) statistics, equal to dcor's ``n * mean_product(A[p][:, p], B)``.
    """
    n = b.shape[0]
    inverse = np.argsort(perms, axis=1)  # permuting A by p == permuting B by p^-1
    out = np.empty((a.shape[0], perms.shape[0]))
    step = max(1, _CHUNK_ELEMENTS // max(n * n, 1))
    for s in range(0, perms.shape[0], step):
        q = inverse[s : s + step]
        b_perm = b[q[:, :, None], q[:, None, :]]  # (r, n, n)
        out[:, s : s + step] = np.einsum("kij,rij->kr", a, b_perm) / n
    return out


def permutation_pvalues(
    x: np.ndarray, y: np.ndarray, perms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance-covariance permutation test of y against every row of x, in one computation.

    Args:
        x: (K, n) factor samples; y: (n,) MOS; perms: (R, n) permutations.

    Returns:
        (p-values (K,), observed statistics n V^2 (K,)); p = 1 for a constant factor or y.
    """
    xs = np.atleast_2d(np.asarray(x, dtype=float))
    yv = np.asarray(y, dtype=float)
    a, b = double_centred(xs), double_centred(yv)
    n = yv.size
    observed = np.einsum("kij,ij->k", a, b) / n
    permuted = permuted_statistics(a, b, perms)
    extreme = permuted > observed[:, None] + TIE_RTOL * np.abs(observed[:, None])
    pvalues = (extreme.sum(axis=1) + 1.0) / (perms.shape[0] + 1.0)
    constant = (np.ptp(xs, axis=1) == 0.0) | (np.ptp(yv) == 0.0)
    pvalues[constant] = 1.0
    return pvalues, observed
