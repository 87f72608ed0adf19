"""Association follows the strongest cell with hysteresis, and changes when a user crosses cells."""

from __future__ import annotations

import numpy as np

from model.params import BaseStationParams, RadioParams
from model.radio import RadioAccess, cell_shares


def _radio(**kw):
    radio = RadioParams(shadowing=False, los_model="los", **kw)
    bs = BaseStationParams(count=2)
    return RadioAccess(
        np.array([[0.0, 0.0], [1000.0, 0.0]]), bs, radio, 1.5, 1, 1.0, np.random.default_rng(0)
    )


def test_association_changes_when_crossing_cells():
    ra = _radio(hysteresis_db=3.0, time_to_trigger_s=0.0, l3_filter_k=0)
    cells = []
    for x in np.linspace(50, 950, 91):
        ra.update(np.array([[x, 0.0]]), np.array([10.0]))
        cells.append(int(ra.serving[0]))
    assert cells[0] == 0 and cells[-1] == 1
    switch = cells.index(1)
    x_switch = np.linspace(50, 950, 91)[switch]
    # hysteresis delays the handover past the midpoint, never before it
    assert x_switch > 500
    assert sum(a != b for a, b in zip(cells, cells[1:], strict=False)) == 1


def test_hysteresis_prevents_ping_pong_at_the_border():
    ra = _radio(hysteresis_db=3.0, time_to_trigger_s=0.0, l3_filter_k=0)
    ra.update(np.array([[480.0, 0.0]]), np.array([0.0]))
    first = int(ra.serving[0])
    for x in [490, 510, 495, 505, 500, 520]:
        ra.update(np.array([[float(x), 0.0]]), np.array([10.0]))
        assert int(ra.serving[0]) == first


def test_time_to_trigger_delays_handover():
    fast = _radio(hysteresis_db=0.0, time_to_trigger_s=0.0, l3_filter_k=0)
    slow = _radio(hysteresis_db=0.0, time_to_trigger_s=3.0, l3_filter_k=0)
    xs = [400.0, 600.0, 600.0, 600.0, 600.0]
    served = {"fast": [], "slow": []}
    for x in xs:
        for name, ra in (("fast", fast), ("slow", slow)):
            ra.update(np.array([[x, 0.0]]), np.array([1.0]))
            served[name].append(int(ra.serving[0]))
    assert served["fast"] == [0, 1, 1, 1, 1]
    assert served["slow"] == [0, 0, 0, 1, 1]


def test_cell_shares_split_each_cell():
    serving = np.array([0, 0, 1, 1, 1])
    w = np.array([1.0, 3.0, 1.0, 1.0, 0.0])
    share = cell_shares(serving, w, 2, np.array([10.0, 6.0]))
    assert np.allclose(share, [2.5, 7.5, 3.0, 3.0, 0.0])


def test_candidate_refresh_keeps_each_links_fading():
    """A cell that stays a candidate keeps its shadowing, LOS field and filtered power."""
    radio = RadioParams(candidate_cells=2, candidate_refresh_s=1.0)
    sites = np.array([[0.0, 0.0], [400.0, 0.0], [800.0, 0.0]])
    ra = RadioAccess(
        sites, BaseStationParams(count=3), radio, 1.5, 1, 1.0, np.random.default_rng(3)
    )
    ra.update(np.array([[150.0, 0.0]]), np.array([0.0]))  # candidates {0, 1}
    before = {
        int(c): (ra.channel.z_shadow[0, j], ra.channel.z_los[0, j])
        for j, c in enumerate(ra.cand[0])
    }
    ra.update(np.array([[650.0, 0.0]]), np.array([0.0]))  # candidates {2, 1}: cell 1 moves column
    after = {
        int(c): (ra.channel.z_shadow[0, j], ra.channel.z_los[0, j])
        for j, c in enumerate(ra.cand[0])
    }
    assert set(after) == {1, 2}
    assert after[1] == before[1]
    assert after[2] != before[0]
