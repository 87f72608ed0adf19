"""``NetworkModel`` as the visual server drives it: page-friendly inputs and a link meter.

Two things differ from the plain model, both about the page, none about the simulation:

* **Inputs.** Mesa's controls hand over what the widgets hold: the seed box gives a string,
  and two independent speed sliders can cross. :class:`VizNetworkModel` parses the seed and
  orders the speed pair before the scenario validates them, and says in ``viz_notes`` what
  it changed (SolaraViz's Reset has no error display: an exception blanks the page).
  It also hides Mesa 3.5's own ``Model.scenario`` object: NetworkModel's ``scenario`` keyword
  is a preset name, and SolaraViz's Reset would otherwise replace that keyword with an empty
  ``mesa.experimental.scenarios.Scenario`` (``_build_model_init_kwargs``).
* **Link load.** The bus counts messages by kind, not by link. :class:`LinkMeter` routes every
  message the bus accepts over the topology and adds its bytes to each wired link it crosses,
  over the model's lifetime and in the last step, for the network view's link widths.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from model.config import ScenarioConfig
from model.network_model import NetworkModel

Link = tuple[str, str]


def link_key(a: str, b: str) -> Link:
    """The undirected key of the link between nodes ``a`` and ``b``."""
    return (a, b) if a < b else (b, a)


class LinkMeter:
    """Bytes per wired link, from the route of every message sent."""

    def __init__(self, topology: Any, node_of: Callable[[int], str | None]) -> None:
        """
        Args:
            topology: the model's :class:`model.topology.Topology`.
            node_of: agent id -> the topology node it lives on (None if gone).
        """
        self._topology = topology
        self._node_of = node_of
        self._paths: dict[Link, list[Link]] = {}
        self.lifetime: Counter[Link] = Counter()
        self.last_step: Counter[Link] = Counter()
        self._this_step: Counter[Link] = Counter()

    def start_step(self) -> None:
        """Close the previous step's tally (call before the model steps)."""
        self._this_step = Counter()

    def end_step(self) -> None:
        """Publish the tally of the step just run."""
        self.last_step = self._this_step

    def _infra_links(self, a: str, b: str) -> list[Link]:
        key = link_key(a, b)
        hit = self._paths.get(key)
        if hit is None:
            infra = self._topology.infra
            path = nx.dijkstra_path(infra, a, b, weight="latency_s") if a != b else [a]
            hit = [link_key(u, v) for u, v in zip(path, path[1:], strict=False)]
            self._paths[key] = hit
        return hit

    def _anchor(self, node: str) -> str:
        """The infrastructure node a device hangs off (the node itself otherwise)."""
        topo = self._topology
        if topo.is_device(node):
            return f"{topo.cell_kind}:{topo.serving_cell(node)}"
        return node

    def record(self, sender: int, receiver: int, size_bytes: int) -> None:
        """Add one message's bytes to every wired link on its route."""
        src, dst = self._node_of(sender), self._node_of(receiver)
        if src is None or dst is None:
            return
        for link in self._infra_links(self._anchor(src), self._anchor(dst)):
            self.lifetime[link] += size_bytes
            self._this_step[link] += size_bytes


MAX_SEED = 2**63 - 1  # scenario.seed's range


def seed_from_box(value: int | str | None) -> tuple[int | None, str]:
    """The seed typed in the page's box, and a note when it could not be used.

    Blank means the scenario's own seed. Text that is not a whole number in the seed's range
    also falls back to the scenario's seed, with a note the page shows: a typo in a text box
    should not replace the whole page with a traceback (Reset has no error display).
    """
    if value is None or isinstance(value, int) and 0 <= value <= MAX_SEED:
        return value, ""
    text = str(value).strip()
    if not text:
        return None, ""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if 0 <= seed <= MAX_SEED:
        return seed, ""
    return None, f"seed {text!r} is not a whole number in 0..2^63-1; ran the scenario's seed"


class VizNetworkModel(NetworkModel):
    """A :class:`NetworkModel` with page-friendly inputs and per-link load."""

    def __init__(
        self,
        scenario: str | Path | ScenarioConfig = "campus-video",
        *,
        rng: int | str | None = None,
        n_users: int | None = None,
        scheme: str | None = None,
        speed_min_kmh: float | None = None,
        speed_max_kmh: float | None = None,
        duration_s: float | None = None,
        **overrides: Any,
    ) -> None:
        seed, note = seed_from_box(rng)
        notes = [note] if note else []
        lo, hi = speed_min_kmh, speed_max_kmh
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo
            notes.append(f"speed range given high to low; ran {lo:g}-{hi:g} km/h")
        super().__init__(
            scenario,
            rng=seed,
            n_users=n_users,
            scheme=scheme,
            speed_min_kmh=lo,
            speed_max_kmh=hi,
            duration_s=duration_s,
            **overrides,
        )
        self.viz_notes: list[str] = notes
        self.link_meter: LinkMeter | None = LinkMeter(self.topology, self._node_of)
        self._meter_bus()

    # Mesa sets ``self.scenario`` in Model.__init__; keep it out of SolaraViz's Reset (above).
    @property
    def scenario(self) -> None:  # type: ignore[override]
        return None

    @scenario.setter
    def scenario(self, value: Any) -> None:
        self._mesa_scenario = value

    def _node_of(self, agent_id: int) -> str | None:
        agent = self.agent(agent_id)
        return None if agent is None else agent.node

    def _meter_bus(self) -> None:
        """Pass every message the bus accepts through the link meter (the bus's observers)."""
        meter, observers = self.link_meter, getattr(self.bus, "observers", None)
        if meter is None or observers is None or hasattr(self.bus, "link_bytes"):
            self.link_meter = None  # a bus of another shape: draw links unweighted, not guessed
            return
        observers.append(lambda _kind, sender, receiver, size: meter.record(sender, receiver, size))

    def step(self) -> None:
        if self.link_meter is not None:
            self.link_meter.start_step()
        super().step()
        if self.link_meter is not None:
            self.link_meter.end_step()
