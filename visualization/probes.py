"""What the page reads from a model, found by name so each chart shows only what exists.

The visual server is written against the world every scenario has (``model.world``,
``model.topology``, ``model.bus``, the DataCollector) and *probes* for what services, digital
agents and twins add. A chart whose data is absent says "not in this scenario" and lights up
when the data appears. The names it looks for (the contract with ``model.extensions``):

Model reporters (DataCollector columns):
    ``qoe_mean``, ``ela_ratio`` (share of users at or above their ELA now), ``nash_gap``,
    ``br_rounds`` (best-response rounds of the last game), ``slice_window_s``,
    ``meta_reward*`` (cloud twin's meta-learning reward, one column per curve), ``migrations``,
    ``meta_rounds``, ``sent_<kind>`` (messages sent by kind, cumulative, from the bus).
Slices: the reservations of ``model.ledger`` (one owner per user group's slice).
Per-user columns (``model.extensions.user_columns()``, one value per user):
    ``qoe`` (current QoE / MOS), ``ela`` (the user's ELA threshold), ``ela_ratio`` (share of
    the user's QoE samples at or above its ELA in the current slicing window); else an
    extension's ``ela_frame()`` table with an ``ela_ratio`` column per (user, window).
Agents (by their ``role``): ``edge_twin`` agents live on an edge-server node (``node``), may
    be ``migrating_to`` another and follow the vehicle agent ``cluster_id``; ``vehicle``
    agents are drawn at their ``xy`` (or their row ``index`` of ``fleet.mobility.positions``);
    ``level_one`` / ``level_two`` / ``cloud_twin`` agents are counted on their ``node``.
Bus: ``model.bus.link_bytes`` (bytes per wired link) when the bus meters links itself; else the
    page's own meter (:class:`visualization.vizmodel.LinkMeter`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

ABSENT = "not in this scenario"

QOE_KEYS = ("qoe", "mos")
ELA_KEYS = ("ela", "ela_target")
ELA_RATIO_KEYS = ("ela_ratio",)


def model_frame(model: Any) -> pd.DataFrame:
    """The model-level DataCollector table (empty if the model collects nothing)."""
    dc = getattr(model, "datacollector", None)
    if dc is None:
        return pd.DataFrame()
    return dc.get_model_vars_dataframe()


def present(df: pd.DataFrame, *names: str) -> list[str]:
    """The ``names`` that are columns of ``df`` and hold at least one finite value."""
    out = []
    for name in names:
        if name in df.columns:
            values = pd.to_numeric(df[name], errors="coerce")
            if np.isfinite(values.to_numpy(dtype=float)).any():
                out.append(name)
    return out


def prefixed(df: pd.DataFrame, prefix: str) -> list[str]:
    """Columns named ``<prefix><something>`` with at least one finite value, in order."""
    return present(df, *[c for c in df.columns if isinstance(c, str) and c.startswith(prefix)])


def time_axis(df: pd.DataFrame) -> pd.Series:
    """Network time in seconds of each row (the step index when ``time_s`` is missing)."""
    if "time_s" in df.columns:
        return df["time_s"]
    return pd.Series(df.index.to_numpy(dtype=float), index=df.index)


def user_columns(model: Any) -> Mapping[str, Any]:
    """Extra per-user arrays the extensions provide (empty without extensions)."""
    ext = getattr(model, "extensions", None)
    fn = getattr(ext, "user_columns", None)
    if fn is None:
        return {}
    cols = fn()
    return cols if isinstance(cols, Mapping) else {}


def user_array(model: Any, keys: Iterable[str]) -> np.ndarray | None:
    """The first per-user array among ``keys`` (extension columns, then world attributes).

    Returns:
        A float array with one finite-or-NaN value per user, or None if none is there or it
        has the wrong length or holds no finite value.
    """
    world = getattr(model, "world", None)
    n = int(getattr(world, "n", 0))
    cols = user_columns(model)
    for key in keys:
        raw = cols.get(key, getattr(world, key, None))
        if raw is None:
            continue
        arr = np.asarray(raw, dtype=float).reshape(-1)
        if n and arr.shape == (n,) and np.isfinite(arr).any():
            return arr
    return None


def user_qoe(model: Any) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(QoE per user, ELA per user or None), or None when users have no QoE."""
    qoe = user_array(model, QOE_KEYS)
    if qoe is None:
        return None
    return qoe, user_array(model, ELA_KEYS)


def agents_with_role(model: Any, role: str) -> list[Any]:
    """The model's agents whose ``role`` is ``role``, by unique id."""
    agents = getattr(model, "agents", ())
    return sorted(
        (a for a in agents if getattr(a, "role", None) == role), key=lambda a: a.unique_id
    )


def edge_twins(model: Any) -> list[tuple[Any, str]]:
    """(edge twin, the edge-server node hosting it) for every twin on an edge server."""
    out = []
    for twin in agents_with_role(model, "edge_twin"):
        node = getattr(twin, "node", None)
        if isinstance(node, str) and node.startswith("edge:"):
            out.append((twin, node))
    return out


def agent_xy(agent: Any) -> tuple[float, float] | None:
    """Where a user or vehicle agent is: its ``xy``, else its row of its fleet's positions."""
    xy = getattr(agent, "xy", None)
    if xy is None:
        positions = getattr(
            getattr(getattr(agent, "fleet", None), "mobility", None), "positions", None
        )
        index = getattr(agent, "index", None)
        if positions is None or index is None or not 0 <= index < len(positions):
            return None
        xy = positions[index]
    return float(xy[0]), float(xy[1])


def vehicle_positions(model: Any) -> np.ndarray | None:
    """(n, 2) positions of the vehicle agents that have one (None when there are none)."""
    xy = [agent_xy(v) for v in agents_with_role(model, "vehicle")]
    xy = [p for p in xy if p is not None]
    return np.asarray(xy, dtype=float).reshape(-1, 2) if xy else None


def ela_ratio_samples(model: Any) -> np.ndarray | None:
    """ELA achievable ratios: one per user, or one per (user, slicing window) so far.

    From the per-user column ``ela_ratio`` when the extensions give one, else from an
    extension's ``ela_frame()`` table (seed 000 Fig. 5a plots its CDF).
    """
    ratio = user_array(model, ELA_RATIO_KEYS)
    if ratio is not None:
        return ratio[np.isfinite(ratio)]
    for part in getattr(getattr(model, "extensions", None), "parts", ()):
        frame_of = getattr(part, "ela_frame", None)
        frame = frame_of() if callable(frame_of) else None
        if isinstance(frame, pd.DataFrame) and "ela_ratio" in frame.columns and len(frame):
            values = frame["ela_ratio"].to_numpy(dtype=float)
            return values[np.isfinite(values)]
    return None


def slice_reservations(model: Any) -> pd.DataFrame:
    """Share of each resource pool reserved by each owner (a user group's slice).

    Returns:
        Columns ``pool`` ("bs:0 comm"), ``owner`` and ``share`` (of the pool's capacity);
        empty when nothing is reserved.
    """
    ledger = getattr(model, "ledger", None)
    rows: list[dict[str, Any]] = []
    if ledger is None:
        return pd.DataFrame(rows, columns=["pool", "owner", "share"])
    for r in ledger.reservations():
        capacity = ledger.capacity(r.node, r.kind)
        if capacity > 0:
            kind = getattr(r.kind, "value", r.kind)
            rows.append(
                {"pool": f"{r.node} {kind}", "owner": r.owner, "share": r.amount / capacity}
            )
    return pd.DataFrame(rows, columns=["pool", "owner", "share"])


def scheme_of(model: Any) -> str:
    """The management scheme the model runs ("?" if unknown)."""
    cfg = getattr(model, "cfg", None)
    return str(getattr(getattr(cfg, "scenario", None), "scheme", "?"))
