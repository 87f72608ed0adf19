"""Slice units and their budgets: which users an edge orchestrator allocates together, and how
much each unit may hand out (seed 000 Sec. III.C.3 and III.D; Mesa-free).

A *slice unit* is a slicing group of the level-two game at one cell: the users of one ELA tier
(the service type the seed's level two slices by) served by one base station, keyed exactly as
the controller keys its groups (``policies.slicing.reports.group_key``: ``video/t<k>@bs<j>``).

A unit's *budget* is what its slice was granted (the SLICE message's row for the unit's key:
its ``comm@bs<j>`` Hz and its ``compute@edge<e>`` cycles/s). Before any grant, or for a unit the
grant does not name, the orchestrator splits what it manages evenly by head-count among the
users it has heard of: a cell's bandwidth over the cell's users, the server's computing over
all its users. That pre-grant rule is the neutral start of the seed's scheme (no slice has been
decided yet); a unit named in a grant with zero gets zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from policies.slicing.reports import ela_tier, group_key


@dataclass(frozen=True, slots=True)
class UnitRules:
    """What an orchestrator needs to form units and budgets (from the scenario)."""

    service: str
    ela_low: float
    ela_high: float
    ela_tiers: int
    cell_hz: float  # a cell's bandwidth (Hz)
    cpu_hz: float  # the edge server's computing (cycles/s)


@dataclass(frozen=True, slots=True)
class Unit:
    """One slice unit with its budget."""

    key: str
    members: tuple[Any, ...]  # QoE model notices, by user id
    bandwidth_hz: float
    cycles_per_s: float


def unit_key(cell: int, ela: float, rules: UnitRules) -> str:
    """The slicing group of a user at ``cell`` with experience level agreement ``ela``."""
    tier = ela_tier(ela, rules.ela_low, rules.ela_high, rules.ela_tiers)
    return group_key(rules.service, int(cell), tier)


def slice_units(notices: Iterable[Any], rules: UnitRules) -> dict[str, list[Any]]:
    """Notices (``.user``, ``.cell``, ``.ela``) grouped by unit key, users in id order."""
    units: dict[str, list[Any]] = {}
    for n in sorted(notices, key=lambda x: x.user):
        units.setdefault(unit_key(n.cell, n.ela, rules), []).append(n)
    return units


def grant_row(grant: Any, key: str) -> dict[str, float] | None:
    """Pool -> amount the grant (a ``SliceGrant``) gives group ``key``; None if not named."""
    if grant is None or key not in grant.groups:
        return None
    return dict(zip(grant.pools, grant.slices[grant.groups.index(key)], strict=True))


def unit_budgets(
    notices: Sequence[Any], grant: Any, edge_index: int, rules: UnitRules
) -> list[Unit]:
    """Every unit among ``notices`` (this edge's users) with its budget (module docstring)."""
    per_cell: dict[int, int] = {}
    for n in notices:
        per_cell[n.cell] = per_cell.get(n.cell, 0) + 1
    out = []
    for key, members in slice_units(notices, rules).items():
        cell = members[0].cell
        row = grant_row(grant, key)
        if row is not None:
            bw = row.get(f"comm@bs{cell}", 0.0)
            cyc = row.get(f"compute@edge{edge_index}", row.get("compute", 0.0))
        else:
            bw = rules.cell_hz * len(members) / per_cell[cell]
            cyc = rules.cpu_hz * len(members) / len(notices)
        out.append(Unit(key, tuple(members), min(float(bw), rules.cell_hz), float(cyc)))
    return out


def lift_to_floors(x: np.ndarray, floors: np.ndarray, budget: float) -> np.ndarray:
    """``x`` with every entry raised to its floor, paid from the headroom of the others.

    Floors are first capped at the equal share ``budget / n`` (so they always fit); entries
    below their floor are lifted to it, and the excess this creates over ``budget`` is taken
    from the entries above their floor in proportion to their headroom ``x_i - floor_i``. An
    allocation that already meets every floor is returned unchanged; the total never exceeds
    ``max(budget, sum(x))``.
    """
    x = np.asarray(x, float)
    n = len(x)
    if n == 0 or budget <= 0:
        return x.copy()
    f = np.minimum(np.maximum(np.asarray(floors, float), 0.0), budget / n)
    out = np.maximum(x, f)
    excess = out.sum() - max(budget, x.sum())
    if excess > 0:
        above = x > f
        head = np.where(above, x - f, 0.0)
        total = head.sum()
        if total > 0:
            out = np.where(above, f + head * max(0.0, 1.0 - excess / total), out)
    return out
