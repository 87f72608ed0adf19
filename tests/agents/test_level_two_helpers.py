"""The level-two DAs' own logic around the slicing policies (seed 000 Sec. III.D):
DEMAND reports -> records, pools per edge server, dynamics analysis -> slice window."""

from __future__ import annotations

import pytest

from agents.level_two_helpers import demand_records, split_shared_pools, window_dynamics
from model.messages import DemandReport, DynamicsReport
from model.network_model import NetworkModel
from model.video_ext import VideoExtension
from policies.slicing import SlicingParams, aggregate_demand

PARAMS = SlicingParams()
KINDS = ("comm", "compute")


def _demand(user: int, cell: int, gain: float = 2e-6, structure: str = "S:linear") -> DemandReport:
    return DemandReport(
        user=user,
        cell=cell,
        service="video",
        window=0,
        window_s=180.0,
        comm_hz=1e6,
        cpu_hz=2e8,
        predicted_qoe=4.0,
        ela=4.0,
        attainable=True,
        gain_per_hz=gain,
        structure=structure,
    )


def _service(r: DemandReport) -> str:
    return f"video/t{int(r.ela > 4)}"


def test_demand_records_skip_unplaced_users_and_price_gains():
    recs = demand_records(
        [_demand(1, 0), _demand(2, -1), _demand(3, 1, 0.0, "sla"), _demand(4, 1, 0.0)],
        _service,
        KINDS,
    )
    assert [r.user_id for r in recs] == [1, 3, 4]
    linear, prior, flat = recs
    assert linear.gain_per_unit[0] == pytest.approx(2e-6)
    # computing buys the same QoE gain at its demand as bandwidth does at its own
    assert linear.gain_per_unit[1] * 2e8 == pytest.approx(2e-6 * 1e6)
    assert prior.gain_per_unit[0] * 1e6 == pytest.approx(1.0)  # no QoE model yet: 1 MOS
    assert flat.gain_per_unit == (0.0, 0.0)  # the model sees no gain: not eligible
    assert linear.demand == (1e6, 2e8)


def test_shared_pool_splits_per_edge_server():
    recs = demand_records([_demand(1, 0), _demand(2, 1), _demand(3, 2)], _service, KINDS)
    dist = aggregate_demand(recs, PARAMS)
    split = split_shared_pools(dist, {0: 0, 1: 0, 2: 1})
    assert split.pools == ("comm@bs0", "comm@bs1", "comm@bs2", "compute@edge0", "compute@edge1")
    assert split.demand[:, 3].tolist() == [2e8, 2e8, 0.0]
    assert split.demand[:, 4].tolist() == [0.0, 0.0, 2e8]
    assert split.eligible[:, 3:].sum(axis=1).tolist() == [1, 1, 1]  # each group: its own edge


def _reports(
    users: int, spread: float, drift: float, handovers: int, ratio: float = 0.92
) -> dict[int, list[DynamicsReport]]:
    return {
        u: [
            DynamicsReport(u, w, 1.5 + drift * w, spread, 1.4 - drift * w, spread, handovers, ratio)
            for w in range(3)
        ]
        for u in range(users)
    }


def test_dynamics_index_grows_with_spread_drift_and_handovers():
    calm = window_dynamics(_reports(5, 0.0, 0.0, 0), 6.0, PARAMS)
    assert calm == 0.0
    assert window_dynamics(_reports(5, 0.2, 0.0, 0), 6.0, PARAMS) > calm
    assert window_dynamics(_reports(5, 0.0, 0.1, 0), 6.0, PARAMS) > calm
    levels = [window_dynamics(_reports(5, 0.1, 0.05, h), 6.0, PARAMS) for h in (0, 2, 8)]
    assert levels == sorted(levels) and levels[0] < levels[-1] < 1.0


@pytest.fixture
def controller():
    model = NetworkModel("campus-video", n_users=4)
    ctl = model.extensions.get(VideoExtension).level_two.controller.core
    ctl.lengths_s = [360.0]
    return ctl


def test_higher_dynamics_give_shorter_windows(controller):
    windows = []
    for spread, drift, handovers in [(0.0, 0.0, 0), (0.05, 0.02, 1), (0.2, 0.1, 6), (1, 1, 50)]:
        controller.history = _reports(4, spread, drift, handovers)
        controller.thresholds = PARAMS.stage_thresholds
        length_s, index, feedback = controller.window_length(2)
        assert feedback == pytest.approx(0.92)  # inside the hysteresis band: no tuning
        windows.append(length_s / 60)
    assert windows[0] == max(PARAMS.window_stages_min)
    assert windows == sorted(windows, reverse=True) and windows[-1] < windows[0]


def test_poor_qoe_feedback_shortens_the_window_for_the_same_dynamics(controller):
    controller.history = _reports(4, 0.08, 0.02, 1, ratio=0.2)  # ELAs mostly missed
    lengths = [controller.window_length(2)[0] for _ in range(6)]
    assert lengths == sorted(lengths, reverse=True) and lengths[-1] < lengths[0]
    assert max(controller.thresholds) < max(PARAMS.stage_thresholds)


def test_fixed_window_schemes_ignore_dynamics():
    model = NetworkModel("campus-video", n_users=4, scheme="wo-da")
    ctl = model.extensions.get(VideoExtension).level_two.controller.core
    ctl.history, ctl.lengths_s = _reports(4, 1.0, 1.0, 50), [180.0]
    assert ctl.window_length(1)[0] == model.cfg.das.fixed_window_min * 60
    assert ctl.window_length(0)[0] == model.cfg.das.first_window_min * 60
