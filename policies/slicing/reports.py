"""Pure helpers of the level-two DAs (seed 000 Sec. III.D): DEMAND reports -> demand records
(QoE-based or, for HSLA-L2, QoS/SLA-based), shared computing pools split per edge server, the
network dynamics analysis of the DYNAMICS reports, the slicing group of a user, and the wire
form of a strategy profile.

Reports are read by attribute (the ``model.messages`` payloads); nothing here imports Mesa or
the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from policies.slicing.abstraction import DemandDistribution, DemandRecord
from policies.slicing.params import SlicingParams
from policies.slicing.window import dynamics_index

# DYNAMICS reports kept per user for the dynamics analysis (rate of change needs two).
HISTORY = 3
DEMAND_OF_KIND = {"comm": "comm_hz", "compute": "cpu_hz"}


def ela_tier(ela: float, low: float, high: float, tiers: int) -> int:
    """The ELA tier of a user: ``tiers`` equal bins of [low, high] (``das.ela_tiers``)."""
    return int(np.clip(np.floor((ela - low) / max(high - low, 1e-9) * tiers), 0, tiers - 1))


def group_key(service: str, cell: int, tier: int) -> str:
    """A slicing group: service type = ELA tier, and base station (``video/t<k>@bs<j>``)."""
    return f"{service}/t{tier}@bs{cell}"


# HSLA-L2's QoS utility (seed 000 Sec. IV: "QoS models and SLA to estimate resource demand"):
# the utility of a user's slice is the share of its SLA demand met, on the scheme's gain
# curve, worth QOS_UTILITY_AT_DEMAND when the demand (the bandwidth the SLA's promised bitrate
# needs at the user's spectral efficiency, and the computing that bitrate needs) is met. Every
# user is worth the same at its demand: a QoS model knows rates, not how a person feels.
QOS_UTILITY_AT_DEMAND = 1.0
DEMAND_MODES = ("qoe", "sla")


def gain_at_demand(r: Any, comm: float, demand: str) -> float:
    """What meeting a report's demand is worth to level two.

    "qoe" (Proposed, PDRL-L1, w/o DA): the DA's predicted QoE gain per Hz at the demand times
    the bandwidth demand; a DA without a QoE model yet (``structure == "sla"``) or without a
    finite gain gets the neutral prior QOS_UTILITY_AT_DEMAND (one MOS point). "sla" (HSLA-L2):
    always the QoS utility QOS_UTILITY_AT_DEMAND — nothing derived from a QoE model
    (``gain_per_hz``, ``predicted_qoe``, ``structure``) is read.
    """
    if demand not in DEMAND_MODES:
        raise ValueError(f"demand {demand!r} not in {DEMAND_MODES}")
    if demand == "sla" or r.structure == "sla" or not np.isfinite(r.gain_per_hz):
        return QOS_UTILITY_AT_DEMAND
    return max(float(r.gain_per_hz), 0.0) * comm


def demand_records(
    reports: Sequence[Any],
    service_of: Callable[[Any], str],
    kinds: Sequence[str],
    demand: str = "qoe",
) -> list[DemandRecord]:
    """Turn DEMAND reports (``model.messages.DemandReport``) into the abstraction's records.

    Users without a cell are skipped. Amounts: ``comm_hz``/``cpu_hz`` per kind. Gains: what
    meeting the demand is worth (:func:`gain_at_demand`), per unit of each kind: computing is
    the other half of a Leontief pair (playback needs both), so its gain at the demand is the
    same, per cycle. A "qoe" DA whose model sees no gain (e.g. a constant fit) reports 0 and
    its user is not eligible for slices.
    """
    out = []
    for r in sorted(reports, key=lambda rep: rep.user):
        if r.cell < 0:
            continue
        amount = {k: max(float(getattr(r, DEMAND_OF_KIND[k])), 0.0) for k in kinds}
        worth = gain_at_demand(r, amount.get("comm", 0.0), demand)
        gain = tuple(worth / amount[k] if amount[k] > 0 else 0.0 for k in kinds)
        out.append(
            DemandRecord(
                r.user, service_of(r), r.cell, tuple(amount[k] for k in kinds), gain, r.ela
            )
        )
    return out


def split_shared_pools(
    dist: DemandDistribution, edge_of_station: Mapping[int, int]
) -> DemandDistribution:
    """Split each shared pool (e.g. "compute") into one pool per edge server ("compute@edge0").

    A base station hangs off one edge server, so a group can use only its own edge's computing.
    """
    edge_of_row = np.array([edge_of_station[b] for _, b in dist.keys], dtype=int)
    edges = sorted(set(edge_of_row.tolist()))
    pools: list[str] = []
    cols: list[tuple[int, int | None]] = []
    for p, name in enumerate(dist.pools):
        if "@" in name:
            pools.append(name)
            cols.append((p, None))
            continue
        for e in edges:
            pools.append(f"{name}@edge{e}")
            cols.append((p, e))

    def column(arr: np.ndarray, p: int, e: int | None) -> np.ndarray:
        return arr[:, p] if e is None else np.where(edge_of_row == e, arr[:, p], 0.0)

    def stack(arr: np.ndarray) -> np.ndarray:
        if not cols:
            return np.zeros((len(dist.keys), 0))
        return np.stack([column(arr, p, e) for p, e in cols], axis=1)

    return dataclasses.replace(
        dist, pools=tuple(pools), demand=stack(dist.demand), gain_scale=stack(dist.gain_scale)
    )


def _component(
    b: np.ndarray,
    c: np.ndarray,
    handovers: float,
    interval_min: float,
    params: SlicingParams,
    j: int,
) -> float:
    only = tuple(1.0 if k == j else 0.0 for k in range(3))
    return dynamics_index(
        b, c, handovers, interval_min, dataclasses.replace(params, dynamics_weights=only)
    )


def window_dynamics(
    history: Mapping[int, Sequence[Any]], interval_min: float, params: SlicingParams
) -> float:
    """Dynamics index in [0, 1) from the users' latest DYNAMICS reports (Sec. III.D.2).

    Components, each evaluated by ``dynamics_index`` and weighted by ``dynamics_weights``:
    variability = the emulated standard deviation of B and C in the latest forecasts (a
    two-point +-sigma series has exactly that deviation); rate = change of the forecast means
    between successive reports, ``interval_min`` apart; handovers = those counted between the
    reports (or over the last interval when a user has one report).
    """
    rows = [list(h)[-HISTORY:] for h in history.values() if h]
    if not rows:
        return 0.0
    s = min(len(r) for r in rows)
    rows = [r[-s:] for r in rows]
    last = [r[-1] for r in rows]
    spread_b = np.array([[x.b_mean - x.b_std, x.b_mean + x.b_std] for x in last])
    spread_c = np.array([[x.c_mean - x.c_std, x.c_mean + x.c_std] for x in last])
    means_b = np.array([[x.b_mean for x in r] for r in rows])
    means_c = np.array([[x.c_mean for x in r] for r in rows])
    handovers = sum(x.handovers for r in rows for x in (r[1:] if s > 1 else r))
    parts = (
        _component(spread_b, spread_c, 0.0, interval_min, params, 0),
        _component(means_b, means_c, 0.0, interval_min, params, 1),
        _component(means_b, means_c, float(handovers), interval_min, params, 2),
    )
    weights = np.asarray(params.dynamics_weights, dtype=float)
    return float(np.dot(weights, parts) / weights.sum())


def as_profile(x: np.ndarray) -> tuple[tuple[float, ...], ...]:
    """A profile array as the nested tuples a STRATEGY message carries."""
    return tuple(tuple(float(v) for v in row) for row in np.atleast_2d(x))


def strategy_size(n_rows: int, n_pools: int) -> int:
    """Bytes of a STRATEGY message: header + the profile's float64s."""
    return 48 + 8 * n_rows * n_pools
