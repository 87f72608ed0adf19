"""Path loss against TR 38.901 Table 7.4.1-1 at known distances; SINR and Shannon rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from model.channel import (
    breakpoint_distance,
    los_probability,
    pathloss_los_db,
    pathloss_nlos_db,
    shannon_rate,
    sinr_db,
)

FC = 0.7805
H_BS, H_UT = 25.0, 1.5


def d3(d2):
    return math.sqrt(d2**2 + (H_BS - H_UT) ** 2)


def test_uma_breakpoint_at_n28():
    # d'BP = 4 (25-1)(1.5-1) 0.7805e9 / c
    assert breakpoint_distance(H_BS, H_UT, FC) == pytest.approx(
        4 * 24 * 0.5 * 0.7805e9 / 299792458.0
    )


@pytest.mark.parametrize("d2", [50.0, 100.0])
def test_uma_los_before_breakpoint(d2):
    expected = 28.0 + 22 * math.log10(d3(d2)) + 20 * math.log10(FC)
    got = pathloss_los_db("uma", np.array([d2]), np.array([d3(d2)]), FC, H_BS, H_UT)[0]
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("d2", [300.0, 1000.0])
def test_uma_los_after_breakpoint(d2):
    dbp = breakpoint_distance(H_BS, H_UT, FC)
    expected = (
        28.0
        + 40 * math.log10(d3(d2))
        + 20 * math.log10(FC)
        - 9 * math.log10(dbp**2 + (H_BS - H_UT) ** 2)
    )
    got = pathloss_los_db("uma", np.array([d2]), np.array([d3(d2)]), FC, H_BS, H_UT)[0]
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("d2", [100.0, 500.0, 2000.0])
def test_uma_nlos_is_max_of_los_and_nlos_formula(d2):
    nlos = 13.54 + 39.08 * math.log10(d3(d2)) + 20 * math.log10(FC) - 0.6 * (H_UT - 1.5)
    los = pathloss_los_db("uma", np.array([d2]), np.array([d3(d2)]), FC, H_BS, H_UT)[0]
    got = pathloss_nlos_db("uma", np.array([d2]), np.array([d3(d2)]), FC, H_BS, H_UT)[0]
    assert got == pytest.approx(max(los, nlos))


def test_umi_los_formula():
    d2 = 30.0  # below d'BP = 46.8 m for h_BS = 10 m
    h_bs = 10.0
    d = math.sqrt(d2**2 + (h_bs - H_UT) ** 2)
    expected = 32.4 + 21 * math.log10(d) + 20 * math.log10(FC)
    assert pathloss_los_db("umi", np.array([d2]), np.array([d]), FC, h_bs, H_UT)[
        0
    ] == pytest.approx(expected)


@pytest.mark.parametrize("model", ["uma", "umi", "rma"])
def test_pathloss_increases_with_distance(model):
    d2 = np.linspace(20, 3000, 200)
    d = np.sqrt(d2**2 + (H_BS - H_UT) ** 2)
    for fn in (pathloss_los_db, pathloss_nlos_db):
        pl = fn(model, d2, d, FC, H_BS, H_UT)
        assert np.all(np.diff(pl) > 0)


def test_los_probability_table():
    assert los_probability("uma", np.array([10.0]))[0] == 1.0
    d = 100.0
    expected = 18 / d + math.exp(-d / 63) * (1 - 18 / d)
    assert los_probability("uma", np.array([d]))[0] == pytest.approx(expected)
    assert los_probability("rma", np.array([1010.0]))[0] == pytest.approx(math.exp(-1.0))


def test_sinr_and_shannon():
    rx = np.array([[-80.0, -90.0]])
    noise = -100.0
    s = sinr_db(rx, np.array([0]), noise, load=1.0)[0]
    expected = 10 * math.log10(1e-8 / (1e-9 + 1e-10))
    assert s == pytest.approx(expected)
    assert sinr_db(rx, np.array([0]), noise, load=0.0)[0] == pytest.approx(20.0)
    rate = shannon_rate(np.array([1e6]), np.array([s]))[0]
    assert rate == pytest.approx(1e6 * math.log2(1 + 10 ** (s / 10)))
    assert shannon_rate(np.array([1e6]), np.array([40.0]), max_se=4.4)[0] == pytest.approx(4.4e6)


@pytest.mark.parametrize("model", ["uma", "umi", "rma"])
def test_fast_kernel_matches_the_formulas(model):
    from model.channel import PathLossKernel

    h_bs = 35.0 if model == "rma" else H_BS
    kern = PathLossKernel(model, FC, h_bs, H_UT, 20_000.0)
    d2 = np.concatenate([[1.0, 5.0, 10.0], np.geomspace(11.0, 10_000.0, 400)])
    los, nlos, d2_out = kern.pathloss((d2**2).astype(np.float32))
    dc = np.maximum(d2, 10.0)
    d3d = np.sqrt(dc**2 + (h_bs - H_UT) ** 2)
    assert np.allclose(los, pathloss_los_db(model, dc, d3d, FC, h_bs, H_UT), atol=2e-3)
    assert np.allclose(nlos, pathloss_nlos_db(model, dc, d3d, FC, h_bs, H_UT), atol=2e-3)
    assert np.allclose(d2_out, dc, rtol=1e-6)


@pytest.mark.parametrize("model", ["uma", "umi", "rma"])
def test_los_state_frequency_matches_the_probability(model):
    from model.channel import PathLossKernel

    kern = PathLossKernel(model, FC, H_BS, H_UT, 5_000.0)
    rng = np.random.default_rng(1)
    for d in (15.0, 60.0, 200.0, 900.0):
        z = rng.standard_normal(200_000).astype(np.float32)
        frac = kern.is_los(np.full(z.shape, d, dtype=np.float32), z).mean()
        assert frac == pytest.approx(float(los_probability(model, np.array(d))), abs=5e-3)


@pytest.mark.parametrize("r", [0.0, 0.5, 0.9])
def test_shadowing_is_unit_variance_and_site_correlated(r):
    from model.channel import PathLossKernel, ShadowedChannel
    from model.params import RadioParams

    params = RadioParams(shadow_site_correlation=r)
    kern = PathLossKernel("uma", FC, H_BS, H_UT, 1_000.0)
    ch = ShadowedChannel(params, 40_000, 2, np.random.default_rng(2), kern)
    for _ in range(5):  # the AR(1) evolution keeps the marginals
        ch.evolve(np.full(40_000, 10.0))
    z = ch.shadow().astype(float)
    assert z.var(axis=0) == pytest.approx([1.0, 1.0], abs=0.03)
    assert np.corrcoef(z[:, 0], z[:, 1])[0, 1] == pytest.approx(r, abs=0.03)
