"""End to end: simulated viewing -> MOS feedback -> DCC selection -> fit -> demand.

The level-one DA pipeline of seed 000 Sec. III.C run on data from the video service and the
behaviour model, checked against the users' true (hidden) expected MOS.
"""

from __future__ import annotations

import numpy as np

from model.services import behaviour as bh
from model.services.video import VideoParams, VideoWindowStats, init_video, step_video
from policies.qoe import (
    DemandParams,
    FactorSelectionParams,
    GenericQoeParams,
    QoeFitParams,
    fit_qoe_model,
    generic_qoe_model,
    predict_demand,
    select_factors,
)

VIDEO = VideoParams(abr="hybrid")  # the setting this synthetic user was designed with
BEHAVIOUR = bh.BehaviourParams()
MOS = bh.MosParams()


def _feedback_windows(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n independent 60 s feedback windows with varied throughput, swiping and speed."""
    state = init_video(n, VIDEO, rng)
    theta = np.exp(rng.uniform(np.log(0.3e6), np.log(8e6), n))
    swipe_scale = rng.uniform(0.2, 2.0, n)
    window = VideoWindowStats.empty(n)
    for _ in range(60):
        slot = step_video(state, theta, 1.0, VIDEO, rng, request_rate_scale=swipe_scale)
        window.add(slot, theta, 1.0)
    f = window.features()
    f["B"] = bh.behavioural_dynamics(f["swipe_rate"], BEHAVIOUR)
    f["C"] = bh.environmental_complexity(rng.uniform(0.0, 12.0, n), BEHAVIOUR)
    f["delay"] = rng.uniform(0.01, 0.1, n)
    return f


def test_personal_model_tracks_true_experience_better_than_generic() -> None:
    rng = np.random.default_rng(0)
    beta_b, beta_c = 0.5, 0.5

    def truth(f: dict[str, np.ndarray]) -> np.ndarray:
        impact = bh.true_impact(f["B"], f["C"], beta_b, beta_c)
        return bh.expected_mos("combined", f["rebuffer"], f["quality"], MOS, impact=impact)

    train = _feedback_windows(200, rng)
    impact = bh.true_impact(train["B"], train["C"], beta_b, beta_c)
    mos = bh.sample_mos("combined", train["rebuffer"], train["quality"], MOS, rng, impact=impact)
    selection = select_factors(mos, train, FactorSelectionParams(num_resamples=299), rng)
    assert {"quality", "B"} <= set(selection.selected)
    model = fit_qoe_model(mos, train, selection.selected, QoeFitParams())

    test = _feedback_windows(300, rng)
    personal = np.sqrt(np.mean((model.predict(test) - truth(test)) ** 2))
    generic = np.sqrt(
        np.mean((generic_qoe_model(GenericQoeParams()).predict(test) - truth(test)) ** 2)
    )
    assert personal < 0.25 and personal < 0.5 * generic

    # Demand for a reachable ELA is met by the model and lies within the search limits.
    b_now, c_now = np.full(64, 1.5), np.full(64, 1.2)
    demand = predict_demand(model, 2.5, 2.0, b_now, c_now, 600.0, DemandParams())
    assert demand.attainable and 0.0 < demand.bandwidth_hz < DemandParams().max_bandwidth_hz
