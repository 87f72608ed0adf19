"""Pure helpers of the level-two DAs (seed 000 Sec. III.D): DEMAND reports -> demand records,
shared computing pools split per edge server, the network dynamics analysis of the DYNAMICS
reports, and the wire form of a strategy profile."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from model.messages import DemandReport, DynamicsReport
from policies.slicing import DemandDistribution, DemandRecord, SlicingParams, dynamics_index

# DYNAMICS reports kept per user for the dynamics analysis (rate of change needs two).
HISTORY = 3
DEMAND_OF_KIND = {"comm": "comm_hz", "compute": "cpu_hz"}


# --- pure helpers: demand abstraction and dynamics analysis -----------------------------------


def demand_records(
    reports: Sequence[DemandReport], service_of: Callable[[DemandReport], str], kinds: Sequence[str]
) -> list[DemandRecord]:
    """Turn DEMAND reports into the abstraction's records (users without a cell are skipped).

    Gains: the DA's QoE gain per Hz (``gain_per_hz``) for bandwidth; computing is the other
    half of a Leontief pair (playback needs both), so its gain at the demand is the same QoE
    gain, per cycle. A DA without a QoE model yet (structure "sla") cannot say; it gets the
    neutral prior "meeting the demand lifts QoE by one MOS point". A DA whose model sees no
    gain (e.g. a constant fit) reports 0 and its user is not eligible for slices.
    """
    out = []
    for r in sorted(reports, key=lambda rep: rep.user):
        if r.cell < 0:
            continue
        amount = {k: max(float(getattr(r, DEMAND_OF_KIND[k])), 0.0) for k in kinds}
        comm = amount.get("comm", 0.0)
        unknown = r.structure == "sla" or not np.isfinite(r.gain_per_hz)
        gain_at_demand = 1.0 if unknown else max(r.gain_per_hz, 0.0) * comm
        gain = tuple(gain_at_demand / amount[k] if amount[k] > 0 else 0.0 for k in kinds)
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
    history: Mapping[int, Sequence[DynamicsReport]], interval_min: float, params: SlicingParams
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
