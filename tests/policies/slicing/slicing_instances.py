"""Builders of small random slicing instances shared by the slicing tests."""

from __future__ import annotations

import numpy as np

from policies.slicing.game import SlicingGame


def random_game(
    rng: np.random.Generator,
    n: int = 3,
    pools: int = 2,
    variant: str = "congestion-potential",
    curve: str = "log",
    price: float | None = None,
) -> SlicingGame:
    """A random game with every group eligible for every pool."""
    capacities = rng.uniform(2.0, 6.0, pools)
    prices = rng.uniform(0.5, 3.0, pools) if price is None else np.full(pools, price)
    return SlicingGame(
        weights=rng.uniform(0.5, 1.5, n),
        gain_scale=rng.uniform(0.5, 3.0, (n, pools)),
        demand_scale=rng.uniform(0.5, 3.0, (n, pools)),
        caps=np.tile(capacities, (n, 1)),
        capacities=capacities,
        prices=prices,
        variant=variant,
        curve=curve,
        grid_points=257,
    )
