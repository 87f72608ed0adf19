"""The SolaraViz page without a browser: it builds, Step advances the model, Reset rebuilds it.

Rendered with ``solara.render`` inside ``solara.AppLayout()`` (shared/notes/mesa-3.5.md), which
gives the widget tree a browser would get; buttons are clicked on the widgets themselves.
"""

from __future__ import annotations

import inspect
import re

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from model.network_model import NetworkModel
from visualization.app import VizPage
from visualization.components import COMPONENTS
from visualization.settings import VizStart, model_params

START = VizStart("campus-video", {"scenario.duration_s": 60.0, "users.count": 6}, 3)


@pytest.fixture
def render():
    """Render pages; close them after the test (a live page redraws on every Step)."""
    contexts = []

    def _render(start: VizStart):
        @solara.component
        def Wrapped():
            with solara.AppLayout():
                VizPage(start)

        box, rc = solara.render(Wrapped(), handle_error=False)
        contexts.append(rc)
        return box, rc

    yield _render
    for rc in contexts:
        rc.close()


def _texts(box: ipywidgets.Widget) -> list[str]:
    """Every text child of an Html widget in the tree (the page's visible strings)."""
    return re.findall(r"Html\(children=\['([^']*)'\]", repr(box))


def _images(rc) -> list[bytes]:
    return [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]


def _click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def test_model_params_are_network_model_keywords():
    keywords = inspect.signature(NetworkModel.__init__).parameters
    params = model_params(START)
    controls = {k for k, p in params.items() if isinstance(p, dict) and "type" in p}
    assert controls == {"scenario", "scheme", "n_users", "speed_min_kmh", "speed_max_kmh", "rng"}
    assert controls <= set(keywords)
    assert params["scenario__duration_s"] == 60.0  # a fixed override, as section__key


@pytest.mark.parametrize(
    "start, population",
    [
        (START, "6 users, 2 BSs, 1 edge servers"),
        (
            VizStart("highway-cav", {"scenario.duration_s": 60.0}, 3),
            "0 users, 6 RSUs, 3 edge servers",
        ),
    ],
)
def test_page_builds_with_every_component(render, start, population):
    box, rc = render(start)
    images = _images(rc)
    assert len(images) == len(COMPONENTS)
    assert all(img.startswith(b"\x89PNG") and len(img) > 2000 for img in images)
    texts = _texts(box)
    assert "Time: 0.0" in texts and population in texts


def test_step_button_advances_the_model_and_redraws_the_network(render):
    box, rc = render(START)
    before = _images(rc)
    for _ in range(3):
        _click(rc, "Step")
    texts = _texts(box)
    assert "Time: 3.0" in texts
    assert any(t.startswith("step 3 of 60") for t in texts)
    after = _images(rc)
    assert after[0] != before[0]  # the network view (its clock at least) changed
    assert after[1] != before[1]  # and the throughput / SINR chart


def test_reset_builds_the_chosen_preset_and_scheme(render):
    box, rc = render(START)
    _click(rc, "Step")
    rc.find(v.Select, label="Scheme").widget.v_model = "wo-da"
    _click(rc, "Reset")
    texts = _texts(box)
    assert "Time: 0.0" in texts
    assert any(t.startswith("campus-video: service video, scheme wo-da, seed 3") for t in texts)


def test_a_bare_world_still_draws_every_chart(render):
    box, rc = render(VizStart("campus-video", {"scenario.service": "none"}, 3))
    for _ in range(2):
        _click(rc, "Step")
    assert len(_images(rc)) == len(COMPONENTS)  # every chart drew, with or without its data


def test_a_model_that_cannot_be_built_is_reported_on_the_page(render, monkeypatch):
    def broken(**_: object) -> None:
        raise RuntimeError("no such thing")

    monkeypatch.setattr("visualization.app.VizNetworkModel", broken)
    box, _ = render(START)
    assert "no such thing" in repr(box)


@pytest.mark.parametrize("scheme", ["proposed", "hsla-l2"])
def test_every_scheme_renders(render, scheme):
    box, rc = render(VizStart("campus-video", {"scenario.scheme": scheme, "users.count": 4}, 1))
    assert len(_images(rc)) == len(COMPONENTS)
    assert any(f"scheme {scheme}," in t for t in _texts(box))
