"""Charts and the network view: absent data says so, present data is drawn, nothing crashes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from agents.base import NetAgent
from model.resources import Kind as ResourceKind
from visualization import charts, probes
from visualization.netview import draw_network
from visualization.vizmodel import VizNetworkModel


def _texts(fig: Figure) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts] + [ax.get_title()]
    return out


def _frame(n: int = 20, **extra: np.ndarray) -> pd.DataFrame:
    t = np.arange(n, dtype=float)
    base = {
        "time_s": t,
        "mean_throughput_mbps": 2 + np.sin(t),
        "p5_throughput_mbps": 1 + 0 * t,
        "mean_sinr_db": 10 + t,
        "bytes_sent": 100 * t,
        "sent_qos_report": t,
        "sent_demand": 0 * t,
    }
    return pd.DataFrame({**base, **extra})


NO_SLICES = pd.DataFrame(columns=["pool", "owner", "share"])
SLICES = pd.DataFrame(
    {
        "pool": ["bs:0 comm", "bs:0 comm", "edge:0 compute"],
        "owner": ["g0", "g1", "g0"],
        "share": [0.6, 0.3, 0.5],
    }
)


@pytest.mark.parametrize(
    "draw",
    [
        lambda fig, df: charts.draw_slicing(fig, df, NO_SLICES),
        charts.draw_meta,
        lambda fig, df: charts.draw_qoe(fig, df, charts.SchemeMemory(), "proposed"),
    ],
)
def test_absent_data_reads_not_in_this_scenario(draw):
    fig = Figure()
    draw(fig, _frame())
    assert probes.ABSENT in _texts(fig)


def test_present_data_lights_the_charts_up():
    n = 20
    df = _frame(
        n,
        nash_gap=np.geomspace(1, 1e-4, n),
        br_rounds=np.full(n, 4.0),
        meta_reward=np.linspace(0, 1, n),
        qoe_mean=np.full(n, 3.5),
        ela_ratio=np.linspace(0.5, 0.8, n),
    )
    for draw in (
        lambda f, d: charts.draw_slicing(f, d, SLICES),
        charts.draw_meta,
        lambda f, d: charts.draw_qoe(f, d, charts.SchemeMemory(), "wo-da"),
    ):
        fig = Figure()
        draw(fig, df)
        assert probes.ABSENT not in _texts(fig)
    fig = Figure()
    charts.draw_slicing(fig, df, SLICES)
    slices_ax, game_ax = fig.axes[:2]
    assert game_ax.get_yscale() == "log"  # the Nash gap spans decades
    widths = {(bar.get_y(), round(bar.get_width(), 6)) for bar in slices_ax.patches}
    assert len(slices_ax.patches) == 3 * 2  # g0, g1 and "free" on each of the two pools
    assert any(w == 0.1 for _, w in widths)  # bs:0 comm: 0.6 + 0.3 reserved, 0.1 free


def test_slice_reservations_come_from_the_ledger():
    model = VizNetworkModel(rng=1, duration_s=30.0, n_users=3, scenario__service="none")
    assert probes.slice_reservations(model).empty
    cap = model.ledger.capacity("bs:0", ResourceKind.COMM)
    model.ledger.reserve("bs:0", ResourceKind.COMM, "video/g0", cap / 4)
    table = probes.slice_reservations(model)
    assert table.to_dict("records") == [{"pool": "bs:0 comm", "owner": "video/g0", "share": 0.25}]


def test_overhead_stacks_only_kinds_that_were_sent():
    fig = Figure()
    charts.draw_overhead(fig, _frame())
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["qos_report"]
    fig = Figure()
    charts.draw_overhead(fig, _frame(sent_qos_report=np.zeros(20)))
    assert "no messages sent yet" in _texts(fig)


class _Stub:
    """A model stub with per-user QoE and ELA from its extensions."""

    def __init__(self, scheme: str, qoe: np.ndarray, ratio: np.ndarray) -> None:
        self.world = type("W", (), {"n": len(qoe)})()
        self.cfg = type("C", (), {"scenario": type("S", (), {"scheme": scheme})()})()
        cols = {"qoe": qoe, "ela": np.full(len(qoe), 3.5), "ela_ratio": ratio}
        self.extensions = type("E", (), {"user_columns": staticmethod(lambda: cols)})()


def test_scheme_memory_compares_schemes_as_fig5_does():
    memory = charts.SchemeMemory()
    rng = np.random.default_rng(0)
    for scheme in ("wo-da", "proposed"):
        memory.update(_Stub(scheme, rng.uniform(1, 5, 10), rng.uniform(0, 1, 10)))
    assert set(memory.qoe) == set(memory.ela_ratio) == {"wo-da", "proposed"}
    fig = Figure()
    charts.draw_qoe(fig, pd.DataFrame(), memory, "proposed")
    box_ax, cdf_ax = fig.axes
    assert [t.get_text() for t in box_ax.get_xticklabels()] == ["wo-da", "proposed"]
    assert len(cdf_ax.get_lines()) == 2


class _Twin(NetAgent):
    role = "edge_twin"


class _LevelOne(NetAgent):
    role = "level_one"


def test_network_view_draws_the_twins_and_agents_it_finds():
    model = VizNetworkModel(
        "highway-cav", rng=1, duration_s=30.0, n_users=4, scenario__service="none"
    )  # the twins here are stand-ins
    twin = _Twin(model, "edge:1")
    _LevelOne(model, "edge:0")
    model.step()
    fig = Figure(layout="constrained")
    draw_network(fig, model)
    texts = _texts(fig)
    assert f"T{twin.unique_id}" in texts
    assert "1 L1 DA" in texts
    assert any("RSU" in t.get_text() for t in fig.legends[0].get_texts())


def test_network_view_colours_users_by_qoe_relative_to_ela_when_known(monkeypatch):
    model = VizNetworkModel(rng=1, duration_s=30.0, n_users=5, scenario__service="none")
    model.step()
    fig = Figure(layout="constrained")
    draw_network(fig, model)
    assert "SINR (dB)" in [ax.get_ylabel() for ax in fig.axes]  # no QoE in a bare world
    n = model.world.n
    cols = {"qoe": np.full(n, 4.0), "ela": np.full(n, 3.0)}
    monkeypatch.setattr(probes, "user_columns", lambda m: cols)
    fig = Figure(layout="constrained")
    draw_network(fig, model)
    assert "QoE − ELA" in [ax.get_ylabel() for ax in fig.axes]
