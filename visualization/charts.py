"""The page's time-series and distribution charts, drawn with matplotlib from model data.

Each ``draw_*`` function takes a blank :class:`matplotlib.figure.Figure` and what it plots
(the model, its DataCollector table, the per-scheme memory of the session) and draws panels
whose data are absent as a panel saying so (:data:`visualization.probes.ABSENT`), so a chart
lights up as soon as its reporters appear. Figures to reproduce (seed 000 Fig. 5): the CDF of
the ELA achievable ratio per scheme and the QoE box plot per scheme.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from visualization import probes

SCHEME_COLOURS = {
    "proposed": "#c0392b",
    "wo-da": "#2c3e50",
    "pdrl-l1": "#27ae60",
    "hsla-l2": "#2980b9",
}


def _absent(ax: Axes, what: str, why: str = probes.ABSENT) -> None:
    """Mark a panel whose data the current model does not have."""
    ax.set_title(what, fontsize=9)
    ax.text(
        0.5,
        0.5,
        why,
        ha="center",
        va="center",
        transform=ax.transAxes,
        fontsize=9,
        color="#888888",
        style="italic",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#dddddd")


def _style(ax: Axes, title: str, ylabel: str, xlabel: str = "network time (s)") -> None:
    ax.set_title(title, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def draw_radio(fig: Figure, df: pd.DataFrame) -> None:
    """Throughput (mean and 5th percentile) and mean SINR over time: always there."""
    top, bottom = fig.subplots(2, 1, sharex=True)
    if "users" in df.columns and not df["users"].any():
        _absent(top, "User throughput", "no users in this scenario")
        _absent(bottom, "Mean SINR", "no users in this scenario")
        return
    t = probes.time_axis(df)
    for col, label in (("mean_throughput_mbps", "mean"), ("p5_throughput_mbps", "5th pct")):
        if col in df.columns:
            top.plot(t, df[col], label=label, lw=1.2)
    _style(top, "User throughput", "Mbit/s", xlabel="")
    top.legend(fontsize=7, loc="upper right")
    if "mean_sinr_db" in df.columns:
        bottom.plot(t, df["mean_sinr_db"], color="#8e44ad", lw=1.2)
    _style(bottom, "Mean SINR", "dB")


def draw_overhead(fig: Figure, df: pd.DataFrame) -> None:
    """Messages sent by kind (cumulative, stacked): the DA data-collection overhead."""
    ax = fig.subplots()
    kinds = [c for c in probes.prefixed(df, "sent_") if df[c].iloc[-1] > 0]
    if not kinds:
        _absent(ax, "Message overhead by kind", "no messages sent yet")
        return
    t = probes.time_axis(df)
    ax.stackplot(
        t,
        *[df[c].to_numpy(dtype=float) for c in kinds],
        labels=[c.removeprefix("sent_") for c in kinds],
        alpha=0.85,
    )
    total_kb = float(df["bytes_sent"].iloc[-1]) / 1e3 if "bytes_sent" in df.columns else np.nan
    _style(ax, f"Message overhead by kind ({total_kb:,.1f} kB sent)", "messages sent (cumulative)")
    ax.legend(fontsize=7, loc="upper left", ncol=2)


@dataclass
class SchemeMemory:
    """The last per-user QoE and ELA achievable ratios seen for each scheme in this session.

    Switching the scheme and pressing Reset starts a new model; the memory keeps the previous
    schemes' distributions so the page can compare them as seed 000 Fig. 5 does.
    """

    qoe: dict[str, np.ndarray] = field(default_factory=dict)
    ela_ratio: dict[str, np.ndarray] = field(default_factory=dict)

    def update(self, model: Any) -> None:
        """Record the current model's per-user values under its scheme (if it has them)."""
        scheme = probes.scheme_of(model)
        qoe = probes.user_qoe(model)
        if qoe is not None:
            self.qoe[scheme] = qoe[0][np.isfinite(qoe[0])]
        ratio = probes.ela_ratio_samples(model)
        if ratio is not None and len(ratio):
            self.ela_ratio[scheme] = ratio


def _ordered(samples: Mapping[str, np.ndarray], current: str) -> list[str]:
    """Schemes with data, the current one last (drawn on top)."""
    return sorted((s for s in samples if len(samples[s])), key=lambda s: (s == current, s))


def _qoe_panel(ax: Axes, df: pd.DataFrame, memory: SchemeMemory, current: str) -> None:
    schemes = _ordered(memory.qoe, current)
    if schemes:
        parts = ax.boxplot(
            [memory.qoe[s] for s in schemes], tick_labels=schemes, patch_artist=True, widths=0.6
        )
        for patch, s in zip(parts["boxes"], schemes, strict=True):
            patch.set_facecolor(SCHEME_COLOURS.get(s, "#999999"))
            patch.set_alpha(0.9 if s == current else 0.45)
        _style(ax, "QoE per user, by scheme", "QoE (MOS)", xlabel="scheme")
    elif probes.present(df, "qoe_mean"):
        ax.plot(probes.time_axis(df), df["qoe_mean"], color=SCHEME_COLOURS.get(current))
        _style(ax, f"Mean QoE ({current})", "QoE (MOS)")
    else:
        _absent(ax, "QoE distribution")


def _ela_panel(ax: Axes, df: pd.DataFrame, memory: SchemeMemory, current: str) -> None:
    schemes = _ordered(memory.ela_ratio, current)
    if schemes:
        for s in schemes:
            x = np.sort(memory.ela_ratio[s])
            y = np.arange(1, len(x) + 1) / len(x)
            ax.step(
                x,
                y,
                where="post",
                label=s,
                color=SCHEME_COLOURS.get(s),
                lw=2.0 if s == current else 1.0,
                alpha=1.0 if s == current else 0.6,
            )
        ax.set_xlim(-0.02, 1.02)
        _style(ax, "ELA achievable ratio, CDF", "share of users", xlabel="ELA achievable ratio")
        ax.legend(fontsize=7, loc="upper left")
    elif probes.present(df, "ela_ratio"):
        ax.plot(probes.time_axis(df), df["ela_ratio"], color=SCHEME_COLOURS.get(current))
        ax.set_ylim(-0.02, 1.02)
        _style(ax, f"ELA achievable ratio ({current})", "ratio")
    else:
        _absent(ax, "ELA achievable ratio")


def draw_qoe(fig: Figure, df: pd.DataFrame, memory: SchemeMemory, current: str) -> None:
    """QoE distribution and ELA achievable ratio per scheme (seed 000 Fig. 5)."""
    left, right = fig.subplots(1, 2)
    _qoe_panel(left, df, memory, current)
    _ela_panel(right, df, memory, current)


def _slices_panel(ax: Axes, slices: pd.DataFrame, slicing: bool) -> None:
    """One stacked bar per resource pool: the share each group's slice holds, the rest free."""
    if slices.empty:
        _absent(
            ax, "Slice reservation per group", "no slice reserved yet" if slicing else probes.ABSENT
        )
        return
    table = slices.pivot_table(index="pool", columns="owner", values="share", aggfunc="sum")
    table = table.fillna(0.0).sort_index(ascending=False)
    left = np.zeros(len(table))
    for owner in table.columns:
        ax.barh(table.index, table[owner], left=left, label=owner, height=0.6)
        left += table[owner].to_numpy()
    ax.barh(
        table.index,
        np.clip(1.0 - left, 0.0, None),
        left=left,
        color="#eeeeee",
        height=0.6,
        label="free",
    )
    ax.set_xlim(0, 1)
    _style(ax, "Slice reservation per group", "", xlabel="share of the pool")
    ax.grid(False)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def _game_panel(ax: Axes, df: pd.DataFrame) -> None:
    """Nash gap (log scale) and best-response rounds of each slicing window."""
    cols = probes.present(df, "nash_gap")
    if "br_rounds" in df.columns and df["br_rounds"].fillna(0).any():
        cols.append("br_rounds")
    if not cols:
        played = "nash_gap" in df.columns or "br_rounds" in df.columns
        _absent(ax, "Best-response game", "no game played yet" if played else probes.ABSENT)
        return
    t = probes.time_axis(df)
    title = "Best-response game"
    if probes.present(df, "slice_window_s"):
        title += f" · window {df['slice_window_s'].dropna().iloc[-1]:g} s"
    _style(ax, title, "Nash gap (max regret)")
    if "nash_gap" in cols:
        gap = df["nash_gap"].astype(float).clip(lower=1e-12)
        ax.plot(t, gap, color="#c0392b", lw=1.2, label="Nash gap")
        ax.set_yscale("log")
    if "br_rounds" in cols:
        twin = ax.twinx()
        twin.step(t, df["br_rounds"], where="post", color="#2c3e50", lw=1.0, label="BR rounds")
        twin.set_ylabel("best-response rounds", fontsize=8)
        twin.tick_params(labelsize=7)
        twin.set_ylim(bottom=0)
    handles = [
        h for a in ax.figure.axes for h in a.get_lines() if not str(h.get_label()).startswith("_")
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper right")


def draw_slicing(fig: Figure, df: pd.DataFrame, slices: pd.DataFrame) -> None:
    """Slice reservations per user group, and the Nash gap / best-response rounds per window."""
    left, right = fig.subplots(1, 2)
    _slices_panel(left, slices, slicing="nash_gap" in df.columns)
    _game_panel(right, df)


def draw_meta(fig: Figure, df: pd.DataFrame) -> None:
    """The cloud twin's meta-learning reward (when vehicular twins are present)."""
    ax = fig.subplots()
    cols = probes.prefixed(df, "meta_reward")
    if not cols:
        _absent(ax, "Meta-learning reward (cloud twin)")
        return
    t = probes.time_axis(df)
    for col in cols:
        label = col.removeprefix("meta_reward").strip("_") or "reward"
        values = df[col].astype(float)
        line = ax.plot(t, values, lw=0.8, alpha=0.5, label=f"{label} (per slot)")[0]
        window = max(1, min(30, len(values) // 5))
        ax.plot(
            t,
            values.rolling(window, min_periods=1).mean(),
            lw=1.8,
            color=line.get_color(),
            label=f"{label} ({window}-slot mean)",
        )
    extra = [
        f"{c.replace('_', ' ')} {df[c].iloc[-1]:g}"
        for c in probes.present(df, "migrations", "meta_rounds")
    ]
    title = "Meta-learning reward (cloud twin)"
    _style(ax, title + (f" · {', '.join(extra)}" if extra else ""), "reward")
    ax.legend(fontsize=7, loc="lower right")
