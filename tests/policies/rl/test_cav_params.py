"""One key per quantity: the CAV pairs of a cluster are ``vehicles.cav_pairs`` only."""

from __future__ import annotations

import tomllib

import pytest

from model.config import ConfigError, config_from_dict, describe_keys, load_scenario, to_toml
from policies.rl.cav_params import CavParams


def test_cav_section_copies_the_vehicles_keys() -> None:
    cfg = load_scenario("highway-cav", ["vehicles.cav_pairs=5", "vehicles.hdvs=7"])
    assert (cfg.cav.n_pairs, cfg.cav.n_hdv) == (5, 7)
    again = config_from_dict(tomllib.loads(to_toml(cfg)))  # written configs load back
    assert again == cfg and again.cav.n_pairs == 5


@pytest.mark.parametrize("key", ["cav.n_pairs=5", "cav.n_hdv=3"])
def test_the_copy_is_refused_as_a_key(key: str) -> None:
    with pytest.raises(ConfigError, match=r"not a key of its own; set vehicles\."):
        load_scenario("highway-cav", [key])


def test_keys_list_shows_one_key_per_quantity() -> None:
    keys = {k for k, *_ in describe_keys()}
    assert "vehicles.cav_pairs" in keys and "cav.n_pairs" not in keys and "cav.n_hdv" not in keys


def test_cap_must_leave_room_above_the_gain_threshold() -> None:
    with pytest.raises(ValueError, match="compute_cap_fraction"):
        CavParams(compute_cap_fraction=0.3)  # 1 / phi = 0.35
    assert CavParams(compute_cap_fraction=0.36).compute_cap_fraction == 0.36
