"""Tidy sweep results and the sweep report.

``results.parquet`` holds one row per run: one column per grid key, ``seed``, ``run_id``,
``status`` (``ok`` / ``failed`` / ``pending``), ``error`` and the run's summary metrics, nested
dicts flattened to dotted column names (``messages.sent``). It is rebuilt from the sweep folder
itself (manifest, run folders, failures.json), so it is always consistent with what is on disk.

The report plots each chosen metric against one grid key, one line per combination of the other
grid keys, with the mean over seeds and its 95% confidence interval, a Student t-interval:
``mean ± t(0.975, n-1) · s / sqrt(n)`` (undefined, drawn without a bar, for one seed).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runs.sweep_folder import FAILURES, MANIFEST, RESULTS, is_complete, read_json, run_folder

HEADLINE = ("mean_throughput_mbps", "mean_sinr_db", "handovers", "messages.sent")
META = ("seed", "run_id", "status", "error")


class ReportError(Exception):
    """A report that cannot be made (no sweep there, unknown metric or key): one line."""


# -- the results table ---------------------------------------------------------------------------
def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys; lists become JSON text (one scalar per column)."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def _scalar_param(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _tidy_mixed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A column mixing strings and numbers is stored as text (Parquet wants one type)."""
    for name in [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c])]:
        kinds = {type(v) for v in frame[name] if v is not None and v == v}
        if len(kinds) > 1 and not kinds <= {int, float}:
            frame[name] = frame[name].map(lambda v: None if v is None or v != v else str(v))
    return frame


def _run_row(folder: Path, run: Mapping[str, Any], errors: Mapping[str, str]) -> dict[str, Any]:
    row = {k: _scalar_param(v) for k, v in run["params"].items()}
    row.update(seed=run["seed"], run_id=run["run_id"])
    run_dir = run_folder(folder, run["run_id"])
    if is_complete(run_dir, run["digest"]):
        row.update(status="ok", error=None)
        for key, value in flatten(read_json(run_dir / "summary.json")).items():
            if key not in row:
                row[key] = value
            elif row[key] != value:  # a summary field named like a grid key: keep both
                row[f"summary.{key}"] = value
    else:
        failed = run["run_id"] in errors
        row.update(status="failed" if failed else "pending", error=errors.get(run["run_id"]))
    return row


def collect_results(folder: Path) -> pd.DataFrame:
    """The results table of the sweep in ``folder``, built from what is on disk."""
    manifest = read_json(folder / MANIFEST)
    if manifest is None:
        raise ReportError(f"{folder}: not a sweep folder (no {MANIFEST})")
    errors = {r["run_id"]: r["error"] for r in read_json(folder / FAILURES, [])}
    rows = [_run_row(folder, run, errors) for run in manifest["runs"]]
    head = [*manifest["grid"], *META]
    frame = pd.DataFrame(rows)
    rest = sorted(c for c in frame.columns if c not in head)
    return _tidy_mixed_columns(frame[[c for c in head if c in frame.columns] + rest])


def write_results(folder: Path) -> pd.DataFrame:
    """Rebuild ``results.parquet`` atomically; returns the table."""
    frame = collect_results(folder)
    tmp = folder / f".{RESULTS}.tmp-{os.getpid()}"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, folder / RESULTS)
    return frame


def load_results(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    """The results table (rebuilt when missing) and the sweep's grid keys, in order."""
    manifest = read_json(folder / MANIFEST)
    if manifest is None:
        raise ReportError(f"{folder}: not a sweep folder (no {MANIFEST})")
    path = folder / RESULTS
    frame = pd.read_parquet(path) if path.is_file() else collect_results(folder)
    return frame, list(manifest["grid"])


# -- statistics ------------------------------------------------------------------------------------
def t_interval(values: Sequence[float]) -> tuple[int, float, float]:
    """(n, mean, half-width of the 95% Student t-interval); half-width is NaN for n < 2."""
    from scipy import stats

    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    n = int(arr.size)
    if n == 0:
        return 0, math.nan, math.nan
    if n == 1:
        return 1, float(arr[0]), math.nan
    half = stats.t.ppf(0.975, n - 1) * arr.std(ddof=1) / math.sqrt(n)
    return n, float(arr.mean()), float(half)


def point_stats(frame: pd.DataFrame, metric: str, by: str, lines: Sequence[str]) -> pd.DataFrame:
    """Mean and 95% CI of ``metric`` over seeds at every (other keys..., ``by``) point."""
    ok = frame[frame["status"] == "ok"] if "status" in frame else frame
    keys = [*lines, by]
    rows = []
    for point, group in ok.groupby(keys, sort=True, dropna=False):
        n, mean, ci = t_interval(pd.to_numeric(group[metric], errors="coerce").tolist())
        rows.append(
            {
                **dict(zip(keys, point, strict=True)),
                "metric": metric,
                "n": n,
                "mean": mean,
                "ci95": ci,
            }
        )
    return pd.DataFrame(rows, columns=[*keys, "metric", "n", "mean", "ci95"])


# -- plots -----------------------------------------------------------------------------------------
def _file_name(metric: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", metric) + ".png"


def plot_metric(
    stats: pd.DataFrame, metric: str, by: str, lines: Sequence[str], path: Path
) -> Path:
    """One PNG: ``metric`` against ``by``, a line with 95% CI bars per other-keys combination."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state (Agg to files)

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    numeric = pd.api.types.is_numeric_dtype(stats[by])
    categories = list(dict.fromkeys(stats[by].astype(str)))
    groups = stats.groupby(list(lines), sort=True) if lines else [((), stats)]
    for label, group in groups:
        x = group[by] if numeric else [categories.index(str(v)) for v in group[by]]
        name = ", ".join(f"{k}={v}" for k, v in zip(lines, label, strict=True)) or None
        ax.errorbar(
            x, group["mean"], yerr=group["ci95"].fillna(0.0), marker="o", capsize=3, label=name
        )
    if not numeric:
        ax.set_xticks(range(len(categories)), categories)
    ax.set_xlabel(by)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric}: mean and 95% CI over seeds", fontsize=10)
    if lines:
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    return path


# -- the report ------------------------------------------------------------------------------------
def _metric_columns(frame: pd.DataFrame, grid_keys: Sequence[str]) -> list[str]:
    skip = set(grid_keys) | set(META)
    return [
        c
        for c in frame.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]


def _choose(
    frame: pd.DataFrame, grid: list[str], metrics: Sequence[str], by: str | None
) -> tuple[list[str], str]:
    if not grid:
        raise ReportError("this sweep has no grid key to plot against (seeds only)")
    by = by or grid[0]
    if by not in grid:
        raise ReportError(f"--by {by}: not a grid key of this sweep; grid keys: {', '.join(grid)}")
    available = _metric_columns(frame, grid)
    chosen = list(metrics) or [m for m in HEADLINE if m in available] or available
    for metric in chosen:
        if metric not in available:
            shown = ", ".join(available[:12]) + (" ..." if len(available) > 12 else "")
            raise ReportError(f"--metric {metric}: not a numeric result column; try: {shown}")
    return chosen, by


def report(
    folder: Path, metrics: Sequence[str] = (), by: str | None = None, out: Path | None = None
) -> tuple[pd.DataFrame, list[Path]]:
    """Plot and tabulate a sweep: a PNG per metric and one table of (mean, ci95) per point.

    Args:
        folder: the sweep folder.
        metrics: result columns to plot (default: the headline metrics present).
        by: grid key on the x axis (default: the first grid key).
        out: where PNGs and ``stats.csv`` go (default ``<folder>/report``).

    Returns:
        The statistics table (one row per metric and point) and the PNG paths.

    Raises:
        ReportError: not a sweep folder, unknown metric or key, or no completed run.
    """
    frame, grid = load_results(folder)
    chosen, by = _choose(frame, grid, metrics, by)
    if not (frame["status"] == "ok").any():
        raise ReportError(f"{folder}: no completed run to report on")
    lines = [k for k in grid if k != by]
    out = out or folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    tables, pngs = [], []
    for metric in chosen:
        stats = point_stats(frame, metric, by, lines)
        pngs.append(plot_metric(stats, metric, by, lines, out / _file_name(metric)))
        tables.append(stats)
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(out / "stats.csv", index=False)
    return table, pngs


def format_table(table: pd.DataFrame) -> str:
    """The statistics table as aligned text."""
    return table.to_string(index=False, float_format=lambda v: f"{v:.6g}")


# -- the human summary of one run ------------------------------------------------------------------
def _num(value: Any, spec: str = ".3g") -> str:
    return "n/a" if value is None else format(value, spec)


def _bytes(n: Any) -> str:
    if n is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _video_lines(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    qoe, ela = summary.get("qoe"), summary.get("ela_ratio")
    if qoe:
        rows.append(
            (
                "median QoE",
                f"{_num(qoe.get('p50'))} MOS (p10 {_num(qoe.get('p10'))}, "
                f"p90 {_num(qoe.get('p90'))})",
            )
        )
    if ela:
        rows.append(
            (
                "ELA achievable ratio",
                f"median {_num(ela.get('p50'))}, mean {_num(ela.get('mean'))}",
            )
        )
    sl = summary.get("slicing") or {}
    if sl.get("windows_sliced"):
        gap = (
            f"mean {_num(sl.get('mean_nash_gap'))}, max {_num(sl.get('max_nash_gap'))}, "
            if "mean_nash_gap" in sl
            else "not certified, "
        )
        conv = sl.get("converged_share")
        rows.append(
            (
                "Nash gap of windows",
                f"{gap}{sl['windows_sliced']} window(s) ({sl.get('mechanism', '?')})"
                + (f", {conv:.0%} converged" if conv is not None else ""),
            )
        )
    return rows


def _cav_lines(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    events = summary.get("twin_events") or {}
    return [
        ("twin events", f"{sum(events.values())} ({summary.get('migrations', 0)} migrations)"),
        (
            "meta learning",
            f"{summary.get('meta_rounds', 0)} rounds, mean reward "
            f"{_num(summary.get('mean_meta_reward'))} (first quarter "
            f"{_num(summary.get('meta_reward_first_quarter'))}, last quarter "
            f"{_num(summary.get('meta_reward_last_quarter'))})",
        ),
        ("model cache hit ratio", _num(summary.get("cache_hit_ratio"), ".2f")),
    ]


def run_summary_lines(summary: Mapping[str, Any], folder: Path, wall_s: float) -> list[str]:
    """A few lines for a person: what ran, the figures the service is about, where it went.

    Read from the run's ``summary.json`` document (``runs.simulate.summarise``): QoE, ELA
    achievable ratio and Nash gap for the video service; twin, meta-learning and cache
    figures for CAV; throughput and handovers always; then messages, wall time and folder.
    """
    head = (
        f"{summary.get('scenario')}: {summary.get('users')} users, "
        f"{_num(summary.get('time_s'), ',.0f')} s simulated ({summary.get('slots')} slots), "
        f"seed {summary.get('seed')}"
    )
    if summary.get("scheme"):
        head += f", scheme {summary['scheme']}"
    rows: list[tuple[str, str]] = []
    if "qoe" in summary or "ela_ratio" in summary or "slicing" in summary:
        rows += _video_lines(summary)
    if "twin_events" in summary:
        rows += _cav_lines(summary)
    rows.append(
        (
            "radio",
            f"mean throughput {_num(summary.get('mean_throughput_mbps'))} Mbit/s, "
            f"{summary.get('handovers', 0)} handovers",
        )
    )
    msgs = summary.get("messages") or {}
    rows.append(
        (
            "messages",
            f"{msgs.get('sent', 0):,} sent, {msgs.get('delivered', 0):,} delivered, "
            f"{_bytes(msgs.get('bytes'))}",
        )
    )
    rows.append(("wall time", _duration(wall_s)))
    rows.append(("output folder", str(folder)))
    width = max(len(name) for name, _ in rows)
    return [head, *(f"  {name:<{width}}  {text}" for name, text in rows)]
