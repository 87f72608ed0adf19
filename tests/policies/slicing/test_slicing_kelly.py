"""Proportional share (Kelly) against theory: closed-form symmetric equilibrium, exact BR,
the Johari-Tsitsiklis 3/4 efficiency bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slicing_instances import random_game

from policies.slicing.abstraction import gain_curve
from policies.slicing.certificates import certify_kelly
from policies.slicing.game import SlicingGame
from policies.slicing.kelly import (
    kelly_best_response,
    kelly_nash_gap,
    kelly_shares,
    kelly_utility,
    run_kelly,
    symmetric_kelly_bid,
)
from policies.slicing.params import SlicingParams

RESERVE = 1e-12


def _symmetric_game(n: int, w: float, k: float, capacity: float) -> SlicingGame:
    # u_i = w log(1 + k x) - b is amplitude w, demand scale 1 / k of the log curve.
    return SlicingGame(
        np.ones(n),
        np.full((n, 1), w),
        np.full((n, 1), 1.0 / k),
        np.full((n, 1), capacity),
        [capacity],
        [0.0],
    )


def test_six_player_symmetric_equilibrium_closed_form() -> None:
    n, w, k, capacity = 6, 2.0, 0.5, 10.0
    game = _symmetric_game(n, w, k, capacity)
    params = SlicingParams(
        mechanism="kelly",
        dynamics="sequential",  # the Gauss-Seidel sweeps measured below (default: damped)
        epsilon=1e-13,
        max_rounds=60,
        kelly_reserve_bid=RESERVE,
    )
    traj = run_kelly(game, params)
    assert traj.converged
    # b* = w k / (1 + k C / n) * C (n - 1) / n^2, derived independently of the library.
    expected = w * k / (1 + k * capacity / n) * capacity * (n - 1) / n**2
    assert symmetric_kelly_bid(n, w, 1.0 / k, capacity) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(traj.final_profile[:, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(
        kelly_shares(game, traj.final_profile, RESERVE), capacity / n, rtol=1e-6
    )
    # Gauss-Seidel sweeps drive NashConv down fast (notes/equilibria.md: 1e-14 after five).
    conv = [sum(certify_kelly(game, r.profile, RESERVE).regrets) for r in traj.rounds[1:6]]
    assert conv[-1] < 1e-8
    assert conv[-1] < conv[0]


def test_symmetric_bid_is_a_nash_equilibrium() -> None:
    n, w, k, capacity = 6, 1.0, 2.0, 3.0
    game = _symmetric_game(n, w, k, capacity)
    bids = np.full((n, 1), symmetric_kelly_bid(n, w, 1.0 / k, capacity))
    assert kelly_nash_gap(game, bids, RESERVE) < 1e-9


def _reference_payoff(game: SlicingGame, i: int, bids: np.ndarray) -> np.ndarray:
    """u_i from the module docstring, vectorised over leading axes of bids (..., n, P)."""
    total = bids.sum(axis=-2) + RESERVE
    share = game.capacities * bids[..., i, :] / total
    gain = game.amplitude[i] * gain_curve(game.curve, share / game.demand_scale[i], game.steepness)
    return np.sum(gain - bids[..., i, :], axis=-1)


@pytest.mark.parametrize("curve", ("log", "saturating", "sigmoid"))
def test_best_bid_beats_fine_grid_of_bids(curve: str) -> None:
    rng = np.random.default_rng(21)
    game = random_game(rng, n=3, pools=2, curve=curve)
    bids = rng.uniform(0.0, 1.0, (3, 2))
    for i in range(3):
        trial = bids.copy()
        trial[i] = kelly_best_response(game, i, bids, RESERVE)
        exact = kelly_utility(game, i, trial, RESERVE)
        assert exact == pytest.approx(_reference_payoff(game, i, trial), abs=1e-12)
        # Separable over pools: a grid per pool is a full search.
        best = 0.0
        for p in range(2):
            grid = np.concatenate([[0.0], np.geomspace(1e-7, 50.0, 20000)])
            trial2 = np.repeat(bids[None], grid.size, axis=0)
            trial2[:, i] = 0.0
            trial2[:, i, p] = grid
            best += _reference_payoff(game, i, trial2).max()
        assert exact >= best - 1e-7


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5))
def test_efficiency_at_least_three_quarters(seed: int, n: int) -> None:
    # Johari & Tsitsiklis (2004): with concave utilities the Kelly equilibrium keeps >= 3/4
    # of the optimal welfare; shares never exceed a pool.
    rng = np.random.default_rng(seed)
    game = random_game(rng, n=n, pools=2, curve="log")
    params = SlicingParams(
        mechanism="kelly", epsilon=1e-10, max_rounds=300, kelly_reserve_bid=RESERVE
    )
    traj = run_kelly(game, params)
    cert = certify_kelly(game, traj.final_profile, RESERVE)
    assert cert.nash_gap <= 1e-8
    assert 0.75 - 1e-9 <= cert.price_of_anarchy <= 1.0 + 1e-9
    shares = kelly_shares(game, traj.final_profile, RESERVE)
    assert np.all(shares.sum(axis=0) <= game.capacities * (1 + 1e-12))


def test_lone_bidder_gets_the_pool_for_a_token_bid() -> None:
    game = _symmetric_game(1, 1.0, 1.0, 4.0)
    bid = kelly_best_response(game, 0, np.zeros((1, 1)), 1e-9)
    assert 0.0 < bid[0] < 1e-3
    assert kelly_shares(game, bid[None, :], 1e-9)[0, 0] == pytest.approx(4.0, rel=1e-3)


def test_default_kelly_dynamics_leave_the_limit_cycle_a_constant_step_falls_into() -> None:
    """Window 2 of the default campus-video run with slicing.mechanism=kelly (seed 2024): damped
    simultaneous best response with a constant eta = 0.5 cycles (gap ~0.05-0.4 forever); the
    backtracking step of the defaults (damping_backoff, damping_min) reaches a certified
    equilibrium."""
    import dataclasses
    import json
    import pathlib

    from policies.slicing.certificates import certify_kelly
    from policies.slicing.game import SlicingGame
    from policies.slicing.params import SlicingParams
    from policies.slicing.play import play

    path = pathlib.Path(__file__).parent / "data" / "kelly_limit_cycle_game.json"
    game = SlicingGame.from_dict(json.loads(path.read_text()))
    params = dataclasses.replace(SlicingParams(), mechanism="kelly")
    constant = play(game, dataclasses.replace(params, damping_backoff=1.0))
    assert not constant.converged and constant.rounds[-1].nash_gap > 1e-3
    default = play(game, params)
    assert default.converged
    cert = certify_kelly(game, default.final_profile, params.kelly_reserve_bid)
    assert cert.nash_gap <= 10 * params.epsilon
