"""The default mapping of a slicing game's grant to a 3GPP RRM policy (see ``model.rrm``).

dedicated = ``rrm_dedicated_fraction`` x minimum, minimum = max(g, ``rrm_floor_share``) (minima
scaled down to the pool if a floor makes them exceed it), maximum = minimum
(``rrm_maximum = "grant"``) or 1 (``"pool"``). A class with no slice in a sliced pool (users that
moved in, or sent no demand) is best effort with the floor as its minimum. A pool where the
game granted nothing at all (no demand reached level two from it) has no slices that window:
best effort by weights. Reasons in ``model.rrm``.
"""

from __future__ import annotations

import numpy as np

from model.rrm import RrmPolicy
from policies.slicing.params import SlicingParams


def policy_from_grants(shares: np.ndarray, params: SlicingParams) -> RrmPolicy:
    """The default RRM policy of grants ``shares`` (pools x classes, shares of each pool;
    NaN = the class has no slice in that pool: best effort there)."""
    g = np.asarray(shares, dtype=float).copy()
    g[np.nansum(g, axis=1) <= 0.0] = np.nan  # the game granted nothing here: no slices, best effort
    sliced = ~np.isnan(g)
    in_sliced_pool = sliced.any(axis=1, keepdims=True)
    floor = params.rrm_floor_share
    # A class the game did not slice in a sliced pool (its users moved in, or sent no demand)
    # still gets the floor as its minimum, and may take what the slices leave (maximum 1).
    lo = np.where(
        sliced,
        np.clip(np.maximum(np.nan_to_num(g), floor), 0, 1),
        np.where(in_sliced_pool, floor, 0.0),
    )
    # A floor can make minima sum above 1: scale them down to the pool.
    total = lo.sum(axis=1, keepdims=True)
    lo = lo / np.maximum(total, 1.0)
    hi = lo.copy() if params.rrm_maximum == "grant" else np.ones_like(lo)
    hi = np.where(sliced, hi, 1.0)
    return RrmPolicy(lo * params.rrm_dedicated_fraction, lo, hi)
