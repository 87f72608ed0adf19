"""Scenario configuration: TOML presets + command-line overrides → one immutable ``ScenarioConfig``.

A scenario is a TOML file (presets live in ``runs/scenarios/``) whose tables are the sections
below. Anything not written takes the section's documented default. Overrides use dotted keys
(``users.count=24``) whose values are parsed as TOML literals. Every error — unknown key,
wrong type, value out of range, bad TOML — is a :class:`ConfigError` with a one-line message
naming the key, raised before anything runs.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.configtools import ConfigError, build_section, describe_section, section_to_dict
from model.params import (
    AreaParams,
    BaseStationParams,
    CloudParams,
    EdgeParams,
    LinkParams,
    OutputParams,
    RadioParams,
    ScenarioParams,
    UsersParams,
    VehiclesParams,
)

__all__ = [
    "ConfigError",
    "ScenarioConfig",
    "SECTIONS",
    "SCENARIO_DIR",
    "available_presets",
    "load_scenario",
    "config_from_dict",
    "with_overrides",
    "parse_override",
    "to_toml",
]

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "runs" / "scenarios"

# Section name -> parameter dataclass. Services and policies register theirs in
# ``model.sections`` so this module stays free of policy imports.
SECTIONS: dict[str, type] = {
    "scenario": ScenarioParams,
    "area": AreaParams,
    "users": UsersParams,
    "vehicles": VehiclesParams,
    "base_stations": BaseStationParams,
    "radio": RadioParams,
    "edge": EdgeParams,
    "cloud": CloudParams,
    "links": LinkParams,
    "output": OutputParams,
}


def _register_service_sections() -> None:
    from model.sections import SERVICE_SECTIONS

    for name, cls in SERVICE_SECTIONS.items():
        SECTIONS.setdefault(name, cls)


_register_service_sections()


@dataclasses.dataclass(frozen=True, slots=True)
class ScenarioConfig:
    """An immutable, fully validated scenario: one frozen dataclass per section."""

    sections: tuple[tuple[str, Any], ...]

    def __getattr__(self, name: str) -> Any:
        for key, value in object.__getattribute__(self, "sections"):
            if key == name:
                return value
        raise AttributeError(f"ScenarioConfig has no section {name!r}")

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (section -> key -> value) of every resolved value."""
        return {name: section_to_dict(sec) for name, sec in self.sections}

    @property
    def seed(self) -> int:
        return self.scenario.seed

    @property
    def n_slots(self) -> int:
        return int(round(self.scenario.duration_s / self.scenario.slot_s))

    def digest(self) -> str:
        """Stable short hash of the resolved config (names output folders, checks resumes)."""
        import hashlib

        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]


def config_from_dict(data: Mapping[str, Any]) -> ScenarioConfig:
    """Validate a nested mapping into a :class:`ScenarioConfig`.

    Raises:
        ConfigError: naming the first offending key.
    """
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        allowed = ", ".join(SECTIONS)
        raise ConfigError(f"{unknown[0]}: unknown section; allowed sections: {allowed}")
    built = []
    for name, cls in SECTIONS.items():
        table = data.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{name}: expected a table of keys, got {type(table).__name__}")
        built.append((name, build_section(cls, table, name)))
    return ScenarioConfig(tuple(_fill_copied_keys(dict(built)).items()))


def _fill_copied_keys(built: dict[str, Any]) -> dict[str, Any]:
    """Set every field whose metadata says ``"from": "section.key"`` to that key's value."""
    for name, section in built.items():
        copied = {}
        for f in dataclasses.fields(section):
            if "from" in f.metadata:
                source, key = f.metadata["from"].split(".")
                copied[f.name] = getattr(built[source], key)
        if copied:
            built[name] = dataclasses.replace(section, **copied)
    return built


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``section.key=value`` with the value read as a TOML literal (bare words = strings)."""
    if "=" not in text:
        raise ConfigError(f"{text}: an override must look like section.key=value")
    key, raw = (part.strip() for part in text.split("=", 1))
    if key.count(".") != 1 or not all(key.split(".")):
        raise ConfigError(f"{key}: an override key must be section.key (e.g. users.count)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word such as wo-da is a string
    return key, value


def _merge(data: dict[str, Any], key: str, value: Any) -> None:
    section, name = key.split(".", 1)
    if section not in SECTIONS:
        allowed = ", ".join(SECTIONS)
        raise ConfigError(f"{key}: unknown section {section!r}; allowed sections: {allowed}")
    table = data.setdefault(section, {})
    table[name] = value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8: a Latin-1 or binary file
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save the scenario as UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a scenario file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None


def available_presets() -> list[str]:
    """Names of the scenario presets shipped in ``runs/scenarios``."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


_MAX_SCENARIO_BYTES = 16 * 2**20  # a scenario is a few kB; refuse to read a disk image


def _resolve_source(source: str | Path | None) -> Path:
    if source is None:
        source = "campus-video"
    path = Path(source)
    preset = SCENARIO_DIR / f"{source}.toml"
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
        is_preset = "/" not in str(source) and preset.is_file()
        too_big = is_file and path.stat().st_size > _MAX_SCENARIO_BYTES
    except (OSError, ValueError) as exc:  # a name too long, a loop of links
        raise ConfigError(f"{source}: not a usable scenario path ({exc})") from None
    if path.suffix == ".toml" or exists:
        if is_dir:
            raise ConfigError(f"{source}: is a folder, not a scenario file")
        if not exists:
            raise ConfigError(f"{source}: no such scenario file")
        if not is_file:
            raise ConfigError(f"{source}: not a regular file (a device or a pipe?)")
        if too_big:
            raise ConfigError(f"{source}: too large to be a scenario file (over 16 MiB)")
        return path
    if not is_preset:
        names = ", ".join(available_presets())
        raise ConfigError(f"{source}: unknown scenario; presets: {names} (or a path to a .toml)")
    return preset


def load_scenario(
    source: str | Path | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    seed: int | None = None,
) -> ScenarioConfig:
    """Load a preset name or TOML path, apply overrides and an optional seed.

    Args:
        source: a preset name (``campus-video``), a path to a TOML file, or None (default preset).
        overrides: ``"section.key=value"`` strings or a mapping of dotted keys to values.
        seed: replaces ``scenario.seed`` when given.
    """
    data = _read_toml(_resolve_source(source))
    items = overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides)
    for key, value in items:
        if key.count(".") != 1:
            raise ConfigError(f"{key}: an override key must be section.key (e.g. users.count)")
        _merge(data, key, value)
    if seed is not None:
        _merge(data, "scenario.seed", seed)
    return config_from_dict(data)


def with_overrides(config: ScenarioConfig, overrides: Mapping[str, Any]) -> ScenarioConfig:
    """A new config with dotted-key overrides applied (re-validated)."""
    data = config.to_dict()
    for key, value in overrides.items():
        if key.count(".") != 1:
            raise ConfigError(f"{key}: an override key must be section.key (e.g. users.count)")
        _merge(data, key, value)
    return config_from_dict(data)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(config: ScenarioConfig) -> str:
    """The resolved config as TOML; loading it back gives an equal config."""
    lines: list[str] = []
    for name, values in config.to_dict().items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(val)}" for key, val in values.items())
        lines.append("")
    return "\n".join(lines)


def describe_keys() -> list[tuple[str, str, Any, str]]:
    """Every configurable key: (section.key, type, default, doc) — for ``twinslice keys``."""
    rows = []
    for name, cls in SECTIONS.items():
        rows.extend((f"{name}.{k}", t, d, doc) for k, t, d, doc in describe_section(cls))
    return rows
