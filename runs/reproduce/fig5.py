"""Reproduce Fig. 5 of seed 000: ELA achievable ratio CDF (a) and real-time QoE box plot (b).

Seed 000, Sec. IV: video streaming on the campus with k in {16, 18, 20, 22, 24} users; the
proposed two-level DA framework against w/o DA, PDRL-L1 and HSLA-L2. Every (k, seed) runs all
schemes on the same scenario seed, so users, ELAs, paths, channels and video requests are the
same across schemes (common random numbers: the model draws them from named streams of one
root seed, and the schemes differ only in policy choices, ``model.schemes``).

Measured quantities, pooled over users, slice windows, k and seeds:

* ELA achievable ratio: per (user, slice window), the share of the user's real-time QoE
  samples at or above its ELA (``ela`` table of each run);
* real-time QoE: the user's expected MOS at each report (``qoe`` table).

Window 0 (3 min) is the DAs' learning phase: every DA starts from the generic QoE model and
fits its user's own model after ~2 min of feedback, so all schemes enter window 0 with the same
model. It is excluded from the pooled statistics (``warmup_windows``) and reported separately.
Nothing here is tuned toward the paper: ``summary.json`` states which of the seed's findings
hold in this run.

Budget (measured on this project's 2-core machine, see docs/fig5.md): a 20-min campus-video
run costs 3-9 CPU-s for w/o DA and 25-120 s for the three schemes that train BDQNs, so the
default — 5 k x 4 schemes x 2 seeds x 20 min of network time, 40 runs — took 23 CPU-min, 13 min
wall on 2 workers (19.5 min when other jobs shared the cores). ``quick`` mode is a smoke test
(2 k x 4 schemes x 1 seed x 240 s, BDQN trained for 2 episodes): about 25-45 s.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm.auto import tqdm

SCHEMES = ("proposed", "wo-da", "pdrl-l1", "hsla-l2")
LABELS = {"proposed": "Proposed", "wo-da": "w/o DA", "pdrl-l1": "PDRL-L1", "hsla-l2": "HSLA-L2"}
USERS = (16, 18, 20, 22, 24)
PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True, slots=True)
class Fig5Settings:
    """Size of the experiment.

    Attributes:
        users: the k values (seed Sec. IV).
        schemes: schemes compared.
        seeds: scenario seeds per k (base_seed, base_seed + 1, ...), shared by all schemes.
        duration_s: network time per run.
        base_seed: first scenario seed.
        warmup_windows: leading slice windows left out of the pooled statistics.
        workers: parallel worker processes.
        overrides: scenario overrides applied to every run (quick mode trains less).
    """

    users: tuple[int, ...] = USERS
    schemes: tuple[str, ...] = SCHEMES
    seeds: int = 2
    duration_s: float = 1200.0
    base_seed: int = 2024
    warmup_windows: int = 1
    workers: int = 2
    overrides: tuple[tuple[str, Any], ...] = ()


# The smoke test: two k, every scheme, one seed, 4 min, the BDQN trained for 2 episodes only.
QUICK = Fig5Settings(
    users=(16, 20), seeds=1, duration_s=240.0, overrides=(("das.train_episodes", 2),)
)


def settings_for(quick: bool, seeds: int | None = None) -> Fig5Settings:
    """The default experiment, or the quick smoke test; ``seeds`` overrides either."""
    base = QUICK if quick else Fig5Settings()
    if seeds is None:
        return base
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    return Fig5Settings(**{**asdict(base), "seeds": seeds})


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    """Run one (scheme, k, seed) campus-video scenario into ``case["out"]`` (a worker task).

    Returns:
        The case, its run's summary, its wall time, and its ``ela`` and ``qoe`` tables.
    """
    import torch

    from model.config import load_scenario
    from runs.simulate import run_scenario

    torch.set_num_threads(1)  # two workers share two cores
    cfg = load_scenario(
        "campus-video",
        {
            "scenario.scheme": case["scheme"],
            "users.count": case["k"],
            "scenario.seed": case["seed"],
            "scenario.duration_s": case["duration_s"],
            **dict(case["overrides"]),
        },
    )
    t0 = time.perf_counter()
    folder, summary = run_scenario(cfg, Path(case["out"]))
    wall = time.perf_counter() - t0
    tables = {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in ("ela", "qoe")
        if (folder / f"{name}.parquet").exists()
    }
    return {"case": case, "summary": summary, "wall_s": wall, **tables}


def _cases(cfg: Fig5Settings, out_dir: Path) -> list[dict[str, Any]]:
    cases = []
    for seed in range(cfg.base_seed, cfg.base_seed + cfg.seeds):
        for k in sorted(cfg.users, reverse=True):  # biggest first: better packing on 2 workers
            for scheme in cfg.schemes:
                cases.append(
                    {
                        "scheme": scheme,
                        "k": k,
                        "seed": seed,
                        "duration_s": cfg.duration_s,
                        "overrides": cfg.overrides,
                        "out": str(out_dir / "runs" / f"{scheme}-k{k}-s{seed}"),
                    }
                )
    return cases


def _run_all(cases: list[dict[str, Any]], workers: int, progress: bool) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    results = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(run_case, c) for c in cases]
        for fut in tqdm(
            as_completed(futures), total=len(futures), desc="fig5", disable=not progress
        ):
            results.append(fut.result())
    order = {(c["scheme"], c["k"], c["seed"]): i for i, c in enumerate(cases)}
    return sorted(
        results, key=lambda r: order[(r["case"]["scheme"], r["case"]["k"], r["case"]["seed"])]
    )


def _pooled(results: list[dict[str, Any]], name: str) -> pd.DataFrame:
    frames = []
    for r in results:
        table = r.get(name)
        if table is None or table.empty:
            continue
        c = r["case"]
        frames.append(table.assign(scheme=c["scheme"], k=c["k"], seed=c["seed"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _stats(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {f"p{p}": float("nan") for p in PERCENTILES} | {"mean": float("nan"), "n": 0}
    out = {f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES}
    out.update(
        median=out["p50"],
        iqr=out["p75"] - out["p25"],
        mean=float(values.mean()),
        n=int(values.size),
    )
    return out


def _values(frame: pd.DataFrame, scheme: str, column: str) -> np.ndarray:
    if frame.empty:
        return np.array([])
    return frame.loc[frame["scheme"] == scheme, column].to_numpy(float)


def fig5_table(ela: pd.DataFrame, qoe: pd.DataFrame, schemes: tuple[str, ...]) -> pd.DataFrame:
    """Per scheme: percentiles, median, IQR and mean of ELA ratio and QoE (pooled samples)."""
    rows = []
    for s in schemes:
        e = _values(ela, s, "ela_ratio")
        q = _values(qoe, s, "qoe")
        row: dict[str, Any] = {"scheme": s}
        row.update({f"ela_{k}": v for k, v in _stats(e).items()})
        row.update({f"qoe_{k}": v for k, v in _stats(q).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def _figure(size: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def plot_ela_cdf(ela: pd.DataFrame, schemes: tuple[str, ...], path: Path) -> None:
    """Fig. 5(a): empirical CDF of the ELA achievable ratio per scheme."""
    fig, ax = _figure((5.6, 4.0))
    for s in schemes:
        v = np.sort(ela.loc[ela["scheme"] == s, "ela_ratio"].to_numpy(float))
        if v.size:
            ax.step(
                np.concatenate([[0.0], v]),
                np.arange(v.size + 1) / v.size,
                where="post",
                label=LABELS.get(s, s),
            )
    ax.set_xlabel("ELA achievable ratio")
    ax.set_ylabel("CDF")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_qoe_box(qoe: pd.DataFrame, schemes: tuple[str, ...], path: Path) -> None:
    """Fig. 5(b): box plot of real-time QoE per scheme (whiskers at 1.5 IQR)."""
    fig, ax = _figure((5.6, 4.0))
    data = [qoe.loc[qoe["scheme"] == s, "qoe"].to_numpy(float) for s in schemes]
    ax.boxplot(data, tick_labels=[LABELS.get(s, s) for s in schemes], showfliers=False)
    ax.set_ylabel("real-time QoE (MOS)")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _cdf(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    v = np.sort(values)
    return np.searchsorted(v, x, side="right") / max(v.size, 1)


def _claim(claim: str, holds: bool, evidence: str) -> dict[str, Any]:
    return {"claim": claim, "holds": bool(holds), "evidence": evidence}


def _decile_wins(e: dict[str, np.ndarray]) -> tuple[int, int]:
    """(deciles where Proposed is highest, deciles where the schemes differ at all)."""
    table = np.array([np.percentile(e[s], np.arange(10, 100, 10)) for s in SCHEMES])
    top = table.max(axis=0)
    differ = top - table.min(axis=0) > 1e-12
    return int(np.sum(differ & (table[0] >= top - 1e-12))), int(differ.sum())


def findings(ela: pd.DataFrame, qoe: pd.DataFrame) -> list[dict[str, Any]]:
    """The seed's Fig. 5 statements, checked against the pooled samples (all four schemes)."""
    if ela.empty or qoe.empty or not set(SCHEMES) <= set(ela["scheme"]):
        return []
    e = {s: _values(ela, s, "ela_ratio") for s in SCHEMES}
    q = {s: _values(qoe, s, "qoe") for s in SCHEMES}
    wins, differ = _decile_wins(e)
    grid = np.linspace(0.6, 0.7, 11)
    mid = float(np.mean(_cdf(e["pdrl-l1"], grid) - _cdf(e["proposed"], grid)))
    mean = {s: float(v.mean()) for s, v in e.items()}
    med = {s: float(np.median(v)) for s, v in q.items()}
    iqr = {s: float(np.subtract(*np.percentile(v, [75, 25]))) for s, v in q.items()}
    means = ", ".join(f"mean {s}={v:.3f}" for s, v in mean.items())
    boxes = ", ".join(f"{s}: median {med[s]:.2f}, IQR {iqr[s]:.2f}" for s in SCHEMES)
    wide = iqr["wo-da"] >= float(np.median([iqr[s] for s in SCHEMES if s != "wo-da"]))
    return [
        _claim(
            "Proposed has the highest ELA achievable ratio in most percentile ranges",
            differ > 0 and wins > differ / 2,
            f"highest at {wins} of the {differ} deciles where the schemes differ "
            f"(all tie at the other {9 - differ})",
        ),
        _claim(
            "PDRL-L1 slightly outperforms Proposed in the mid-range (0.6-0.7)",
            mid < 0,
            f"mean CDF(PDRL-L1) - CDF(Proposed) on [0.6, 0.7] = {mid:+.3f}",
        ),
        _claim(
            "w/o DA lags behind Proposed and PDRL-L1 (ELA ratio)",
            mean["wo-da"] < min(mean["proposed"], mean["pdrl-l1"]),
            means,
        ),
        _claim("HSLA-L2 has the poorest ELA ratio", mean["hsla-l2"] == min(mean.values()), means),
        _claim("Proposed has the highest median QoE", med["proposed"] == max(med.values()), boxes),
        _claim(
            "Proposed's QoE IQR is not the narrowest", iqr["proposed"] > min(iqr.values()), boxes
        ),
        _claim(
            "w/o DA has the lowest median QoE and a wide IQR",
            med["wo-da"] == min(med.values()) and wide,
            boxes,
        ),
    ]


def paired_differences(ela: pd.DataFrame, qoe: pd.DataFrame) -> pd.DataFrame:
    """Per scheme, run means minus Proposed's on the same (k, seed): common random numbers.

    Columns: metric, scheme, mean difference, its standard error over the pairs, pairs, and
    how many pairs the scheme beat Proposed in.
    """
    rows = []
    for metric, frame, column in (("ela_ratio", ela, "ela_ratio"), ("qoe", qoe, "qoe")):
        if frame.empty:
            continue
        runs = frame.groupby(["scheme", "k", "seed"])[column].mean().unstack("scheme")
        if "proposed" not in runs:
            continue
        for scheme in (s for s in runs.columns if s != "proposed"):
            d = (runs[scheme] - runs["proposed"]).dropna().to_numpy()
            sem = float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else float("nan")
            rows.append(
                {
                    "metric": metric,
                    "scheme": scheme,
                    "mean_diff": float(d.mean()),
                    "sem": sem,
                    "pairs": int(d.size),
                    "wins": int(np.sum(d > 0)),
                }
            )
    return pd.DataFrame(rows)


def _run_row(r: dict[str, Any]) -> dict[str, Any]:
    c, s = r["case"], r["summary"]
    sl = s.get("slicing", {})
    return {
        "scheme": c["scheme"],
        "k": c["k"],
        "seed": c["seed"],
        "wall_s": r["wall_s"],
        "windows": s.get("windows"),
        "ela_ratio_mean": s.get("ela_ratio", {}).get("mean"),
        "qoe_mean": s.get("qoe", {}).get("mean"),
        "mean_window_s": sl.get("mean_window_s"),
        "max_nash_gap": sl.get("max_nash_gap"),
        "rounds_mean": sl.get("rounds_mean"),
        "price_of_anarchy": sl.get("mean_price_of_anarchy"),
        "strategy_messages": sl.get("strategy_messages"),
    }


def _after_warmup(frame: pd.DataFrame, warmup: int) -> pd.DataFrame:
    return frame[frame["window"] >= warmup] if not frame.empty else frame


def _finite(value: Any) -> Any:
    """JSON-safe: NaN/inf as None, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def summarise_fig5(
    results: list[dict[str, Any]], cfg: Fig5Settings, out_dir: Path, mode: str
) -> dict:
    """Pool the runs (after the warm-up windows) and write panels, tables and summary.json."""
    ela_all, qoe_all = _pooled(results, "ela"), _pooled(results, "qoe")
    ela = _after_warmup(ela_all, cfg.warmup_windows)
    qoe = _after_warmup(qoe_all, cfg.warmup_windows)
    table = fig5_table(ela, qoe, cfg.schemes)
    table.to_csv(out_dir / "fig5_table.csv", index=False)
    warm = fig5_table(
        ela_all[ela_all["window"] < cfg.warmup_windows],
        qoe_all[qoe_all["window"] < cfg.warmup_windows],
        cfg.schemes,
    )
    ela_all.to_parquet(out_dir / "fig5_ela.parquet", index=False)
    qoe_all.to_parquet(out_dir / "fig5_qoe.parquet", index=False)
    paired = paired_differences(ela, qoe)
    paired.to_csv(out_dir / "fig5_paired.csv", index=False)
    pd.DataFrame([_run_row(r) for r in results]).to_csv(out_dir / "fig5_runs.csv", index=False)
    plot_ela_cdf(ela, cfg.schemes, out_dir / "fig5a_ela_cdf.png")
    plot_qoe_box(qoe, cfg.schemes, out_dir / "fig5b_qoe_box.png")
    summary = _finite(
        {
            "mode": mode,
            "settings": asdict(cfg),
            "runs": len(results),
            "table": table.to_dict(orient="records"),
            "warmup_table": warm.to_dict(orient="records"),
            "paired_vs_proposed": paired.to_dict(orient="records"),
            "findings": findings(ela, qoe),
        }
    )
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def reproduce_fig5(
    out_dir: Path, quick: bool = False, seeds: int | None = None, progress: bool = True
) -> dict:
    """Run the Fig. 5 experiment; write the two panels, the table and summary.json.

    Args:
        out_dir: output folder (created); run folders go to ``out_dir/runs``.
        quick: the smoke-test size instead of the default experiment.
        seeds: scenario seeds per k (default 2, quick 1).
        progress: show a tqdm bar over runs.

    Returns:
        The summary written to summary.json (wall and CPU time go to timing.json).
    """
    cfg = settings_for(quick, seeds)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0, cpu0 = time.perf_counter(), _children_cpu_s()
    results = _run_all(_cases(cfg, out_dir), cfg.workers, progress)
    timing = {
        "total_s": time.perf_counter() - t0,
        "workers_cpu_s": _children_cpu_s() - cpu0,
        "runs_s": float(sum(r["wall_s"] for r in results)),
        "max_run_s": float(max(r["wall_s"] for r in results)),
        "workers": cfg.workers,
    }
    summary = summarise_fig5(results, cfg, out_dir, "quick" if quick else "full")
    (out_dir / "timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    return summary


def _children_cpu_s() -> float:
    """CPU seconds of finished child processes (the workers, once the pool is shut down)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
