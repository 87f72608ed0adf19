"""Run one scenario to completion and write its outputs atomically.

Outputs of a run folder:

* ``config.toml`` — the resolved scenario (``twinslice run config.toml`` replays it);
* ``model.parquet`` — per-slot model metrics (Mesa DataCollector);
* ``users.parquet`` — per-user snapshots every ``output.user_period_s``;
* ``agents.parquet`` — per-agent metrics of digital agents and twins, when present;
* extra tables written by extensions (e.g. ``games.parquet``);
* ``summary.json`` — headline numbers of the run.

Everything is a pure function of the config, so the same scenario and seed give byte-identical
files. The folder is first written as a hidden sibling and renamed into place, so an
interrupted run never leaves a half-written folder behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.config import ScenarioConfig, to_toml

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def default_out_dir(cfg: ScenarioConfig) -> Path:
    """``runs/out/<scenario>-s<seed>-<digest>`` (git-ignored)."""
    return DEFAULT_OUT / f"{cfg.scenario.name}-s{cfg.seed}-{cfg.digest()}"


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
    """Step ``model`` until it stops, with an optional tqdm bar."""
    from tqdm import tqdm

    with tqdm(total=model.n_slots, disable=not progress, unit="slot", leave=False) as bar:
        while model.running:
            model.step()
            bar.update(1)
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


def run_scenario(
    cfg: ScenarioConfig, out_dir: Path | None = None, progress: bool = False
) -> tuple[Path, dict[str, Any]]:
    """Build, run and write one scenario; returns (output folder, summary).

    The outputs appear at ``out_dir`` only once complete (atomic rename); an existing folder
    there is replaced.
    """
    from model.network_model import NetworkModel

    out_dir = Path(out_dir) if out_dir is not None else default_out_dir(cfg)
    model = NetworkModel(cfg)
    run_model(model, progress=progress)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        summary = write_outputs(model, tmp)
        if out_dir.exists():
            trash = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            out_dir.rename(trash)
            tmp.rename(out_dir)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir, summary
