"""One level-one DA's whole loop in a short campus run: reports in, factors selected, model
fitted, demand predicted per window and sent to the level-two DAs, model shared with the edge."""

from __future__ import annotations

import numpy as np
import pytest

from agents.level_one import LevelOneDA
from model.config import load_scenario
from model.network_model import NetworkModel


@pytest.mark.parametrize("no_factor_fit", ["keep", "constant"])
def test_level_one_da_loop_in_a_short_run(no_factor_fit):
    cfg = load_scenario(
        "campus-video",
        {
            "scenario.duration_s": 420.0,
            "users.count": 6,
            "users.report_period_s": 5.0,
            "das.min_samples": 12,
            "das.first_window_min": 2.0,
            "scheduler.train_steps": 800,
            "scheduler.target_update_every": 100,
            "qoe_factors.num_resamples": 199,
            "das.no_factor_fit": no_factor_fit,
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
    assert all(len(d.mos) >= 12 and d.fits >= 1 for d in das)
    assert any(d.personalised for d in das)
    fits = ext.tables()["da_fits"]
    assert set(fits.columns) >= {"user", "selected", "dcc", "structure", "rmse", "r2"}
    for d in das:
        rows = fits[fits["user"] == model.agent(d.user_id).index]
        kept = rows["reason"].str.contains("no factor significant")
        if no_factor_fit == "constant":  # every fit replaces the model, factors or not
            assert d.personalised and not kept.any()
        elif not d.personalised:  # no fit found a factor: the DA still holds the generic model
            assert kept.all() and d.qoe_model.structure_id == rows["structure"].iloc[-1]
            assert d.qoe_model.structure_id == ext_generic_structure(ext)
        assert d.qoe_model.rmse >= 0 and np.isfinite(d.qoe_model.rmse)
    demands = ext.tables()["demands"]
    assert not demands.empty and (demands["comm_mhz"] >= 0).all()
    # the DA only ever heard of its user through messages, all accounted for by the bus
    assert model.bus.sent["qos_report"] > 0 and model.bus.sent["demand"] == len(demands)
    assert model.bus.sent["qoe_model"] > 0


def ext_generic_structure(ext):
    from policies.qoe import generic_qoe_model

    return generic_qoe_model(ext.cfg.generic_qoe).structure_id
