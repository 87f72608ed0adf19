"""Pure helpers of the level-two DAs, kept importable here: they live in
:mod:`policies.slicing.reports` (Mesa-free, used by the controller core)."""

from __future__ import annotations

from policies.slicing.reports import (
    DEMAND_OF_KIND,
    HISTORY,
    QOS_UTILITY_AT_DEMAND,
    as_profile,
    demand_records,
    ela_tier,
    gain_at_demand,
    group_key,
    split_shared_pools,
    strategy_size,
    window_dynamics,
)

__all__ = [
    "DEMAND_OF_KIND",
    "HISTORY",
    "QOS_UTILITY_AT_DEMAND",
    "as_profile",
    "demand_records",
    "ela_tier",
    "gain_at_demand",
    "group_key",
    "split_shared_pools",
    "strategy_size",
    "window_dynamics",
]
