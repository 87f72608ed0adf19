"""The seed's ELA achievable ratio (Sec. IV): mean QoE / ELA per user and window, capped at 1."""

import numpy as np
import pandas as pd
import pytest

from model.config import load_scenario
from model.network_model import NetworkModel
from model.video_ext import VideoExtension


@pytest.mark.parametrize("rule", ["qoe_over_ela", "share_at_or_above"])
def test_ela_table_has_both_ratios_and_the_chosen_one(rule):
    cfg = load_scenario(
        "campus-video",
        {"users.count": 6, "scenario.digital_agents": False, "scenario.duration_s": 60.0,
         "das.ela_ratio": rule},
    )
    model = NetworkModel(cfg)
    ext = model.extensions.get(VideoExtension)
    # Two windows of made-up samples through the extension's own table code.
    ext.samples = [
        pd.DataFrame({"time_s": [1.0, 2.0, 3.0, 4.0], "user": [0, 0, 1, 1], "window": [0, 0, 0, 0],
                      "qoe": [2.0, 4.0, 5.0, 4.5], "mos": [2, 4, 5, 4], "ela": [4.0, 4.0, 3.0, 3.0],
                      "rebuffer_s_per_min": 0.0, "quality": 0.5, "B": 1.0, "C": 1.0})
    ]
    e = ext.ela_frame().set_index("user")
    assert e.loc[0, "qoe_over_ela"] == pytest.approx(3.0 / 4.0)
    assert e.loc[0, "share_at_or_above"] == pytest.approx(0.5)
    assert e.loc[1, "qoe_over_ela"] == 1.0  # capped: exceeding the ELA earns nothing more
    assert np.array_equal(e["ela_ratio"], e[rule])
