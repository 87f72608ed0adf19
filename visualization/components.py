"""Solara components of the page: the network view and the charts, redrawn as the model steps.

Each component takes the model (SolaraViz passes the current one, a new one after Reset),
subscribes to Mesa's ``update_counter`` so it redraws after every Step / Play tick, and renders
a matplotlib figure as a PNG. What each one draws lives in :mod:`visualization.netview` and
:mod:`visualization.charts`, which know nothing of Solara.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from visualization import charts, probes
from visualization.netview import draw_network

FIG_SIZE = (6.4, 4.6)  # fits a SolaraViz grid cell (10 rows) at its width
DPI = 90


def _image(draw: Callable[[Figure], None]) -> solara.Element:
    """Render ``draw`` on a fresh figure as a PNG (the page scales it to its grid cell)."""
    fig = Figure(figsize=FIG_SIZE, dpi=DPI, layout="constrained")
    draw(fig)
    return solara.FigureMatplotlib(fig, format="png")


@solara.component
def NetworkView(model: Any) -> solara.Element:
    """The topology at real coordinates: cells, edge servers, cloud, users, twins, link load."""
    update_counter.get()
    return _image(lambda fig: draw_network(fig, model))


@solara.component
def RadioChart(model: Any) -> solara.Element:
    """Throughput and SINR over time (every scenario has them)."""
    update_counter.get()
    df = probes.model_frame(model)
    return _image(lambda fig: charts.draw_radio(fig, df))


@solara.component
def OverheadChart(model: Any) -> solara.Element:
    """Messages sent by kind: the cost of the digital agents' data collection."""
    update_counter.get()
    df = probes.model_frame(model)
    return _image(lambda fig: charts.draw_overhead(fig, df))


@solara.component
def QoEChart(model: Any) -> solara.Element:
    """QoE distribution and ELA achievable ratio per scheme, remembered across Resets."""
    update_counter.get()
    memory = solara.use_memo(charts.SchemeMemory, [])
    memory.update(model)
    df = probes.model_frame(model)
    scheme = probes.scheme_of(model)
    return _image(lambda fig: charts.draw_qoe(fig, df, memory, scheme))


@solara.component
def SlicingChart(model: Any) -> solara.Element:
    """Slice reservations per group; Nash gap and best-response rounds per window."""
    update_counter.get()
    df = probes.model_frame(model)
    slices = probes.slice_reservations(model)
    return _image(lambda fig: charts.draw_slicing(fig, df, slices))


@solara.component
def MetaChart(model: Any) -> solara.Element:
    """The cloud twin's meta-learning reward (vehicular scenarios)."""
    update_counter.get()
    df = probes.model_frame(model)
    return _image(lambda fig: charts.draw_meta(fig, df))


#: (component, page) in the order SolaraViz lays them out, two per row, all on one page.
COMPONENTS: list[tuple[Callable[..., Any], int]] = [
    (NetworkView, 0),
    (RadioChart, 0),
    (QoEChart, 0),
    (OverheadChart, 0),
    (SlicingChart, 0),
    (MetaChart, 0),
]
