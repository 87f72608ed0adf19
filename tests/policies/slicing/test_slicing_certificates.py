"""Equilibrium certificates against brute-force regrets and welfare theory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slicing_instances import random_game

from policies.slicing.abstraction import gain_curve
from policies.slicing.certificates import certify_game
from policies.slicing.game import SlicingGame, run_dynamics, utility
from policies.slicing.params import SlicingParams


def _brute_force_regret(game: SlicingGame, i: int, profile: np.ndarray, points: int) -> float:
    """max over a 2-D grid of i's feasible deviations of u_i(y, x_-i) - u_i(x)."""
    others = profile.sum(axis=0) - profile[i]
    upper = game.caps[i].copy()
    if game.variant == "capacity-coupled":
        upper = np.clip(np.minimum(upper, game.capacities - others), 0.0, None)
    now = utility(game, i, profile)
    best = -np.inf
    trial = profile.copy()
    for a in np.linspace(0.0, upper[0], points):
        trial[i, 0] = a
        # Utilities are separable over pools, but brute-force the full function anyway
        # along the second pool at each point of the first.
        values = []
        for b in np.linspace(0.0, upper[1], points):
            trial[i, 1] = b
            values.append(utility(game, i, trial))
        best = max(best, max(values))
    return max(best - now, 0.0)


@pytest.mark.parametrize("variant", ("congestion-potential", "capacity-coupled"))
@pytest.mark.parametrize("curve", ("log", "sigmoid"))
def test_regrets_bracket_brute_force(variant: str, curve: str) -> None:
    rng = np.random.default_rng(30)
    game = random_game(rng, n=3, pools=2, variant=variant, curve=curve, price=0.7)
    profile = rng.uniform(0, 0.3, (3, 2)) * game.capacities
    cert = certify_game(game, profile)
    for i in range(3):
        brute = _brute_force_regret(game, i, profile, 61)
        assert cert.regrets[i] >= brute - 1e-9
        assert cert.regrets[i] <= cert.regret_upper[i] + 1e-12
        # The brute-force grid is coarse: the true regret is at most a grid cell's worth more.
        assert cert.regrets[i] - brute < 0.05
    assert cert.nash_gap == pytest.approx(cert.regrets.max())
    assert cert.nash_conv == pytest.approx(cert.regrets.sum())
    assert cert.regret_method == ("exact-best-response" if curve == "log" else "grid-lipschitz")


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    variant=st.sampled_from(["congestion-potential", "capacity-coupled"]),
    curve=st.sampled_from(["log", "saturating"]),
)
def test_equilibrium_certificate_poa_at_most_one(
    seed: int, n: int, variant: str, curve: str
) -> None:
    rng = np.random.default_rng(seed)
    game = random_game(rng, n=n, pools=2, variant=variant, curve=curve)
    traj = run_dynamics(game, SlicingParams(epsilon=1e-9, max_rounds=300))
    cert = certify_game(game, traj.final_profile)
    assert traj.converged and cert.nash_gap <= 1e-9
    assert 0.0 <= cert.price_of_anarchy <= 1.0 + 1e-9
    assert cert.welfare <= cert.optimum_welfare + 1e-9
    assert cert.optimum_method == "water-filling"
    assert np.all(cert.regret_upper >= cert.regrets - 1e-12)


def test_certificate_flags_capacity_violation_and_serialises() -> None:
    rng = np.random.default_rng(31)
    game = random_game(rng, n=2, pools=2)
    profile = np.tile(game.capacities, (2, 1))  # each player reserves a whole pool
    cert = certify_game(game, profile)
    assert cert.capacity_violation == pytest.approx(1.0)
    record = json.loads(json.dumps(cert.to_dict()))
    assert record["mechanism"] == "game:congestion-potential"
    assert len(record["regrets"]) == 2
    # Welfare is of the granted (scaled) slices, so it cannot beat the optimum.
    assert cert.welfare <= cert.optimum_welfare + 1e-12


def _sigmoid_pool_utility(
    game: SlicingGame, i: int, p: int, others: float, x: np.ndarray
) -> np.ndarray:
    """Player i's congestion-game payoff from pool p, written out (reference)."""
    k = game.prices[p] / game.capacities[p]
    gain = gain_curve("sigmoid", x / game.demand_scale[i, p], game.steepness)
    return game.amplitude[i, p] * gain - k * (others + x) * x


def test_sigmoid_upper_bound_covers_dense_regret() -> None:
    # Non-concave curve: the certified upper bound must lie above the regret found by a very
    # dense search (the utility is separable over pools, so search pool by pool).
    rng = np.random.default_rng(32)
    for _ in range(5):
        game = random_game(rng, n=3, pools=2, curve="sigmoid", price=0.5)
        profile = rng.uniform(0, 0.3, (3, 2)) * game.capacities
        cert = certify_game(game, profile)
        load = profile.sum(axis=0)
        for i in range(3):
            dense = 0.0
            for p in range(2):
                others = float(load[p] - profile[i, p])
                t = np.linspace(0.0, game.caps[i, p], 200001)
                best = _sigmoid_pool_utility(game, i, p, others, t).max()
                dense += best - _sigmoid_pool_utility(game, i, p, others, profile[i, p])
            assert cert.regrets[i] >= dense - 1e-7
            assert cert.regret_upper[i] >= dense - 1e-12
