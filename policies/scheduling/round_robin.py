"""Round-robin scheduling, the w/o-DA benchmark's real-time allocator (seed 000, Sec. IV).

Seed Sec. IV: "The w/o DA scheme utilizes ... round-robin scheduling methods for real-time
resource allocation". Active users get equal shares; an indivisible resource (bandwidth in
physical resource blocks) is dealt out unit by unit, the remainder going to the next users in a
rotating order so that over consecutive slots no user is favoured.
"""

from __future__ import annotations

import math

import numpy as np


def round_robin_units(active: np.ndarray, units: int, offset: int = 0) -> tuple[np.ndarray, int]:
    """Deal ``units`` indivisible units equally among the active users.

    Every active user gets ``units // n_active``; the remaining units go one each to the active
    users at positions ``offset, offset + 1, ...`` (cyclically) of the active order.

    Args:
        active: boolean mask (n_users,) of users to serve.
        units: number of indivisible units (>= 0).
        offset: position in the active order where this slot's remainder starts.

    Returns:
        Units per user (inactive users get 0) and the offset for the next slot.
    """
    mask = np.asarray(active, dtype=bool)
    alloc = np.zeros(mask.size, dtype=np.int64)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return alloc, offset
    start = offset % idx.size
    if units <= 0:
        return alloc, start
    base, remainder = divmod(int(units), idx.size)
    alloc[idx] = base
    alloc[idx[(start + np.arange(remainder)) % idx.size]] += 1
    return alloc, (start + remainder) % idx.size


def round_robin_allocation(
    active: np.ndarray,
    budget_hz: float,
    budget_cycles: float,
    resource_block_hz: float,
    offset: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Round-robin bandwidth (in whole resource blocks) and computing (divisible) allocation.

    Returns:
        Bandwidth per user in Hz, cycles/s per user, and the next rotation offset.
    """
    mask = np.asarray(active, dtype=bool)
    blocks = whole_blocks(budget_hz, resource_block_hz)
    units, nxt = round_robin_units(mask, blocks, offset)
    cycles = np.where(mask, budget_cycles / max(int(mask.sum()), 1), 0.0)
    return units * resource_block_hz, cycles, nxt


def whole_blocks(budget: float, block: float, rel_tol: float = 1e-9) -> int:
    """Largest k with k * block <= budget up to a relative float tolerance.

    The tolerance keeps a budget of exactly k blocks (e.g. 0.3 / 0.1) from losing a block to
    rounding; the allocation may then exceed the budget by at most ``rel_tol`` relative.
    """
    limit = budget * (1 + rel_tol)
    k = max(math.floor(budget / block), 0)
    while k > 0 and k * block > limit:
        k -= 1
    while (k + 1) * block <= limit:
        k += 1
    return k
