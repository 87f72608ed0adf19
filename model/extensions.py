"""Services, digital agents and twins plugged into the world, chosen by the scenario.

An extension is built once per model and called at fixed points of the step (DESIGN.md):

* ``after_physics()`` — vectorised service physics right after the world's (video playback,
  CAV perception slots);
* ``report_extras(due)`` — extra per-user fields of the QoS reports of users ``due``;
* ``model_reporters()`` / ``user_columns()`` — extra per-slot metrics and snapshot columns;
* ``summary()`` / ``tables()`` / ``write_files(folder)`` — run outputs.

``build_extensions(model)`` returns None for a bare world, else a :class:`Extensions` that fans
each hook out to the extensions the scenario asks for (the video service with the level-one and
level-two digital agents of seed 000; vehicle clusters with edge and cloud twins of seed 003).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd


class Extension(Protocol):
    def after_physics(self) -> None: ...
    def report_extras(self, due: np.ndarray) -> dict[str, np.ndarray]: ...
    def model_reporters(self) -> dict[str, Any]: ...
    def user_columns(self) -> dict[str, np.ndarray]: ...
    def summary(self) -> dict[str, Any]: ...
    def tables(self) -> dict[str, pd.DataFrame]: ...
    def write_files(self, folder: Path) -> None: ...


class Extensions:
    """The extensions of one model, called in the order they were built."""

    def __init__(self, parts: list[Extension]) -> None:
        self.parts = parts

    def get(self, cls: type) -> Any:
        """The extension of type ``cls`` (None when the scenario has none)."""
        return next((p for p in self.parts if isinstance(p, cls)), None)

    def after_physics(self) -> None:
        for part in self.parts:
            part.after_physics()

    def report_extras(self, due: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part in self.parts:
            out.update(part.report_extras(due))
        return out

    def model_reporters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self.parts:
            out.update(part.model_reporters())
        return out

    def user_columns(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part in self.parts:
            out.update(part.user_columns())
        return out

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in self.parts:
            out.update(part.summary())
        return out

    def tables(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        for part in self.parts:
            out.update(part.tables())
        return out

    def write_files(self, folder: Path) -> None:
        for part in self.parts:
            part.write_files(folder)


def build_extensions(model: Any) -> Extensions | None:
    """The extensions the scenario asks for (None for the bare world)."""
    cfg = model.cfg
    parts: list[Extension] = []
    if cfg.scenario.service == "video" and model.world.n > 0:
        from model.video_ext import VideoExtension

        parts.append(VideoExtension(model))
    if cfg.scenario.service == "cav" and cfg.vehicles.clusters > 0:
        from model.vehicular_ext import VehicularExtension

        parts.append(VehicularExtension(model))
    return Extensions(parts) if parts else None
