"""Fig. 5 analysis: the pooled table, the two panels, the paired differences and the seed's
claims checked mechanically (``runs.reproduce.fig5`` runs the cases and calls these)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

SCHEMES = ("proposed", "wo-da", "pdrl-l1", "hsla-l2")
LABELS = {"proposed": "Proposed", "wo-da": "w/o DA", "pdrl-l1": "PDRL-L1", "hsla-l2": "HSLA-L2"}
PERCENTILES = (10, 25, 50, 75, 90)


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
