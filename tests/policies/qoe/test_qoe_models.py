"""Tests of comprehensive QoE models E = S x I(B, C) (seed 000, Sec. III.C.1, Eq. (1))."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.services.behaviour import MosParams, mos_location_scale
from policies.qoe.factors import FactorSelection
from policies.qoe.models import (
    GenericQoeParams,
    QoeFitParams,
    QoeModel,
    construct_qoe_model,
    fit_qoe_model,
    generic_qoe_model,
    impact_value,
)


def _features(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "rebuffer": rng.uniform(0.0, 5.0, n),
        "quality": rng.uniform(0.0, 1.0, n),
        "throughput": rng.uniform(0.5e6, 6e6, n),
        "delay": rng.uniform(0.01, 0.1, n),
        "B": rng.uniform(1.0, 2.0, n),
        "C": rng.uniform(1.0, 2.0, n),
    }


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def test_linear_power_fit_recovers_parameters() -> None:
    rng = np.random.default_rng(0)
    f = _features(400, rng)
    truth = (2.5 + 2.0 * f["quality"] - 0.15 * f["rebuffer"]) * f["B"] ** -0.4 * f["C"] ** -0.2
    assert truth.min() > 1.0 and truth.max() < 5.0  # inside the MOS scale: no clipping
    mos = truth + rng.normal(0.0, 0.05, truth.size)
    params = QoeFitParams(s_families=("linear",), i_families=("power",))
    model = fit_qoe_model(mos, f, ("rebuffer", "quality", "B", "C"), params)
    assert model.structure_id == "S:linear[rebuffer,quality]*I:power[B,C]"
    expect = {"a0": 2.5, "w_quality": 2.0, "w_rebuffer": 0.15, "beta_B": 0.4, "beta_C": 0.2}
    for name, value in expect.items():
        assert model.param(name) == pytest.approx(value, abs=0.05), name
    res = mos - model.predict(f)
    assert model.rmse == pytest.approx(np.sqrt(np.mean(res**2)))
    assert model.r2 == pytest.approx(1 - np.sum(res**2) / np.sum((mos - mos.mean()) ** 2))
    assert model.rmse == pytest.approx(0.05, rel=0.15) and model.n_obs == 400


def test_logistic_sigmoid_fit_recovers_parameters() -> None:
    rng = np.random.default_rng(1)
    f = _features(500, rng)
    s = 1.0 + 4.0 * _sigmoid(-1.0 + 1.5 * f["throughput"] / 1e6 - 20.0 * f["delay"])
    impact = _sigmoid(1.0 - 2.0 * (f["C"] - 1.0)) / _sigmoid(1.0)
    mos = s * impact + rng.normal(0.0, 0.03, s.size)
    params = QoeFitParams(s_families=("logistic",), i_families=("sigmoid",))
    model = fit_qoe_model(mos, f, ("throughput", "delay", "C"), params)
    # Delay is normalised per 10 ms, so the true weight is 20 s^-1 x 0.01 s = 0.2.
    expect = {"a0": -1.0, "w_throughput": 1.5, "w_delay": 0.2, "g0": 1.0, "g_C": 2.0}
    for name, value in expect.items():
        assert model.param(name) == pytest.approx(value, rel=0.1, abs=0.05), name
    assert model.r2 > 0.99


def test_information_criterion_prefers_the_generating_family() -> None:
    rng = np.random.default_rng(2)
    f = _features(300, rng)
    saturating = 1.0 + 4.0 * _sigmoid(-3.0 + 8.0 * f["quality"])
    mos = saturating + rng.normal(0.0, 0.05, saturating.size)
    model = fit_qoe_model(mos, f, ("quality",), QoeFitParams())
    assert model.s_family == "logistic"
    linear = 1.0 + 3.0 * f["quality"] + rng.normal(0.0, 0.05, saturating.size)
    assert fit_qoe_model(linear, f, ("quality",), QoeFitParams()).s_family == "linear"


def test_no_factor_gives_the_mean_and_context_only_gives_scaled_constant() -> None:
    rng = np.random.default_rng(3)
    f = _features(200, rng)
    mos = rng.uniform(2.0, 4.0, 200)
    const = fit_qoe_model(mos, f, (), QoeFitParams())
    assert const.structure_id == "S:const[]*I:none[]"
    assert const.param("a0") == pytest.approx(mos.mean(), abs=1e-6)
    only_b = fit_qoe_model(4.0 * f["B"] ** -0.5, f, ("B",), QoeFitParams())
    assert only_b.s_family == "const" and only_b.param("a0") == pytest.approx(4.0, abs=1e-3)


@settings(max_examples=40, deadline=None)
@given(
    family=st.sampled_from(["power", "sigmoid"]),
    theta=st.lists(st.floats(0.0, 5.0), min_size=3, max_size=3),
    b=st.floats(1.0, 2.0),
    c=st.floats(1.0, 2.0),
)
def test_impact_is_one_at_origin_and_non_increasing(family, theta, b, c) -> None:  # noqa: ANN001
    names = ("a0", "beta_B", "beta_C") if family == "power" else ("a0", "g0", "g_B", "g_C")
    values = (3.0, *theta[:2]) if family == "power" else (3.0, theta[0] - 2.5, *theta[1:])
    model = QoeModel("const", family, (), ("B", "C"), values, names)
    assert impact_value(model, {"B": 1.0, "C": 1.0}) == pytest.approx(1.0)
    here = impact_value(model, {"B": b, "C": c})
    assert 0.0 < here <= 1.0 + 1e-12
    assert impact_value(model, {"B": b, "C": min(c + 0.1, 2.0)}) <= here + 1e-12


@settings(max_examples=40, deadline=None)
@given(
    w=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=2),
    a0=st.floats(-5.0, 5.0),
    family=st.sampled_from(["linear", "logistic"]),
)
def test_prediction_is_monotone_in_the_right_direction(w, a0, family) -> None:  # noqa: ANN001
    model = QoeModel(family, "none", ("rebuffer", "quality"), (), (a0, *w), ("a0", "w_r", "w_q"))
    grid = np.linspace(0.0, 1.0, 50)
    by_q = model.predict({"rebuffer": np.full(50, 2.0), "quality": grid})
    by_r = model.predict({"rebuffer": 10 * grid, "quality": np.full(50, 0.5)})
    assert np.all(np.diff(by_q) >= -1e-12) and np.all(np.diff(by_r) <= 1e-12)
    assert np.all((by_q >= 1.0) & (by_q <= 5.0))


def test_generic_model_is_the_mean_of_the_three_principles() -> None:
    model = generic_qoe_model(GenericQoeParams())
    assert model.structure_id == "S:linear[rebuffer,quality]*I:none[]"
    r, q = np.array([0.0, 1.0, 3.0]), np.array([0.2, 0.6, 0.5])
    locs = [
        mos_location_scale(p, r, q, MosParams())[0] for p in ("rebuffer", "quality", "combined")
    ]
    np.testing.assert_allclose(model.predict({"rebuffer": r, "quality": q}), np.mean(locs, 0))


def test_construct_uses_the_selected_factors() -> None:
    rng = np.random.default_rng(4)
    f = _features(150, rng)
    mos = 1 + 3 * f["quality"] + rng.normal(0, 0.1, 150)
    selection = FactorSelection(("quality", "B"), (0.9, 0.1), (0.0, 0.5), ("quality",))
    model = construct_qoe_model(mos, f, selection, QoeFitParams())
    assert model.factors == ("quality",)


def test_bad_inputs_are_named() -> None:
    rng = np.random.default_rng(5)
    f = _features(20, rng)
    with pytest.raises(ValueError, match="unknown"):
        fit_qoe_model(np.ones(20), f, ("colour",), QoeFitParams())
    model = fit_qoe_model(f["quality"] + 1, f, ("quality",), QoeFitParams())
    with pytest.raises(KeyError):
        model.predict({"rebuffer": np.ones(3)})
    model2 = dataclasses.replace(model, params=(10.0, 0.0))
    np.testing.assert_allclose(model2.predict({"quality": np.ones(3)}), 5.0)  # clipped
