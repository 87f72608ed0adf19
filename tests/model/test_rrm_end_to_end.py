"""A slice grant reaches the physics: SLICE message -> the cell's RRM policy -> users' rates."""

import numpy as np
import pytest

from model.config import load_scenario
from model.messages import Kind, SliceGrant
from model.network_model import NetworkModel


def _model(**extra):
    cfg = load_scenario(
        "campus-video",
        {"users.count": 30, "scenario.digital_agents": False, "scenario.duration_s": 60.0, **extra},
    )
    model = NetworkModel(cfg)
    for _ in range(3):
        model.step()
    return model


def _grant_cell0(model, shares):
    """Send cell 0 a grant giving slice class k the share ``shares[k]`` of its bandwidth."""
    cell = model.cells[0]
    hz = float(model.world.cell_hz[0])
    groups = tuple(f"video/t{k}@bs0" for k in range(len(shares)))
    grant = SliceGrant(
        0, groups, tuple(() for _ in groups), ("comm@bs0",), tuple((s * hz,) for s in shares)
    )
    model.bus.send(model.now_s, model.cloud.unique_id, cell.unique_id, Kind.SLICE, grant)
    for _ in range(3):
        model.step()


def _slice_totals(model):
    w = model.world
    in0 = w.serving == 0
    return np.array(
        [w.alloc_hz[in0 & (w.slice_class == k)].sum() for k in range(w.slice_classes)]
    ), w


@pytest.mark.parametrize("floor", [0.0, 0.05])
def test_grant_caps_each_slice_and_a_zero_grant_gives_zero_or_the_floor(floor):
    model = _model(**{"slicing.rrm_floor_share": floor})
    shares = [0.6, 0.4, 0.0]
    _grant_cell0(model, shares)
    totals, w = _slice_totals(model)
    hz = w.cell_hz[0]
    assert w.comm_policy is not None
    in0 = w.serving == 0
    for k, g in enumerate(shares):
        users = in0 & (w.slice_class == k) & w.active
        minimum = w.comm_policy.minimum[0, k]
        assert totals[k] <= w.comm_policy.maximum[0, k] * hz * (1 + 1e-9)
        if g == 0.0 and users.any():
            expected = 0.0 if floor == 0 else hz * floor / (1 + floor)
            assert totals[k] == pytest.approx(expected, abs=1e-6)
            assert (w.rate_bps[users] == 0).all() == (floor == 0)
        elif users.any():
            assert totals[k] == pytest.approx(minimum * hz, rel=1e-9)


def test_changing_only_the_grant_moves_the_slices_rate_the_same_way():
    rates = []
    for share in (0.2, 0.5, 0.8):
        model = _model(**{"slicing.rrm_floor_share": 0.0})
        _grant_cell0(model, [share, 1 - share, 0.0])
        w = model.world
        users = (w.serving == 0) & (w.slice_class == 0) & w.active
        assert users.any()
        rates.append(w.rate_bps[users].sum())
    assert rates[0] < rates[1] < rates[2]


def test_a_starved_users_delay_is_its_wait_not_a_transfer_at_one_bit_per_second():
    model = _model(**{"slicing.rrm_floor_share": 0.0})
    _grant_cell0(model, [1.0, 0.0, 0.0])  # classes 1 and 2 of cell 0 get nothing
    w = model.world
    starved = (w.serving == 0) & (w.slice_class > 0) & w.active & (w.rate_bps == 0)
    assert starved.any()
    wait = w.backhaul_ms + 1e3 * w.dt * w.unserved_slots[starved]
    assert np.allclose(w.delay_ms[starved], wait)
    assert w.delay_ms[starved].max() <= w.backhaul_ms + 1e3 * model.now_s  # seconds, not hours
    served = w.rate_bps * w.dt >= 12_000
    assert np.all(w.delay_ms[served] <= w.backhaul_ms + 1e3 * w.dt + 1e3 * 12_000 / w.rate_bps[served])
