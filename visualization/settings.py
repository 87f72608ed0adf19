"""What the page starts from: scenario, overrides and seed, passed by ``twinslice viz``.

``twinslice viz`` validates its arguments, then hands them to the Solara process through the
environment (the app module is imported by ``solara run``, which takes no app arguments):

* ``TWINSLICE_VIZ_SCENARIO``: a preset name or an absolute path to a scenario TOML;
* ``TWINSLICE_VIZ_OVERRIDES``: a JSON object of dotted keys to values (``{"users.count": 24}``);
* ``TWINSLICE_VIZ_SEED``: an integer seed replacing ``scenario.seed`` (absent: the scenario's).

:func:`model_params` turns them into SolaraViz's ``model_params``: the controls of the page
(scenario preset, scheme, user count, speed range, seed), whose keys are ``NetworkModel``
keywords, plus the remaining overrides as fixed ``section__key`` keywords.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from model.config import ConfigError, ScenarioConfig, available_presets, load_scenario
from model.params import SCHEMES

ENV_SCENARIO = "TWINSLICE_VIZ_SCENARIO"
ENV_OVERRIDES = "TWINSLICE_VIZ_OVERRIDES"
ENV_SEED = "TWINSLICE_VIZ_SEED"

#: Dotted keys the page has a control for (their starting value comes from the scenario).
CONTROLLED = {
    "users.count": "n_users",
    "scenario.scheme": "scheme",
    "users.speed_min_kmh": "speed_min_kmh",
    "users.speed_max_kmh": "speed_max_kmh",
    "scenario.seed": "rng",
}


@dataclass(frozen=True)
class VizStart:
    """The scenario the page opens with."""

    scenario: str
    overrides: Mapping[str, Any]
    seed: int | None

    def config(self) -> ScenarioConfig:
        """The validated scenario (raises :class:`ConfigError` naming the bad key)."""
        return load_scenario(self.scenario, dict(self.overrides), self.seed)

    def to_env(self) -> dict[str, str]:
        """Environment variables carrying this start to the Solara process."""
        env = {ENV_SCENARIO: self.scenario, ENV_OVERRIDES: json.dumps(dict(self.overrides))}
        if self.seed is not None:
            env[ENV_SEED] = str(self.seed)
        return env


def start_from_env(environ: Mapping[str, str] = os.environ) -> VizStart:
    """Read the start from the environment (defaults: campus-video, no overrides)."""
    raw = environ.get(ENV_OVERRIDES, "") or "{}"
    try:
        overrides = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{ENV_OVERRIDES}: not valid JSON ({exc.msg})") from None
    if not isinstance(overrides, dict):
        raise ConfigError(f"{ENV_OVERRIDES}: must be a JSON object of section.key -> value")
    seed = environ.get(ENV_SEED, "").strip()
    try:
        seed_value = int(seed) if seed else None
    except ValueError:
        raise ConfigError(f"{ENV_SEED}: must be an integer, got {seed!r}") from None
    return VizStart(environ.get(ENV_SCENARIO, "") or "campus-video", overrides, seed_value)


def _slider(label: str, value: float, lo: float, hi: float, step: float, kind: str) -> dict:
    return {
        "type": kind,
        "label": label,
        "value": value,
        "min": lo,
        "max": max(hi, value),
        "step": step,
    }


def model_params(start: VizStart) -> dict[str, Any]:
    """SolaraViz ``model_params`` for ``start``: the page's controls and fixed overrides."""
    cfg = start.config()
    presets = available_presets()
    if start.scenario not in presets:
        presets.append(start.scenario)
    users, speed_max = cfg.users.count, 150.0
    params: dict[str, Any] = {
        "scenario": {
            "type": "Select",
            "label": "Scenario preset",
            "value": start.scenario,
            "values": presets,
        },
        "scheme": {
            "type": "Select",
            "label": "Scheme",
            "value": cfg.scenario.scheme,
            "values": list(SCHEMES),
        },
        "n_users": _slider("Users", users, 0, max(100, 2 * users), 1, "SliderInt"),
        "speed_min_kmh": _slider(
            "Lowest speed (km/h)", cfg.users.speed_min_kmh, 0.0, speed_max, 1.0, "SliderFloat"
        ),
        "speed_max_kmh": _slider(
            "Highest speed (km/h)", cfg.users.speed_max_kmh, 0.0, speed_max, 1.0, "SliderFloat"
        ),
        "rng": {"type": "InputText", "label": "Seed", "value": str(cfg.seed)},
    }
    for key, value in start.overrides.items():
        if key not in CONTROLLED:
            params[key.replace(".", "__", 1)] = value
    return params


def initial_kwargs(params: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the first model: each control's value, each fixed value."""
    return {
        k: (v["value"] if isinstance(v, dict) and "type" in v else v) for k, v in params.items()
    }
