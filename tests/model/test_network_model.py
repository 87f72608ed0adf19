"""NetworkModel end to end: reports travel over the bus, handovers move topology edges,
Mesa batch_run drives it, and the same seed gives identical frames."""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from agents.infrastructure import EdgeServer
from model.config import ConfigError
from model.network_model import NetworkModel


def _run(model):
    while model.running:
        model.step()
    return model


def test_reports_reach_the_edge_server(tiny_campus):
    model = _run(NetworkModel(tiny_campus, **{"scenario__digital_agents": False}))
    edge = model.agents_by_type[EdgeServer][0]
    assert edge.reports_received > 0
    assert set(edge.latest) <= {u.unique_id for u in model.users}
    t = model.bus.totals()
    assert t["sent"] == t["delivered"] + t["in_flight"] + t["undeliverable"]
    assert model.bus.sent["qos_report"] >= 6 * 2  # 6 users, 10 s period, 30 s


def test_topology_tracks_association(tiny_campus):
    model = NetworkModel(
        tiny_campus,
        speed_min_kmh=40,
        speed_max_kmh=40,
        duration_s=120,
        **{"scenario__digital_agents": False},
    )
    _run(model)
    for user in model.users:
        nbrs = list(model.topology.G.neighbors(user.node))
        assert nbrs == [f"bs:{user.cell}"]
    # a report's delay is at least the path latency user -> BS -> edge
    lat, _ = model.topology.route(model.users[0].node, "edge:0")
    assert lat == pytest.approx((4.0 + 1.0) / 1e3)


def test_same_seed_same_frames_different_seed_differs(tiny_campus):
    a = _run(NetworkModel(tiny_campus, rng=5)).datacollector.get_model_vars_dataframe()
    b = _run(NetworkModel(tiny_campus, rng=5)).datacollector.get_model_vars_dataframe()
    c = _run(NetworkModel(tiny_campus, rng=6)).datacollector.get_model_vars_dataframe()
    assert a.equals(b)
    assert not np.allclose(a["mean_sinr_db"].to_numpy(), c["mean_sinr_db"].to_numpy())


def test_flat_keywords_are_validated():
    with pytest.raises(ConfigError, match="bogus"):
        NetworkModel("campus-video", bogus=3)
    with pytest.raises(ConfigError, match="users.count"):
        NetworkModel("campus-video", users__count=-3)


def test_mesa_batch_run():
    results = mesa.batch_run(
        NetworkModel,
        parameters={"scenario": "campus-video", "n_users": [4, 6], "duration_s": 20.0},
        rng=[1],
        max_steps=20,
        number_processes=1,
        display_progress=False,
    )
    assert len(results) >= 2
    assert {r["n_users"] for r in results} == {4, 6}
    assert all("mean_throughput_mbps" in r for r in results)


def test_vectorised_routes_match_per_message_routes(tiny_campus):
    model = NetworkModel(tiny_campus, **{"scenario__digital_agents": False, "edge__count": 2})
    model.step()
    w, topo = model.world, model.topology
    cells = w.serving.copy()
    for dst_index, dst in enumerate(["edge:0", "edge:1", "cloud"]):
        lat, bw = topo.device_routes(cells, w.rate_bps, np.zeros(w.n, int), [dst])
        for user in model.users:
            expected = topo.route(user.node, dst)
            assert lat[user.index] == pytest.approx(expected[0]), (dst_index, user.index)
            assert bw[user.index] == pytest.approx(expected[1])
    lat, bw = topo.device_routes(cells, w.rate_bps, None, [])  # each to its own cell's edge
    for user in model.users:
        own = f"edge:{topo.cell_edge[cells[user.index]]}"
        assert (lat[user.index], bw[user.index]) == pytest.approx(topo.route(user.node, own))


def test_low_percentile_is_numpys():
    from model.network_model import low_percentile

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 10, 101, 1000):
        x = rng.random(n)
        assert low_percentile(x, 5.0) == pytest.approx(np.percentile(x, 5.0), abs=1e-12)
