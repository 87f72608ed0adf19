"""The slicing game against theory: best responses, the exact potential, BR dynamics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slicing_instances import random_game

from policies.slicing.abstraction import gain_curve, gain_slope_sup
from policies.slicing.game import (
    SlicingGame,
    best_response,
    market_clearing_price,
    nash_gap,
    player_regret,
    potential,
    potential_gradient,
    run_dynamics,
    utility,
    utility_gradient,
)
from policies.slicing.params import SlicingParams

VARIANTS = ("congestion-potential", "capacity-coupled")
CURVES = ("log", "saturating", "sigmoid")


def _random_profile(rng: np.random.Generator, game: SlicingGame, fill: float = 0.4) -> np.ndarray:
    """A profile using at most ``fill`` of each pool per player (feasible when n * fill <= 1)."""
    return rng.uniform(0.0, fill, game.caps.shape) * game.capacities


def _reference_utility(
    game: SlicingGame, i: int, own: np.ndarray, others: np.ndarray
) -> np.ndarray:
    """u_i written out from the module docstring, vectorised over own strategies (..., P)."""
    gain = np.sum(
        game.amplitude[i] * gain_curve(game.curve, own / game.demand_scale[i], game.steepness),
        axis=-1,
    )
    if game.variant == "congestion-potential":
        pay = game.prices / game.capacities * (others + own) * own
    else:
        pay = game.prices * own
    return gain - np.sum(pay, axis=-1)


def _grid_best_utility(game: SlicingGame, i: int, profile: np.ndarray, points: int) -> float:
    """Brute force over a 2-D grid of player i's feasible strategies (reference, 2 pools)."""
    others = profile.sum(axis=0) - profile[i]
    upper = game.caps[i].copy()
    if game.variant == "capacity-coupled":
        upper = np.clip(np.minimum(upper, game.capacities - others), 0.0, None)
    a, b = np.meshgrid(*[np.linspace(0.0, u, points) for u in upper], indexing="ij")
    return float(_reference_utility(game, i, np.stack([a, b], axis=-1), others).max())


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("curve", CURVES)
def test_best_response_beats_fine_grid(variant: str, curve: str) -> None:
    rng = np.random.default_rng(1)
    game = random_game(rng, n=3, pools=2, variant=variant, curve=curve, price=0.8)
    profile = _random_profile(rng, game, fill=0.3)
    for i in range(game.n_players):
        trial = profile.copy()
        trial[i] = best_response(game, i, profile)
        exact = utility(game, i, trial)
        others = profile.sum(axis=0) - profile[i]
        assert exact == pytest.approx(_reference_utility(game, i, trial[i], others), abs=1e-12)
        grid = _grid_best_utility(game, i, profile, points=401)
        assert exact >= grid - 1e-9
        # The grid is fine: it cannot be far below the optimum either.
        assert exact - grid < 0.01


def test_best_response_matches_closed_form_single_pool() -> None:
    # Log curve, congestion price: the first-order condition amp/(d + t) = k (R + 2t) is a
    # quadratic 2t^2 + (R + 2d) t + dR - amp/k = 0.
    amp, d, cap, price, others = 3.0, 1.5, 10.0, 2.0, 1.2
    game = SlicingGame([1.0, 1.0], [[amp], [1.0]], [[d], [1.0]], [[cap], [cap]], [cap], [price])
    k = price / cap
    b = others + 2 * d
    t = (-b + np.sqrt(b * b - 8 * (d * others - amp / k))) / 4
    profile = np.array([[0.0], [others]])
    assert best_response(game, 0, profile)[0] == pytest.approx(t, rel=1e-10)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("curve", CURVES)
def test_potential_is_exact(variant: str, curve: str) -> None:
    # Definition of an exact potential: every unilateral change of u_i equals that of Phi.
    rng = np.random.default_rng(2)
    game = random_game(rng, n=4, pools=2, variant=variant, curve=curve)
    for _ in range(20):
        x = _random_profile(rng, game, fill=0.25)
        i = int(rng.integers(game.n_players))
        y = x.copy()
        y[i] = rng.uniform(0.0, 0.25, game.n_pools) * game.capacities
        du = utility(game, i, y) - utility(game, i, x)
        dphi = potential(game, y) - potential(game, x)
        assert du == pytest.approx(dphi, abs=1e-10)


@pytest.mark.parametrize("variant", VARIANTS)
def test_potential_gradient_equals_utility_gradients_and_cross_partials_symmetric(
    variant: str,
) -> None:
    rng = np.random.default_rng(3)
    game = random_game(rng, n=3, pools=2, variant=variant)
    x = _random_profile(rng, game, fill=0.3)
    h = 1e-6
    n, npool = x.shape
    numeric_phi = np.zeros_like(x)
    numeric_u = np.zeros_like(x)
    for i in range(n):
        for p in range(npool):
            e = np.zeros_like(x)
            e[i, p] = h
            numeric_phi[i, p] = (potential(game, x + e) - potential(game, x - e)) / (2 * h)
            numeric_u[i, p] = (utility(game, i, x + e) - utility(game, i, x - e)) / (2 * h)
    analytic = potential_gradient(game, x)
    np.testing.assert_allclose(numeric_phi, analytic, atol=1e-6)
    np.testing.assert_allclose(numeric_u, analytic, atol=1e-6)
    # Cross-partials d/dx_jq (du_i/dx_ip) = d/dx_ip (du_j/dx_jq), by differencing gradients.
    jac = np.zeros((n, npool, n, npool))
    for j in range(n):
        for q in range(npool):
            e = np.zeros_like(x)
            e[j, q] = h
            for i in range(n):
                diff = utility_gradient(game, i, x + e) - utility_gradient(game, i, x - e)
                jac[i, :, j, q] = diff / (2 * h)
    flat = jac.reshape(n * npool, n * npool)
    np.testing.assert_allclose(flat, flat.T, atol=1e-6)
    if variant == "congestion-potential":
        # Off-diagonal blocks are -c_p / C_p on the same pool, 0 across pools.
        expected = -game.prices[0] / game.capacities[0]
        assert jac[0, 0, 1, 0] == pytest.approx(expected, abs=1e-6)
        assert jac[0, 0, 1, 1] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("curve", CURVES)
def test_sequential_best_response_never_lowers_potential(variant: str, curve: str) -> None:
    # Driven one player at a time, as level-two DA agents exchanging best responses would.
    rng = np.random.default_rng(4)
    game = random_game(rng, n=4, pools=2, variant=variant, curve=curve)
    x = np.zeros((game.n_players, game.n_pools))
    phi = potential(game, x)
    for _ in range(6):
        for i in range(game.n_players):
            before = utility(game, i, x)
            x[i] = best_response(game, i, x)
            assert utility(game, i, x) >= before - 1e-12
            new_phi = potential(game, x)
            assert new_phi >= phi - 1e-12
            phi = new_phi


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("dynamics", ("sequential", "damped-simultaneous"))
def test_dynamics_converge_to_epsilon_equilibrium(variant: str, dynamics: str) -> None:
    rng = np.random.default_rng(5)
    game = random_game(rng, n=4, pools=2, variant=variant)
    params = SlicingParams(dynamics=dynamics, epsilon=1e-8, max_rounds=400)
    traj = run_dynamics(game, params)
    assert traj.converged
    assert nash_gap(game, traj.final_profile) <= 1e-8
    assert traj.rounds[-1].nash_gap <= 1e-8
    if dynamics == "sequential":
        phis = np.array([r.potential for r in traj.rounds])
        assert np.all(np.diff(phis) >= -1e-12)


def test_equilibrium_satisfies_kkt_conditions() -> None:
    # Independent of the best-response code: at a Nash equilibrium of the concave congestion
    # game each player's own gradient vanishes inside the box and points outward at a bound.
    rng = np.random.default_rng(6)
    game = random_game(rng, n=5, pools=2)
    x = run_dynamics(game, SlicingParams(epsilon=1e-12, max_rounds=500)).final_profile
    for i in range(game.n_players):
        grad = utility_gradient(game, i, x)
        for p in range(game.n_pools):
            if x[i, p] <= 1e-9:
                assert grad[p] <= 1e-5
            elif x[i, p] >= game.caps[i, p] - 1e-9:
                assert grad[p] >= -1e-5
            else:
                assert abs(grad[p]) <= 1e-5


def test_simultaneous_and_sequential_reach_the_same_equilibrium() -> None:
    # The congestion game with concave curves has a strictly concave potential: one equilibrium.
    rng = np.random.default_rng(7)
    game = random_game(rng, n=4, pools=2)
    seq = run_dynamics(game, SlicingParams(epsilon=1e-12, max_rounds=500)).final_profile
    sim = run_dynamics(
        game, SlicingParams(dynamics="damped-simultaneous", epsilon=1e-12, max_rounds=2000)
    ).final_profile
    np.testing.assert_allclose(seq, sim, atol=1e-4)


def test_regret_upper_bound_dominates_exact_regret() -> None:
    rng = np.random.default_rng(8)
    for variant in VARIANTS:
        for curve in CURVES:
            game = random_game(rng, n=3, pools=2, variant=variant, curve=curve)
            x = _random_profile(rng, game, fill=0.3)
            for i in range(game.n_players):
                found, upper = player_regret(game, i, x)
                assert 0.0 <= found <= upper + 1e-12


def test_market_clearing_price_fills_the_pool() -> None:
    rng = np.random.default_rng(9)
    for curve in ("log", "saturating"):
        game = random_game(rng, n=4, pools=2, curve=curve, price=0.0)
        prices = [market_clearing_price(game, p) for p in range(game.n_pools)]
        cleared = SlicingGame.from_dict({**game.to_dict(), "prices": prices})
        x = run_dynamics(cleared, SlicingParams(epsilon=1e-12, max_rounds=500)).final_profile
        np.testing.assert_allclose(x.sum(axis=0), game.capacities, rtol=1e-5)
        higher = SlicingGame.from_dict({**game.to_dict(), "prices": np.array(prices) * 1.5})
        y = run_dynamics(higher, SlicingParams(epsilon=1e-12, max_rounds=500)).final_profile
        assert np.all(y.sum(axis=0) <= game.capacities * (1 + 1e-9))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), curve=st.sampled_from(CURVES))
def test_iterates_stay_within_capacity(seed: int, n: int, curve: str) -> None:
    # Capacity-coupled: every sequential and damped (eta <= 1/n) iterate is feasible.
    # Congestion with the worst-case price: every sequential iterate from zero is feasible.
    rng = np.random.default_rng(seed)
    coupled = random_game(rng, n=n, pools=2, variant="capacity-coupled", curve=curve, price=0.1)
    for dynamics in ("sequential", "damped-simultaneous"):
        traj = run_dynamics(coupled, SlicingParams(dynamics=dynamics, max_rounds=15))
        for r in traj.rounds:
            assert np.all(r.profile.sum(axis=0) <= coupled.capacities * (1 + 1e-9))
    congestion = random_game(rng, n=n, pools=2, curve=curve)
    amp = congestion.amplitude / congestion.demand_scale
    worst = (amp * gain_slope_sup(curve)).max(axis=0)
    priced = SlicingGame.from_dict({**congestion.to_dict(), "prices": worst})
    for r in run_dynamics(priced, SlicingParams(max_rounds=15)).rounds:
        assert np.all(r.profile.sum(axis=0) <= priced.capacities * (1 + 1e-9))


def test_game_round_trips_through_json() -> None:
    rng = np.random.default_rng(10)
    game = random_game(rng, n=3, pools=2, curve="sigmoid")
    again = SlicingGame.from_dict(json.loads(json.dumps(game.to_dict())))
    x = _random_profile(rng, game)
    assert all(utility(game, i, x) == utility(again, i, x) for i in range(3))
    assert again.curve == "sigmoid" and again.grid_points == game.grid_points


def test_shuffled_order_is_seeded() -> None:
    rng = np.random.default_rng(11)
    game = random_game(rng, n=4, pools=2, variant="capacity-coupled", price=0.2)
    params = SlicingParams(player_order="shuffled", max_rounds=3)
    with pytest.raises(ValueError, match="Generator"):
        run_dynamics(game, params)
    a = run_dynamics(game, params, np.random.default_rng(3)).final_profile
    b = run_dynamics(game, params, np.random.default_rng(3)).final_profile
    np.testing.assert_array_equal(a, b)


def test_invalid_game_is_rejected() -> None:
    with pytest.raises(ValueError, match="demand_scale"):
        SlicingGame([1.0], [[1.0]], [[0.0]], [[1.0]], [1.0], [1.0])
    with pytest.raises(ValueError, match="caps"):
        SlicingGame([1.0], [[1.0]], [[1.0]], [[1.0, 2.0]], [1.0], [1.0])
