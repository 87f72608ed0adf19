"""The network view: the topology drawn at its real coordinates (DESIGN.md "Topology").

Drawn from ``model.world`` and ``model.topology.G`` (never a spring layout): the road graph
as a faint background, wired links (BS/RSU–edge, edge–edge, edge–cloud) with their load as
width (bytes over the model's lifetime) and colour (bytes in the last step), users with a thin
line to their serving cell and coloured by QoE relative to their ELA when the scenario has QoE
(else by SINR), base stations / RSUs, edge servers with the digital agents they host, edge
twins on their current edge server, and the cloud.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import offset_copy

from visualization import probes

LABEL_OFFSET = {"bs": (7, 6), "rsu": (7, 6), "edge": (-9, -13), "cloud": (12, 8)}
INFRA_STYLE = {  # kind -> (marker, size, face colour, label)
    "bs": ("^", 150, "#1f4e9c", "base station"),
    "rsu": ("^", 150, "#1f4e9c", "RSU"),
    "edge": ("s", 300, "none", "edge server"),
    "cloud": ("o", 420, "#dfe7f5", "cloud"),
}
LOAD_CMAP = colormaps["plasma_r"]


def _pos(G: Any, node: str) -> tuple[float, float]:
    x, y = G.nodes[node]["pos"]
    return float(x), float(y)


def link_loads(model: Any) -> tuple[Mapping[tuple[str, str], float], Mapping] | None:
    """(bytes per wired link over the lifetime, in the last step), or None if not metered."""
    bus_links = getattr(getattr(model, "bus", None), "link_bytes", None)
    if isinstance(bus_links, Mapping):
        return bus_links, getattr(model.bus, "link_bytes_last_step", {}) or {}
    meter = getattr(model, "link_meter", None)
    if meter is None:
        return None
    return meter.lifetime, meter.last_step


def _load_of(loads: Mapping, a: str, b: str) -> float:
    return float(loads.get((a, b), loads.get((b, a), 0.0)))


def _draw_roads(ax: Axes, world: Any) -> None:
    graph = getattr(world, "road_graph", None)
    if graph is None or graph.number_of_edges() == 0:
        return
    pos = {n: d["pos"] for n, d in graph.nodes(data=True)}
    segs = [(pos[u], pos[v]) for u, v in graph.edges()]
    ax.add_collection(LineCollection(segs, colors="#e4e4e4", linewidths=2.5, zorder=0))


def _draw_wired(ax: Axes, model: Any) -> str:
    """Wired links; returns a one-line summary of their load for the title."""
    G = model.topology.G
    wired = [(a, b) for a, b, k in G.edges(data="kind") if k == "wired"]
    loads = link_loads(model)
    life = [(_load_of(loads[0], a, b) if loads else 0.0) for a, b in wired]
    last = [(_load_of(loads[1], a, b) if loads else 0.0) for a, b in wired]
    top_life, top_last = max(life, default=0.0), max(last, default=0.0)
    widths = [1.0 + 5.0 * np.sqrt(v / top_life) if top_life else 1.2 for v in life]
    colours = [LOAD_CMAP(0.15 + 0.85 * v / top_last) if top_last else "#9a9a9a" for v in last]
    segs = [(_pos(G, a), _pos(G, b)) for a, b in wired]
    ax.add_collection(LineCollection(segs, colors=colours, linewidths=widths, zorder=1))
    if loads is None:
        return "link load not metered"
    return f"wired load {sum(life) / 1e3:,.1f} kB total, {sum(last) / 1e3:,.1f} kB last step"


def _user_colours(model: Any) -> tuple[np.ndarray, Normalize, Any, str]:
    """(values, norm, colormap, label) colouring users: QoE - ELA if known, else SINR."""
    world = model.world
    qoe = probes.user_qoe(model)
    if qoe is not None and qoe[1] is not None:
        return qoe[0] - qoe[1], Normalize(-2.0, 2.0), colormaps["RdYlGn"], "QoE − ELA"
    if qoe is not None:
        return qoe[0], Normalize(1.0, 5.0), colormaps["RdYlGn"], "QoE (MOS)"
    sinr = np.asarray(world.radio.sinr_db, dtype=float)
    return sinr, Normalize(-5.0, 30.0), colormaps["viridis"], "SINR (dB)"


def _draw_users(fig: Figure, ax: Axes, model: Any) -> None:
    world, G = model.world, model.topology.G
    if world.n == 0:
        return
    kind = model.topology.cell_kind
    cells = np.array([_pos(G, f"{kind}:{j}") for j in range(world.n_cells)])
    serving = np.asarray(world.serving, dtype=int)
    segs = np.stack([world.pos, cells[serving]], axis=1)
    ax.add_collection(
        LineCollection(list(segs), colors="#7d8da8", linewidths=0.5, alpha=0.6, zorder=2)
    )
    values, norm, cmap, label = _user_colours(model)
    dots = ax.scatter(
        world.pos[:, 0],
        world.pos[:, 1],
        c=np.nan_to_num(values, nan=float(norm.vmin or 0.0)),
        cmap=cmap,
        norm=norm,
        s=22,
        edgecolors="#333333",
        linewidths=0.4,
        zorder=4,
    )
    bar = fig.colorbar(dots, ax=ax, fraction=0.035, pad=0.01)
    bar.set_label(label)


def _draw_vehicles(ax: Axes, model: Any) -> None:
    """Vehicle clusters (PLVNs) at their positions, named when there are few."""
    clusters = probes.agents_with_role(model, "vehicle")
    located = [(c, probes.agent_xy(c)) for c in clusters]
    xy = [(c, p) for c, p in located if p is not None]
    if not xy:
        return
    pts = np.array([p for _, p in xy])
    ax.scatter(pts[:, 0], pts[:, 1], marker="s", s=40, c="#16a085", edgecolors="#0b5345", zorder=4)
    if len(xy) <= 12:
        for cluster, (x, y) in xy:
            ax.annotate(
                cluster.node,
                (x, y),
                xytext=(0, 7),
                textcoords="offset points",
                fontsize=6,
                ha="center",
                color="#0b5345",
                zorder=7,
            )


def _draw_infrastructure(ax: Axes, model: Any) -> None:
    G = model.topology.G
    for kind, (marker, size, face, _) in INFRA_STYLE.items():
        nodes = [n for n, k in G.nodes(data="kind") if k == kind]
        if not nodes:
            continue
        xy = np.array([_pos(G, n) for n in nodes])
        edge_colour = "#b5651d" if kind == "edge" else "#1f2d4a"
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            marker=marker,
            s=size,
            facecolors=face,
            edgecolors=edge_colour,
            linewidths=2.0 if kind == "edge" else 1.0,
            zorder=5,
        )
        for name, (x, y) in zip(nodes, xy, strict=True):
            dx, dy = LABEL_OFFSET[kind]
            ax.annotate(
                name,
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                fontsize=7,
                ha="right" if dx < 0 else "left",
                color="#1f2d4a",
                zorder=7,
            )


def _hosted_counts(model: Any) -> dict[str, dict[str, int]]:
    """node -> {role: agents of that role living there}, for the digital agents and twins."""
    counts: dict[str, dict[str, int]] = {}
    for role in ("level_one", "level_two", "cloud_twin"):
        for agent in probes.agents_with_role(model, role):
            node = getattr(agent, "node", None)
            if isinstance(node, str):
                counts.setdefault(node, {}).setdefault(role, 0)
                counts[node][role] += 1
    return counts


def _draw_hosted(ax: Axes, model: Any) -> None:
    """How many digital agents (and the cloud twin) each node hosts."""
    G = model.topology.G
    labels = {"level_one": "L1 DA", "level_two": "L2 DA", "cloud_twin": "cloud twin"}
    for node, roles in _hosted_counts(model).items():
        if node in G:
            text = ", ".join(f"{k} {labels[r]}" for r, k in roles.items())
            ax.annotate(
                text,
                _pos(G, node),
                xytext=(0, -24),
                textcoords="offset points",
                fontsize=7,
                ha="center",
                color="#6b3d12",
                zorder=7,
            )


def _draw_twins(fig: Figure, ax: Axes, model: Any) -> None:
    """Edge twins in a ring around their host edge server, tied to the cluster they follow.

    A dashed line joins a twin's host to its vehicle cluster; an arrow shows a migration in
    progress to another edge server (seed 003 III.B).
    """
    G = model.topology.G
    by_host: dict[str, list[Any]] = {}
    for twin, host in probes.edge_twins(model):
        if host in G:
            by_host.setdefault(host, []).append(twin)
    for host, hosted in by_host.items():
        x0, y0 = _pos(G, host)
        for k, twin in enumerate(hosted):
            angle = 2 * np.pi * k / len(hosted) + np.pi / 4
            ring = offset_copy(
                ax.transData,
                fig=fig,
                units="points",
                x=16 * np.cos(angle),
                y=16 * np.sin(angle),
            )
            ax.scatter(
                [x0],
                [y0],
                marker="D",
                s=90,
                c="#8e44ad",
                edgecolors="white",
                transform=ring,
                zorder=6,
            )
            ax.text(
                x0,
                y0,
                f"T{getattr(twin, 'plvn', twin.unique_id)}",
                transform=ring,
                fontsize=6,
                color="white",
                ha="center",
                va="center",
                zorder=7,
            )
            cluster = (
                model.agent(getattr(twin, "cluster_id", -1)) if hasattr(model, "agent") else None
            )
            xy = probes.agent_xy(cluster) if cluster is not None else None
            if xy is not None:
                ax.plot([x0, xy[0]], [y0, xy[1]], ls=":", lw=0.9, color="#8e44ad", zorder=3)
            target = getattr(twin, "migrating_to", None)
            if isinstance(target, str) and target in G:
                ax.annotate(
                    "",
                    xy=_pos(G, target),
                    xytext=(x0, y0),
                    zorder=6,
                    arrowprops={"arrowstyle": "->", "color": "#8e44ad", "lw": 1.5},
                )


def _legend(fig: Figure, model: Any) -> None:
    kind = model.topology.cell_kind
    handles = [
        Line2D([], [], marker="^", ls="", color="#1f4e9c", label=INFRA_STYLE[kind][3]),
        Line2D([], [], marker="s", ls="", mfc="none", mec="#b5651d", mew=2, label="edge server"),
        Line2D([], [], marker="o", ls="", mfc="#dfe7f5", mec="#1f2d4a", ms=9, label="cloud"),
        Line2D([], [], color=LOAD_CMAP(0.8), lw=3, label="wired link (width: bytes, colour: now)"),
    ]
    if model.world.n:
        handles.append(Line2D([], [], marker="o", ls="", color="#7d8da8", ms=5, label="user"))
    if probes.vehicle_positions(model) is not None:
        handles.append(Line2D([], [], marker="s", ls="", color="#16a085", ms=5, label="vehicle"))
    if probes.edge_twins(model):
        handles.append(Line2D([], [], marker="D", ls="", color="#8e44ad", label="edge twin"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        fontsize=7,
        frameon=False,
        ncol=(len(handles) + 1) // 2,
    )


def _frame(ax: Axes, model: Any) -> None:
    """Fit the axes to every drawn node, user and vehicle.

    Equal scales unless the area is a long strip (a highway), which would leave a sliver.
    """
    G = model.topology.G
    pts = [_pos(G, n) for n, d in G.nodes(data=True) if "pos" in d]
    if model.world.n:
        pts.extend(map(tuple, model.world.pos))
    vehicles = probes.vehicle_positions(model)
    if vehicles is not None:
        pts.extend(map(tuple, vehicles))
    xy = np.array(pts)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    dx, dy = np.maximum(hi - lo, 1.0)
    span = float(max(dx, dy))
    strip = not 0.2 < dx / dy < 5.0
    pad_x, pad_y = (0.05 * dx, 0.3 * dy) if strip else (0.08 * span, 0.08 * span)
    ax.set_xlim(lo[0] - pad_x, hi[0] + pad_x)
    ax.set_ylim(lo[1] - pad_y, hi[1] + pad_y)
    ax.set_aspect("auto" if strip else "equal")


def _population(model: Any) -> str:
    """Who is on the map, for the title."""
    parts = []
    if model.world.n:
        parts.append(f"{model.world.n} users ({probes.scheme_of(model)})")
    clusters = len(probes.agents_with_role(model, "vehicle"))
    if clusters:
        parts.append(f"{clusters} vehicle clusters, {len(probes.edge_twins(model))} edge twins")
    return " · ".join(parts) or "no users"


def draw_network(fig: Figure, model: Any) -> None:
    """Draw the whole network view of ``model`` on ``fig`` (best with constrained layout)."""
    ax = fig.add_subplot()
    _draw_roads(ax, model.world)
    load = _draw_wired(ax, model)
    _draw_users(fig, ax, model)
    _draw_vehicles(ax, model)
    _draw_infrastructure(ax, model)
    _frame(ax, model)
    _draw_hosted(ax, model)
    _draw_twins(fig, ax, model)
    _legend(fig, model)
    ax.set_xlabel("x (m)", fontsize=8)
    ax.set_ylabel("y (m)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(f"t = {model.now_s:g} s · {_population(model)}\n{load}", fontsize=9)
