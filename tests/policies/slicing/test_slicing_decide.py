"""End to end: records -> distribution -> slices, for every mechanism; params; plots;
the no-Mesa boundary."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policies.slicing as slicing
from policies.slicing import (
    DemandRecord,
    SlicingParams,
    aggregate_demand,
    capacity_vector,
    decide_slices,
    plot_convergence,
    run_dynamics,
)
from policies.slicing.params import MECHANISMS

CAPACITY = {"comm@bs0": 20.0, "comm@bs1": 20.0, "compute": 10.0}


def _records(rng: np.random.Generator, users: int) -> list[DemandRecord]:
    return [
        DemandRecord(
            u,
            str(rng.choice(["video", "ar", "sensing"])),
            int(rng.integers(2)),
            (float(rng.uniform(0.0, 6.0)), float(rng.uniform(0.0, 2.0))),
            (float(rng.uniform(0.05, 0.6)), float(rng.uniform(0.1, 2.0))),
            float(rng.uniform(3.0, 5.0)),
        )
        for u in range(users)
    ]


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    users=st.integers(1, 24),
    mechanism=st.sampled_from(MECHANISMS),
    variant=st.sampled_from(["congestion-potential", "capacity-coupled"]),
    curve=st.sampled_from(["log", "saturating", "sigmoid"]),
    squeeze=st.floats(0.05, 2.0),
)
def test_slices_never_exceed_capacity(
    seed: int, users: int, mechanism: str, variant: str, curve: str, squeeze: float
) -> None:
    rng = np.random.default_rng(seed)
    params = SlicingParams(
        mechanism=mechanism,
        game_variant=variant,
        gain_curve=curve,
        max_rounds=20,
        grid_points=129,
    )
    dist = aggregate_demand(_records(rng, users), params)
    capacities = capacity_vector(dist, CAPACITY) * squeeze
    decision = decide_slices(dist, capacities, params)
    assert np.all(decision.slices >= 0.0)
    assert np.all(decision.slices.sum(axis=0) <= capacities * (1 + 1e-9))
    # Nobody gets a pool it cannot use.
    assert np.all(decision.slices[~dist.eligible] == 0.0)
    assert decision.welfare <= decision.optimum_welfare * (1 + 1e-9) + 1e-12 or curve == "sigmoid"


def test_every_mechanism_runs_and_serialises(tmp_path: Path) -> None:
    rng = np.random.default_rng(40)
    records = _records(rng, 20)
    for mechanism in MECHANISMS:
        params = SlicingParams(mechanism=mechanism)
        dist = aggregate_demand(records, params)
        decision = decide_slices(dist, capacity_vector(dist, CAPACITY), params)
        text = json.dumps(decision.to_dict(), allow_nan=False)
        again = slicing.SlicingGame.from_dict(json.loads(text)["game"])
        np.testing.assert_array_equal(again.prices, decision.game.prices)
        if mechanism in ("game", "kelly"):
            assert decision.certificate is not None and decision.trajectory is not None
            assert decision.trajectory.converged
            assert decision.certificate.nash_gap <= params.epsilon


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_a_window_without_demand_slices_nothing(mechanism: str) -> None:
    params = SlicingParams(mechanism=mechanism)
    dist = aggregate_demand([], params)
    assert dist.pools == ("compute",)  # radio pools exist only where some group is served
    decision = decide_slices(dist, np.array([5.0]), params)
    assert decision.slices.shape == (0, 1)
    assert decision.welfare == 0.0 == decision.optimum_welfare
    json.dumps(decision.to_dict(), allow_nan=False)


def test_game_and_greedy_are_near_optimal_on_the_default_log_curve() -> None:
    rng = np.random.default_rng(41)
    dist = aggregate_demand(_records(rng, 24), SlicingParams())
    capacities = capacity_vector(dist, CAPACITY) * 0.3  # scarce: the game matters
    greedy = decide_slices(dist, capacities, SlicingParams(mechanism="greedy", greedy_quanta=2000))
    game = decide_slices(dist, capacities, SlicingParams(mechanism="game"))
    assert greedy.welfare == pytest.approx(greedy.optimum_welfare, rel=1e-3)
    # With the market-clearing congestion price the equilibrium fills every pool.
    # (to the precision a Nash gap of epsilon = 1e-6 implies: distance ~ sqrt(epsilon)).
    np.testing.assert_allclose(game.slices.sum(axis=0), capacities, rtol=1e-3)
    assert game.certificate is not None
    assert 0.9 < game.certificate.price_of_anarchy <= 1.0


def test_params_validate_names_the_field() -> None:
    SlicingParams()  # defaults are valid
    with pytest.raises(ValueError, match="mechanism"):
        SlicingParams(mechanism="auction")
    with pytest.raises(ValueError, match="epsilon"):
        SlicingParams(epsilon=-1.0)
    with pytest.raises(ValueError, match="price_coefficients"):
        SlicingParams(price_coefficients=(1.0, -2.0))
    with pytest.raises(ValueError, match="stage_thresholds"):
        SlicingParams(stage_thresholds=(0.5, 0.2, 0.6, 0.8))
    with pytest.raises(ValueError, match="one entry fewer"):
        SlicingParams(stage_thresholds=(0.5,))


def test_convergence_plot_is_written(tmp_path: Path) -> None:
    rng = np.random.default_rng(42)
    dist = aggregate_demand(_records(rng, 10), SlicingParams())
    game = slicing.game_from_distribution(dist, capacity_vector(dist, CAPACITY), SlicingParams())
    out = plot_convergence(run_dynamics(game, SlicingParams()), tmp_path / "conv.png", "test")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    kelly = decide_slices(dist, capacity_vector(dist, CAPACITY), SlicingParams(mechanism="kelly"))
    assert kelly.trajectory is not None
    plot_convergence(kelly.trajectory, tmp_path / "kelly.png")  # NaN potential is drawn as text
    assert (tmp_path / "kelly.png").stat().st_size > 0


def test_slicing_policies_do_not_import_mesa() -> None:
    package = Path(slicing.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "import mesa" not in text and "from mesa" not in text, source.name
        assert "np.random.seed" not in text and "import random" not in text, source.name
