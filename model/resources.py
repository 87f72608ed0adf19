"""Resources per node in four kinds, and the slice/reservation ledger (seed 000 Sec. II.B).

Every infrastructure node offers some of: communication bandwidth (Hz, at BSs/RSUs), computing
(cycles/s, at edge servers and the cloud), caching (bytes) and sensing (abstract units). A
*reservation* holds an amount of one kind on one node for an owner (a slice of a user group, a
DA, a twin). The ledger refuses any request that would make the reserved total exceed the
node's capacity, so over-allocation is impossible by construction, not by convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The four resource kinds of seed 000 Sec. II.B."""

    COMM = "comm"  # Hz
    COMPUTE = "compute"  # cycles/s
    CACHE = "cache"  # bytes
    SENSING = "sensing"  # abstract sensing units


class OverAllocation(ValueError):
    """A reservation that would exceed a node's capacity of one resource kind."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """``amount`` of ``kind`` held on ``node`` by ``owner``."""

    node: str
    kind: Kind
    owner: str
    amount: float


class ResourceLedger:
    """Capacities per (node, kind) and the reservations against them."""

    _TOL = 1e-9  # relative slack for floating-point sums

    def __init__(self) -> None:
        self._capacity: dict[tuple[str, Kind], float] = {}
        self._held: dict[tuple[str, Kind, str], float] = {}
        self._used: dict[tuple[str, Kind], float] = {}

    def add_capacity(self, node: str, kind: Kind, amount: float) -> None:
        """Declare ``amount`` of ``kind`` at ``node`` (replaces any earlier capacity)."""
        if amount < 0:
            raise ValueError(f"capacity of {kind.value} at {node} must be >= 0, got {amount}")
        used = self._used.get((node, kind), 0.0)
        if used > amount * (1 + self._TOL):
            raise OverAllocation(
                f"{node}/{kind.value}: {used} reserved exceeds new capacity {amount}"
            )
        self._capacity[(node, kind)] = float(amount)

    def capacity(self, node: str, kind: Kind) -> float:
        return self._capacity.get((node, kind), 0.0)

    def used(self, node: str, kind: Kind) -> float:
        return self._used.get((node, kind), 0.0)

    def free(self, node: str, kind: Kind) -> float:
        return max(0.0, self.capacity(node, kind) - self.used(node, kind))

    def held(self, node: str, kind: Kind, owner: str) -> float:
        return self._held.get((node, kind, owner), 0.0)

    def reserve(self, node: str, kind: Kind, owner: str, amount: float) -> Reservation:
        """Set ``owner``'s reservation of ``kind`` at ``node`` to ``amount`` (0 releases it).

        Raises:
            OverAllocation: if the node's total would exceed its capacity; nothing changes then.
            ValueError: for a negative or non-finite amount.
        """
        if not (amount >= 0 and amount != float("inf")):
            raise ValueError(f"reservation must be a finite amount >= 0, got {amount}")
        cap_key = (node, kind)
        if cap_key not in self._capacity:
            raise OverAllocation(f"{node} has no {kind.value} capacity")
        key = (node, kind, owner)
        old = self._held.get(key, 0.0)
        new_used = self._used.get(cap_key, 0.0) - old + amount
        cap = self._capacity[cap_key]
        if new_used > cap * (1 + self._TOL) + 1e-12:
            raise OverAllocation(
                f"{node}/{kind.value}: {owner} asks {amount:g}, "
                f"only {cap - (new_used - amount):g} free"
            )
        if amount == 0:
            self._held.pop(key, None)
        else:
            self._held[key] = float(amount)
        self._used[cap_key] = max(0.0, new_used)
        return Reservation(node, kind, owner, float(amount))

    def release_owner(self, owner: str) -> None:
        """Release every reservation held by ``owner``."""
        for node, kind, own in [k for k in self._held if k[2] == owner]:
            self.reserve(node, kind, own, 0.0)

    def reservations(self) -> list[Reservation]:
        """All current reservations, in a stable order."""
        return [
            Reservation(n, k, o, a)
            for (n, k, o), a in sorted(
                self._held.items(), key=lambda x: (x[0][0], x[0][1].value, x[0][2])
            )
        ]

    def nodes(self) -> list[tuple[str, Kind, float]]:
        """(node, kind, capacity) for every declared capacity."""
        return [
            (n, k, c)
            for (n, k), c in sorted(self._capacity.items(), key=lambda x: (x[0][0], x[0][1].value))
        ]
