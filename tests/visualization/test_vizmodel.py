"""The page's model: seed box parsing, crossed speed sliders, Reset safety and the link meter."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from model.config import ConfigError
from model.params import LinkParams
from model.topology import Topology
from visualization.vizmodel import LinkMeter, VizNetworkModel, link_key

SMALL = {"duration_s": 30.0, "n_users": 5}


def test_seed_box_text_is_parsed():
    assert VizNetworkModel(rng=" 17 ", **SMALL).cfg.seed == 17
    assert VizNetworkModel(rng="", **SMALL).cfg.seed == VizNetworkModel(**SMALL).cfg.seed


@pytest.mark.parametrize("text", ["twelve", "-3", "1e3", str(2**63)])
def test_a_bad_seed_runs_the_scenario_seed_and_says_so(text):
    model = VizNetworkModel(rng=text, **SMALL)
    assert model.cfg.seed == VizNetworkModel(**SMALL).cfg.seed
    assert len(model.viz_notes) == 1 and repr(text) in model.viz_notes[0]


def test_the_plain_keyword_still_validates():
    with pytest.raises(ConfigError, match="seed"):
        VizNetworkModel(scenario__seed=-1, **SMALL)


def test_crossed_speed_sliders_are_ordered_and_noted():
    model = VizNetworkModel(rng=1, speed_min_kmh=30.0, speed_max_kmh=5.0, **SMALL)
    assert (model.cfg.users.speed_min_kmh, model.cfg.users.speed_max_kmh) == (5.0, 30.0)
    assert model.viz_notes and "5-30" in model.viz_notes[0]


def test_mesa_scenario_is_hidden_so_reset_keeps_the_preset():
    # SolaraViz's Reset replaces the `scenario` keyword when model.scenario is truthy
    model = VizNetworkModel("highway-cav", rng=1, duration_s=30.0)
    assert model.scenario is None
    assert model.cfg.scenario.name == "highway-cav"


def test_same_seed_same_world_through_the_page_model():
    a, b = VizNetworkModel(rng=5, **SMALL), VizNetworkModel(rng=5, **SMALL)
    for _ in range(5):
        a.step()
        b.step()
    np.testing.assert_array_equal(a.world.pos, b.world.pos)
    assert a.link_meter.lifetime == b.link_meter.lifetime


def _line_topology() -> Topology:
    """Two cells, two edge servers on a chain, a cloud: every route is known by hand."""
    bs = np.array([[0.0, 0.0], [1000.0, 0.0]])
    edges = np.array([[0.0, 10.0], [1000.0, 10.0]])
    topo = Topology(bs, edges, (500.0, 500.0), LinkParams())
    topo.add_device("ue:0", "ue", 0)
    return topo


def test_link_meter_charges_every_wired_link_on_the_route():
    topo = _line_topology()
    nodes = {1: "ue:0", 2: "cloud", 3: "edge:1"}
    meter = LinkMeter(topo, nodes.get)
    meter.start_step()
    meter.record(1, 2, 100)  # ue:0 -> bs:0 -> edge:0 -> cloud
    meter.record(1, 3, 10)  # ue:0 -> bs:0 -> edge:0 -> edge:1 (edge chain beats the cloud)
    meter.end_step()
    assert meter.lifetime[link_key("bs:0", "edge:0")] == 110
    assert meter.lifetime[link_key("edge:0", "cloud")] == 100
    assert meter.lifetime[link_key("edge:0", "edge:1")] == 10
    assert meter.last_step == meter.lifetime
    meter.start_step()
    meter.end_step()
    assert sum(meter.last_step.values()) == 0
    assert sum(meter.lifetime.values()) == 220


def test_link_meter_follows_handovers_and_skips_missing_agents():
    topo = _line_topology()
    meter = LinkMeter(topo, {1: "ue:0", 2: "edge:1"}.get)
    topo.move_device("ue:0", 1)
    meter.record(1, 2, 7)  # ue:0 now under bs:1
    meter.record(1, 99, 7)  # receiver gone: no route, no charge
    assert dict(meter.lifetime) == {link_key("bs:1", "edge:1"): 7}


def test_model_meter_per_step_tallies_add_up_to_the_lifetime():
    model = VizNetworkModel(rng=2, **SMALL)
    total: Counter = Counter()
    for _ in range(25):
        model.step()
        total.update(model.link_meter.last_step)
    assert model.bus.totals()["bytes"] > 0
    assert sum(total.values()) > 0
    assert total == model.link_meter.lifetime
    wired = {link_key(a, b) for a, b, k in model.topology.G.edges(data="kind") if k == "wired"}
    assert set(total) <= wired
