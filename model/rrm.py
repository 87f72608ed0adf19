"""Slices that bind: RRM policies enforced per slot and pool (3GPP TS 28.541 RRMPolicyRatio).

3GPP TS 28.541 (5G NRM, Sec. 4.3.36 ``RRMPolicyRatio``) describes a slice's share of a cell's
resources by three ratios: ``rRMPolicyDedicatedRatio`` (held for the slice, unusable by others
even when it is idle), ``rRMPolicyMinRatio`` (prioritised: guaranteed while the slice has
traffic, usable by others otherwise) and ``rRMPolicyMaxRatio`` (the most the slice may use).
dedicated <= minimum <= maximum. The standard leaves the scheduler that enforces them to the
vendor; ours, per pool (a cell's bandwidth, an edge server's computing) and slot:

1. every slice with traffic gets its minimum; an idle slice keeps its dedicated part (wasted);
2. what is left goes to the slices with traffic in proportion to their headroom
   (maximum - minimum), never above a maximum; users outside every slice form a best-effort
   class with ratios (0, 0, 1);
3. inside a slice, users share its amount in proportion to their weights (the edge
   orchestrator's per-user allocation, in Hz or cycles/s), or equally when the orchestrator gave
   every user of the slice weight 0 but the policy still gives the slice something (a floor).

Default mapping of a game grant g (share of the pool) to a policy (``SlicingParams``):
dedicated = ``rrm_dedicated_fraction`` x minimum, minimum = max(g, ``rrm_floor_share``),
maximum = minimum (``rrm_maximum = "grant"``) or 1 (``"pool"``). Our reasons: the game grants
reservations whose sum is the pool, so a grant is the slice's guarantee (minimum); capping at the
grant keeps the equilibrium the thing users get (a slice cannot take more than it paid for); the
floor (default 5 %, 0 = a zero grant means zero) keeps a slice the game priced out from starving
its users; the work-conserving ``"pool"`` variant shares idle slices' capacity. A pool the game
granted nothing (no demand reached level two from it) is left unsliced: best effort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RrmPolicy:
    """RRMPolicyRatio of every (pool, slice class): (pools, classes) arrays of shares."""

    dedicated: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @classmethod
    def best_effort(cls, pools: int, classes: int) -> RrmPolicy:
        """No slice guarantees anything and every slice may use the whole pool."""
        z = np.zeros((pools, classes))
        return cls(z, z.copy(), np.ones((pools, classes)))

    def check(self) -> None:
        d, lo, hi = self.dedicated, self.minimum, self.maximum
        if not (d.shape == lo.shape == hi.shape):
            raise ValueError("dedicated, minimum and maximum must have one shape")
        if np.any(d < -1e-12) or np.any(d > lo + 1e-12) or np.any(lo > hi + 1e-12):
            raise ValueError("an RRM policy needs 0 <= dedicated <= minimum <= maximum")
        if np.any(hi > 1 + 1e-12):
            raise ValueError("an RRM policy's maximum is a share of the pool, at most 1")


def slice_amounts(
    policy: RrmPolicy, has_traffic: np.ndarray, capacity: np.ndarray
) -> np.ndarray:
    """Amount of each (pool, class) this slot (steps 1-2 of the module doc).

    Args:
        policy: the pools' RRM policies (pools x classes).
        has_traffic: (pools, classes) whether the slice has a user with traffic there.
        capacity: (pools,) capacity of each pool (Hz, cycles/s).
    """
    has = np.asarray(has_traffic, bool)
    base = np.where(has, policy.minimum, policy.dedicated)
    total = base.sum(axis=1, keepdims=True)
    base = base / np.maximum(total, 1.0)  # minima above the pool: scaled (never over-allocate)
    left = np.clip(1.0 - base.sum(axis=1), 0.0, None)
    head = np.where(has, np.clip(policy.maximum - base, 0.0, None), 0.0)
    room = head.sum(axis=1)
    frac = np.divide(left, room, out=np.zeros_like(left), where=room > 0)
    share = np.where(has, base + head * np.minimum(frac, 1.0)[:, None], 0.0)
    return share * np.asarray(capacity, float)[:, None]


def rrm_shares(
    pool: np.ndarray,
    klass: np.ndarray,
    weight: np.ndarray,
    active: np.ndarray,
    capacity: np.ndarray,
    policy: RrmPolicy,
) -> np.ndarray:
    """Per-user amount of one resource under the pools' RRM policies (vectorised over users).

    Args:
        pool: (users,) pool index of each user (its serving cell, its edge server); -1 = none.
        klass: (users,) slice class of each user in ``policy``'s columns; -1 = no slice
            (the best-effort class).
        weight: (users,) non-negative share weight inside the slice (the orchestrator's Hz or
            cycles/s for the user).
        active: (users,) whether the user has traffic this slot.
        capacity: (pools,) capacity per pool.
        policy: RRM policies, (pools, classes).

    Returns:
        (users,) amount each user gets; users without traffic or pool get 0.
    """
    n_pools, n_cls = policy.minimum.shape
    width = n_cls + 1  # last column: best effort (0, 0, 1)
    pad = np.zeros((n_pools, 1))
    full = RrmPolicy(
        np.hstack([policy.dedicated, pad]),
        np.hstack([policy.minimum, pad]),
        np.hstack([policy.maximum, pad + 1.0]),
    )
    pool = np.asarray(pool, np.int64)
    live = np.asarray(active, bool) & (pool >= 0)
    k = np.where(live, pool * width + np.where(klass < 0, n_cls, klass), 0)
    cells = n_pools * width
    users = np.bincount(k, weights=live.astype(float), minlength=cells)
    w = np.where(live, np.maximum(np.asarray(weight, float), 0.0), 0.0)
    wsum = np.bincount(k, weights=w, minlength=cells)
    amount = slice_amounts(full, (users > 0).reshape(n_pools, width), capacity).ravel()
    by_weight = np.divide(w, wsum[k], out=np.zeros(len(w)), where=wsum[k] > 0)
    equal = np.divide(1.0, users[k], out=np.zeros(len(w)), where=users[k] > 0)
    frac = np.where(wsum[k] > 0, by_weight, equal)
    return np.where(live, amount[k] * frac, 0.0)


def newcomer_weights(
    pool: np.ndarray,
    klass: np.ndarray,
    weight: np.ndarray,
    weight_cell: np.ndarray,
    serving: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Weights with every *newcomer* given the mean weight of its slice.

    An orchestrator's weight for a user holds in the cell it was allocated for
    (``weight_cell``; -1: no allocation yet, the weight holds everywhere). A user that has
    handed over to another cell since (``weight_cell != serving``) is, until the orchestrator
    allocates it there, scheduled like the average allocated user of its slice in its new cell
    (a handed-over flow keeps its QoS in the target cell, TS 23.501 5.7): never at the zero or
    the weight another cell's slice gave it. With no allocated user in that slice, newcomers
    share it equally.
    """
    pool = np.asarray(pool, np.int64)
    klass = np.asarray(klass, np.int64)
    weight = np.asarray(weight, float)
    stale = (weight_cell >= 0) & (weight_cell != serving)
    if not stale.any():
        return weight
    width = int(klass.max(initial=0)) + 2
    key = np.where(pool >= 0, pool, 0) * width + np.where(klass < 0, width - 1, klass)
    allocated = ~stale & np.asarray(active, bool) & (pool >= 0)
    size = int(key.max(initial=0)) + 1
    total = np.bincount(key, weights=np.where(allocated, weight, 0.0), minlength=size)
    count = np.bincount(key, weights=allocated.astype(float), minlength=size)
    mean = np.divide(total, count, out=np.ones(size), where=count > 0)
    mean = np.where((count > 0) & (total <= 0), 0.0, mean)  # a slice allocated all-zero
    return np.where(stale, mean[key], weight)
