"""Road graphs that users and vehicle clusters move on.

* ``campus-grid``: a synthetic stand-in for the University of Waterloo campus of seed 000
  Sec. IV (the seed used real campus paths, which are not reachable here): a street grid over
  the area with a share of streets removed at random, kept connected by always keeping a random
  spanning tree.
* ``highway``: a straight road along x through the middle of the area (seed 003 Sec. IV).

A road graph is an undirected ``networkx.Graph`` with node attribute ``pos`` (metres) and edge
attribute ``length`` (metres), plus a compact CSR form (:class:`RoadArrays`) that the vectorised
mobility model indexes with numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from model.params import AreaParams


@dataclass(frozen=True)
class RoadArrays:
    """CSR adjacency of a road graph: u's neighbours are ``indices[indptr[u]:indptr[u+1]]``."""

    pos: np.ndarray  # (n_nodes, 2) float
    indptr: np.ndarray  # (n_nodes + 1,) int
    indices: np.ndarray  # (n_edges * 2,) int, neighbour node ids
    lengths: np.ndarray  # (n_edges * 2,) float, length of the edge to that neighbour
    degree: np.ndarray = field(init=False)  # (n_nodes,) int
    back: np.ndarray = field(init=False)  # (n_edges * 2,) slot u->v: position of u among v's

    def __post_init__(self) -> None:
        deg = np.diff(self.indptr)
        n = len(deg)
        tail = np.repeat(np.arange(n, dtype=np.int64), deg)
        key = tail * n + self.indices  # ascending: tails ascend, neighbours sorted per node
        rev_slot = np.searchsorted(key, self.indices * n + tail)
        object.__setattr__(self, "degree", deg)
        object.__setattr__(self, "back", rev_slot - self.indptr[self.indices])


def campus_grid(area: AreaParams, rng: np.random.Generator) -> nx.Graph:
    """A street grid with ``removed_street_fraction`` of its streets removed, still connected."""
    nx_cols = max(2, int(round(area.width_m / area.block_m)) + 1)
    ny_rows = max(2, int(round(area.height_m / area.block_m)) + 1)
    xs = np.linspace(0.0, area.width_m, nx_cols)
    ys = np.linspace(0.0, area.height_m, ny_rows)
    grid = nx.grid_2d_graph(nx_cols, ny_rows)
    graph = nx.convert_node_labels_to_integers(grid, ordering="sorted", label_attribute="ij")
    for _, data in graph.nodes(data=True):
        i, j = data.pop("ij")
        data["pos"] = (float(xs[i]), float(ys[j]))
    edges = sorted(graph.edges())
    weights = rng.random(len(edges))
    for (u, v), w in zip(edges, weights, strict=True):
        graph.edges[u, v]["w"] = float(w)
    tree = set(map(frozenset, nx.minimum_spanning_edges(graph, weight="w", data=False)))
    spare = [e for e in edges if frozenset(e) not in tree]
    n_remove = int(round(area.removed_street_fraction * len(edges)))
    n_remove = min(n_remove, len(spare))
    if n_remove:
        drop = rng.choice(len(spare), size=n_remove, replace=False)
        graph.remove_edges_from(spare[i] for i in sorted(drop))
    _set_lengths(graph)
    return graph


def highway(area: AreaParams) -> nx.Graph:
    """A straight road along x at mid-height, with a node every ``block_m`` metres."""
    n = max(2, int(round(area.width_m / area.block_m)) + 1)
    xs = np.linspace(0.0, area.width_m, n)
    graph = nx.path_graph(n)
    y = area.height_m / 2.0
    for node in graph.nodes:
        graph.nodes[node]["pos"] = (float(xs[node]), y)
    _set_lengths(graph)
    return graph


def _set_lengths(graph: nx.Graph) -> None:
    for u, v, data in graph.edges(data=True):
        data.pop("w", None)
        (x1, y1), (x2, y2) = graph.nodes[u]["pos"], graph.nodes[v]["pos"]
        data["length"] = float(np.hypot(x2 - x1, y2 - y1))


def build_road_graph(area: AreaParams, rng: np.random.Generator) -> nx.Graph:
    """The road graph named by ``area.road``."""
    if area.road == "highway":
        return highway(area)
    return campus_grid(area, rng)


def road_arrays(graph: nx.Graph) -> RoadArrays:
    """CSR arrays of ``graph`` (nodes must be 0..n-1), neighbours in sorted order."""
    n = graph.number_of_nodes()
    pos = np.array([graph.nodes[i]["pos"] for i in range(n)], dtype=float)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices: list[int] = []
    lengths: list[float] = []
    for u in range(n):
        nbrs = sorted(graph.neighbors(u))
        indices.extend(nbrs)
        lengths.extend(graph.edges[u, v]["length"] for v in nbrs)
        indptr[u + 1] = len(indices)
    return RoadArrays(pos, indptr, np.asarray(indices, dtype=np.int64), np.asarray(lengths))
