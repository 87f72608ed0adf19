"""One level-one DA's whole loop in a short campus run: reports in, factors selected, model
fitted, demand predicted per window and sent to the level-two DAs, model shared with the edge."""

from __future__ import annotations

import numpy as np

from agents.level_one import LevelOneDA
from model.config import load_scenario
from model.network_model import NetworkModel


def test_level_one_da_loop_in_a_short_run():
    cfg = load_scenario(
        "campus-video",
        {
            "scenario.duration_s": 420.0,
            "users.count": 6,
            "users.report_period_s": 5.0,
            "das.min_samples": 12,
            "das.first_window_min": 2.0,
            "das.train_episodes": 1,
            "qoe_factors.num_resamples": 199,
        },
    )
    model = NetworkModel(cfg)
    while model.running:
        model.step()
    ext = model.extensions.parts[0]
    das = model.agents_by_type[LevelOneDA]
    assert len(das) == 6 and all(
        u.manager == d.unique_id for u, d in zip(model.users, das, strict=True)
    )
    da = das[0]
    assert len(da.mos) >= 12 and da.personalised and da.fits >= 1
    assert da.qoe_model.rmse >= 0 and np.isfinite(da.qoe_model.rmse)
    fits = ext.tables()["da_fits"]
    assert set(fits.columns) >= {"user", "selected", "dcc", "structure", "rmse", "r2"}
    demands = ext.tables()["demands"]
    assert not demands.empty and (demands["comm_mhz"] >= 0).all()
    # the DA only ever heard of its user through messages, all accounted for by the bus
    assert model.bus.sent["qos_report"] > 0 and model.bus.sent["demand"] == len(demands)
    assert model.bus.sent["qoe_model"] > 0
