"""The network topology as a networkx graph (DESIGN.md "Topology").

Nodes: ``cloud``, ``edge:i``, ``bs:j`` (or ``rsu:j``), ``ue:k`` (users) and ``veh:c`` (vehicle
clusters), each with ``kind`` and ``pos`` attributes. Wired edges (BS–edge, edge–edge,
edge–cloud) carry ``latency_s`` and ``bandwidth_bps`` from the scenario. Each user/vehicle node
has one wireless edge to its serving cell, moved on handover. Handovers are recorded at once
(routing reads them) and applied to the networkx graph when it is next read through
:attr:`Topology.G`: thousands of handovers per slot at 10^5 users would otherwise cost more
than the radio physics, while nobody looks at the graph most slots.

Routing: end devices are leaves, so a path from a device goes through its serving cell. The
latency-shortest paths among infrastructure nodes (a few hundred at most) are computed once
with Dijkstra and cached with their bottleneck bandwidth; a device hop adds the air latency and
the device's current radio rate. :meth:`Topology.route` returns (latency, bottleneck) for any pair.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import numpy as np

from model.params import LinkParams


def bs_node(j: int, kind: str = "bs") -> str:
    return f"{kind}:{j}"


def edge_node(i: int) -> str:
    return f"edge:{i}"


CLOUD = "cloud"


class Topology:
    """Graph of the network plus cached infrastructure routes."""

    def __init__(
        self,
        bs_pos: np.ndarray,
        edge_pos: np.ndarray,
        cloud_pos: tuple[float, float],
        links: LinkParams,
        cell_kind: str = "bs",
    ) -> None:
        self.links = links
        self.cell_kind = cell_kind
        self._G = nx.Graph()
        self._graph_cell: dict[str, int] = {}  # the wireless edge each device has in ``_G``
        self._pending: dict[str, int] = {}  # handovers not yet applied to ``_G``
        self.G.add_node(CLOUD, kind="cloud", pos=tuple(map(float, cloud_pos)))
        for i, p in enumerate(edge_pos):
            self.G.add_node(edge_node(i), kind="edge", pos=(float(p[0]), float(p[1])))
            self._wire(edge_node(i), CLOUD, links.edge_cloud_latency_ms, links.edge_cloud_gbps)
        for i in range(len(edge_pos) - 1):  # edge servers on a metro chain
            self._wire(
                edge_node(i), edge_node(i + 1), links.edge_edge_latency_ms, links.edge_edge_gbps
            )
        # each cell is wired to its nearest edge server
        d = np.linalg.norm(bs_pos[:, None, :] - edge_pos[None, :, :], axis=2)
        self.cell_edge = np.argmin(d, axis=1)
        for j, p in enumerate(bs_pos):
            self.G.add_node(bs_node(j, cell_kind), kind=cell_kind, pos=(float(p[0]), float(p[1])))
            self._wire(
                bs_node(j, cell_kind),
                edge_node(int(self.cell_edge[j])),
                links.bs_edge_latency_ms,
                links.bs_edge_gbps,
            )
        self.infra = self.G.copy()  # routes among infrastructure never cross a device
        self._edge_names = [edge_node(i) for i in range(len(edge_pos))]
        self.core = self.G.subgraph([CLOUD, *self._edge_names]).copy()  # edge servers + cloud
        up = links.bs_edge_latency_ms / 1e3, links.bs_edge_gbps * 1e9
        self.cell_uplink = np.tile(np.array(up), (len(bs_pos), 1))  # (latency, bandwidth)
        self._routes: dict[tuple[str, str], tuple[float, float]] = {}
        self._cell_routes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._device_cell: dict[str, int] = {}
        self._device_rate: Callable[[str], float] | None = None

    @property
    def G(self) -> nx.Graph:  # noqa: N802 - the conventional networkx name
        """The topology graph, with every handover so far applied."""
        if self._pending:
            self._sync()
        return self._G

    def _sync(self) -> None:
        pending, self._pending = self._pending, {}
        for name, cell in pending.items():
            old = self._graph_cell[name]
            if old != cell:
                self._G.remove_edge(name, bs_node(old, self.cell_kind))
                self._attach_edge(name, cell)

    def _wire(self, a: str, b: str, latency_ms: float, gbps: float) -> None:
        self.G.add_edge(a, b, kind="wired", latency_s=latency_ms / 1e3, bandwidth_bps=gbps * 1e9)

    # -- devices ---------------------------------------------------------------------------
    def add_device(self, name: str, kind: str, cell: int) -> None:
        """Add a user/vehicle node attached by a wireless edge to ``cell``."""
        self._G.add_node(name, kind=kind)
        self._attach_edge(name, cell)
        self._device_cell[name] = int(cell)

    def _attach_edge(self, name: str, cell: int) -> None:
        self._G.add_edge(
            name,
            bs_node(cell, self.cell_kind),
            kind="wireless",
            latency_s=self.links.air_latency_ms / 1e3,
        )
        self._graph_cell[name] = cell

    def move_device(self, name: str, cell: int) -> None:
        """Re-attach a device to a new serving cell (handover)."""
        self.move_devices([name], [cell])

    def move_devices(self, names: list[str], cells: list[int]) -> None:
        """Re-attach many devices at once (the handovers of one slot)."""
        dev, pend = self._device_cell, self._pending
        for name, cell in zip(names, cells, strict=True):
            if name not in dev:
                raise KeyError(f"{name}: not a device of the topology")
            dev[name] = cell
            pend[name] = cell

    def set_rate_source(self, fn: Callable[[str], float]) -> None:
        """Where the current radio rate (bit/s) of a device comes from."""
        self._device_rate = fn

    def serving_cell(self, name: str) -> int:
        return self._device_cell[name]

    def is_device(self, name: str) -> bool:
        return name in self._device_cell

    # -- routing ---------------------------------------------------------------------------
    def _infra_route(self, a: str, b: str) -> tuple[float, float]:
        if a == b:
            return 0.0, float("inf")
        key = (a, b) if a < b else (b, a)
        hit = self._routes.get(key)
        if hit is None:
            path = nx.dijkstra_path(self.infra, a, b, weight="latency_s")
            lat = sum(
                self.infra.edges[u, v]["latency_s"] for u, v in zip(path, path[1:], strict=False)
            )
            bw = min(
                self.infra.edges[u, v]["bandwidth_bps"]
                for u, v in zip(path, path[1:], strict=False)
            )
            hit = (lat, bw)
            self._routes[key] = hit
        return hit

    def _device_hop(self, name: str) -> tuple[str, float, float]:
        cell = bs_node(self._device_cell[name], self.cell_kind)
        rate = self._device_rate(name) if self._device_rate else float("inf")
        floor = self.links.min_air_rate_mbps * 1e6
        return cell, self.links.air_latency_ms / 1e3, max(rate, floor)

    def route(self, src: str, dst: str) -> tuple[float, float]:
        """(latency in s, bottleneck bandwidth in bit/s) of the path from ``src`` to ``dst``."""
        lat, bw = 0.0, float("inf")
        if src in self._device_cell:
            src, l1, b1 = self._device_hop(src)
            lat, bw = lat + l1, min(bw, b1)
        if dst in self._device_cell:
            dst, l2, b2 = self._device_hop(dst)
            lat, bw = lat + l2, min(bw, b2)
        l3, b3 = self._infra_route(src, dst)
        return lat + l3, min(bw, b3)

    def cells_to(self, dst: str) -> tuple[np.ndarray, np.ndarray]:
        """(latency s, bottleneck bit/s) from every cell to edge/cloud node ``dst``, cached.

        Every cell hangs off exactly one edge server, so a route is the cell's uplink plus the
        route between edge/cloud nodes; one Dijkstra over that small core graph serves all
        cells, whatever their number.
        """
        hit = self._cell_routes.get(dst)
        if hit is None:
            lengths, paths = nx.single_source_dijkstra(self.core, dst, weight="latency_s")
            n_edges = len(self._edge_names)
            lat_e, bw_e = np.empty(n_edges), np.empty(n_edges)
            for i, name in enumerate(self._edge_names):
                path = paths[name]
                lat_e[i] = lengths[name]
                hops = zip(path, path[1:], strict=False)
                bw_e[i] = min(
                    (self.core.edges[u, v]["bandwidth_bps"] for u, v in hops), default=float("inf")
                )
            lat = self.cell_uplink[:, 0] + lat_e[self.cell_edge]
            bw = np.minimum(self.cell_uplink[:, 1], bw_e[self.cell_edge])
            hit = (lat, bw)
            self._cell_routes[dst] = hit
        return hit

    def own_edge_routes(self) -> tuple[np.ndarray, np.ndarray]:
        """(latency s, bottleneck bit/s) from every cell to the edge server it is wired to."""
        hit = self._cell_routes.get("<own edge>")
        if hit is None:
            lat = np.empty(len(self.cell_edge))
            bw = np.empty(len(self.cell_edge))
            for e, name in enumerate(self._edge_names):
                sel = self.cell_edge == e
                lat_e, bw_e = self.cells_to(name)
                lat[sel], bw[sel] = lat_e[sel], bw_e[sel]
            hit = (lat, bw)
            self._cell_routes["<own edge>"] = hit
        return hit

    def device_routes(
        self,
        cells: np.ndarray,
        rates_bps: np.ndarray,
        dst: np.ndarray | None,
        dst_names: list[str],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`route` from devices to infrastructure nodes.

        Args:
            cells: serving cell of each sending device.
            rates_bps: current radio rate of each device.
            dst: index into ``dst_names`` of each message's destination node, or None when
                every message goes to the edge server wired to the sender's cell.
            dst_names: the distinct destination nodes.
        """
        lat = np.empty(len(cells))
        bw = np.empty(len(cells))
        if dst is None:  # every device reports to the edge server of its own cell
            lat_c, bw_c = self.own_edge_routes()
            lat, bw = lat_c[cells], bw_c[cells]
            dst_names = []
        for k, name in enumerate(dst_names):
            sel = dst == k
            lat_k, bw_k = self.cells_to(name)
            lat[sel] = lat_k[cells[sel]]
            bw[sel] = bw_k[cells[sel]]
        floor = self.links.min_air_rate_mbps * 1e6
        return lat + self.links.air_latency_ms / 1e3, np.minimum(bw, np.maximum(rates_bps, floor))
