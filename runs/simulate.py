"""Run one scenario to completion and write its outputs atomically.

Outputs of a run folder:

* ``config.toml`` — the resolved scenario (``twinslice run config.toml`` replays it);
* ``model.parquet`` — per-slot model metrics (Mesa DataCollector);
* ``users.parquet`` — per-user snapshots every ``output.user_period_s``;
* ``agents.parquet`` — per-agent metrics of digital agents and twins, when present;
* extra tables written by extensions (e.g. ``games.parquet``);
* ``summary.json`` — headline numbers of the run.

* ``.twinslice-output`` — the marker that makes it a twinslice output folder (``runs.outdir``).

Everything is a pure function of the config, so the same scenario and seed give byte-identical
files. The folder is first written as a hidden sibling and renamed into place
(:mod:`runs.outdir`), so an interrupted run never leaves a half-written folder behind, and an
existing folder is replaced only if twinslice wrote it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.config import ScenarioConfig, to_toml
from runs.outdir import DEFAULT_OUT, default_run_dir, stage

__all__ = ["DEFAULT_OUT", "default_out_dir", "run_model", "run_scenario", "simulate_into"]


def default_out_dir(cfg: ScenarioConfig) -> Path:
    """``runs/out/<scenario>-s<seed>-<digest>`` (git-ignored)."""
    return default_run_dir(cfg)


def _clean(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if not np.isfinite(v) else round(v, 10)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def summarise(model: Any) -> dict[str, Any]:
    """Headline numbers of a finished model (no wall-clock time: summaries must be reproducible)."""
    frame = model.datacollector.get_model_vars_dataframe()
    bus = model.bus
    summary: dict[str, Any] = {
        "scenario": model.cfg.scenario.name,
        "seed": model.cfg.seed,
        "config_digest": model.cfg.digest(),
        "slots": int(model.steps),
        "time_s": float(model.now_s),
        "users": int(model.world.n),
        "cells": int(model.world.n_cells),
        "handovers": int(model.world.handovers_total),
        "mean_sinr_db": float(frame["mean_sinr_db"].iloc[1:].mean()) if model.world.n else None,
        "mean_throughput_mbps": float(frame["mean_throughput_mbps"].iloc[1:].mean()),
        "messages": bus.totals(),
        "messages_sent_by_kind": dict(sorted(bus.sent.items())),
        "bytes_by_kind": dict(sorted(bus.bytes_sent.items())),
        "undeliverable_by_kind": dict(sorted(bus.undeliverable.items())),
    }
    if model.extensions:
        summary.update(model.extensions.summary())
    return _clean(summary)


def run_model(
    model: Any, progress: bool = False, on_step: Callable[[int], None] | None = None
) -> None:
    """Step ``model`` until it stops, with an optional tqdm bar.

    The bar counts simulated seconds (``123/1800 s simulated``) and shows the elapsed wall time,
    the ETA and the speed in simulated seconds per wall second.
    """
    from tqdm import tqdm

    duration = float(model.cfg.scenario.duration_s)
    bar_format = (
        "{desc}{percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s simulated "
        "[{elapsed}<{remaining} ETA, {rate_fmt}]"
    )
    with tqdm(
        total=duration,
        disable=not progress,
        unit="sim-s",
        leave=False,
        bar_format=bar_format,
        desc=f"{model.cfg.scenario.name}: ",
        dynamic_ncols=True,
        smoothing=0.0,  # ETA from the average speed so far: slot costs jump (DA fits, windows)
    ) as bar:
        while model.running:
            model.step()
            bar.update(min(float(model.now_s), duration) - bar.n)
            if on_step:
                on_step(model.steps)


def write_outputs(model: Any, folder: Path) -> dict[str, Any]:
    """Write every output table of ``model`` into ``folder`` (which must exist)."""
    (folder / "config.toml").write_text(to_toml(model.cfg))
    frame = model.datacollector.get_model_vars_dataframe().reset_index(names="step")
    frame.to_parquet(folder / "model.parquet", index=False)
    users = model.users_frame()
    if not users.empty:
        users.to_parquet(folder / "users.parquet", index=False)
    if model.extensions:
        for name, table in model.extensions.tables().items():
            if isinstance(table, pd.DataFrame) and not table.empty:
                table.to_parquet(folder / f"{name}.parquet", index=False)
        model.extensions.write_files(folder)
    summary = summarise(model)
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary


def simulate_into(cfg: ScenarioConfig, folder: Path, progress: bool = False) -> dict[str, Any]:
    """Build and run ``cfg``, write its outputs into the existing ``folder``; the summary."""
    from model.network_model import NetworkModel

    model = NetworkModel(cfg)
    run_model(model, progress=progress)
    return write_outputs(model, Path(folder))


def run_scenario(
    cfg: ScenarioConfig, out_dir: Path | None = None, progress: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Build, run and write one scenario; returns (output folder, summary).

    The folder is checked and its temporary created before the model is built; the outputs
    appear at ``out_dir`` only once complete (atomic rename). An existing ``out_dir`` is
    replaced only when it is empty or a twinslice output folder (a sweep's stale run); anything
    else raises :class:`runs.outdir.OutDirError` before anything runs.
    """
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(cfg)
    with stage(out_dir, "run", replace=True) as staging:
        summary = simulate_into(cfg, staging.path, progress=progress)
        return staging.commit(), summary
