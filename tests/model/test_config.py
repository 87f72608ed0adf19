"""Scenario config: presets load, overrides apply, bad input is rejected naming the key."""

from __future__ import annotations

import pytest

from model.config import (
    ConfigError,
    available_presets,
    config_from_dict,
    load_scenario,
    parse_override,
    to_toml,
)


def test_presets_load_and_roundtrip(tmp_path):
    assert {"campus-video", "highway-cav"} <= set(available_presets())
    for name in available_presets():
        cfg = load_scenario(name)
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(cfg))
        assert load_scenario(path) == cfg


def test_campus_defaults_follow_seed_000():
    cfg = load_scenario("campus-video")
    assert cfg.base_stations.count == 2
    assert 0.703 <= cfg.base_stations.carrier_ghz <= 0.803  # band n28
    assert cfg.edge.cpu_gcycles == 10.0
    assert cfg.users.count == 20
    assert (cfg.users.speed_min_kmh, cfg.users.speed_max_kmh) == (2.0, 40.0)


def test_overrides_apply_and_parse_toml_literals():
    cfg = load_scenario("campus-video", ["users.count=24", "scenario.scheme=wo-da"], seed=7)
    assert cfg.users.count == 24 and cfg.scenario.scheme == "wo-da" and cfg.seed == 7
    assert parse_override("radio.shadowing=false") == ("radio.shadowing", False)
    assert parse_override("users.speed_max_kmh=30") == ("users.speed_max_kmh", 30)


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("users.cont=3", "users.cont: unknown key"),
        ("userz.count=3", "userz.count: unknown section"),
        ("users.count=abc", "users.count: expected int"),
        ("users.count=-1", "users.count: -1 is out of range"),
        ("users.count=2.5", "users.count: expected int"),
        ("scenario.scheme=foo", "scenario.scheme: 'foo' is not allowed"),
        ("radio.shadowing=3", "radio.shadowing: expected bool"),
        ("users.speed_min_kmh=50", "users.speed_min_kmh: must not exceed"),
        ("count=3", "section.key"),
    ],
)
def test_bad_overrides_name_the_key(override, fragment):
    with pytest.raises(ConfigError) as err:
        load_scenario("campus-video", [override])
    message = str(err.value)
    assert fragment in message and "\n" not in message


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[users\ncount = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match="unknown scenario"):
        load_scenario("no-such-preset")
    with pytest.raises(ConfigError, match="users: expected a table"):
        config_from_dict({"users": 3})


def test_config_is_immutable():
    cfg = load_scenario("campus-video")
    with pytest.raises(AttributeError):
        cfg.users.count = 5  # type: ignore[misc]
