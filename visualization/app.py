"""The twinslice visual server: a Mesa SolaraViz page of the network, its agents and equilibria.

Served by ``twinslice viz [SCENARIO]`` (``solara run visualization/app.py``). Each browser
session gets its own model, built from the scenario the command was given
(:mod:`visualization.settings`). SolaraViz supplies Reset / Play / Step and the controls;
the components (:mod:`visualization.components`) draw the network at its real coordinates
and the charts of the digital agents, slicing game and twins that the scenario has.
"""

from __future__ import annotations

import logging
from typing import Any

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from visualization.components import COMPONENTS
from visualization.settings import VizStart, initial_kwargs, model_params, start_from_env
from visualization.vizmodel import VizNetworkModel

LOG = logging.getLogger(__name__)


def _describe(model: Any) -> list[str]:
    """Lines of the sidebar's scenario card for ``model``."""
    cfg = model.cfg
    sc = cfg.scenario
    lines = [
        f"{sc.name}: service {sc.service}, scheme {sc.scheme}, seed {sc.seed}",
        f"{model.world.n} users, {model.world.n_cells} {cfg.base_stations.kind.upper()}s, "
        f"{len(model.edges)} edge servers",
        f"step {model.steps} of {model.n_slots} (slot {model.slot_s:g} s)",
    ]
    return lines + [f"note: {n}" for n in getattr(model, "viz_notes", [])]


@solara.component
def ScenarioCard(model: solara.Reactive[Any]) -> None:
    """What the current model is, refreshed on every step and reset."""
    update_counter.get()
    with solara.Card("Scenario"):
        for line in _describe(model.value):
            solara.Text(line, style={"display": "block", "font-size": "0.85em"})


def _first_model(params: dict[str, Any]) -> tuple[VizNetworkModel | None, str]:
    """The session's first model, or None and why it could not be built."""
    try:
        return VizNetworkModel(**initial_kwargs(params)), ""
    except Exception as exc:  # shown on the page (and logged) instead of a blank page
        LOG.exception("cannot build the model")
        return None, f"{type(exc).__name__}: {exc}"


@solara.component
def VizPage(start: VizStart) -> None:
    """The page for ``start``: its own model, the controls, the network view and the charts."""
    params = solara.use_memo(lambda: model_params(start), [])
    first, error = solara.use_memo(lambda: _first_model(params), [])
    model = solara.use_reactive(first)
    if model.value is None:
        solara.Error(f"twinslice could not build the model for {start.scenario}: {error}")
        return
    SolaraViz(
        model, components=list(COMPONENTS), model_params=params, name="twinslice", play_interval=300
    )
    with solara.Sidebar():
        ScenarioCard(model)


@solara.component
def Page() -> None:
    """What ``solara run`` serves: the page for the scenario ``twinslice viz`` was given."""
    VizPage(start_from_env())
