"""Convergence plot of best-response slicing dynamics (seed 000, Sec. III.D.2).

Draws the Nash gap (log scale) and the potential against the round from a
:class:`~policies.slicing.game.Trajectory`. Uses matplotlib's object API with the Agg canvas,
so it never touches the global pyplot state or backend of the host process.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from policies.slicing.dynamics import Trajectory


def plot_convergence(trajectory: Trajectory, path: str | Path, title: str = "") -> Path:
    """Write a PNG of Nash gap (log) and potential vs round.

    Args:
        trajectory: best-response dynamics to draw.
        path: PNG file to write (its folder must exist).
        title: optional figure title.

    Returns:
        The path written.
    """
    rounds = np.array([r.round for r in trajectory.rounds])
    gaps = np.array([r.nash_gap for r in trajectory.rounds])
    phis = np.array([r.potential for r in trajectory.rounds])
    fig = Figure(figsize=(6.4, 3.2))
    FigureCanvasAgg(fig)
    ax_gap, ax_phi = fig.subplots(1, 2)
    # A zero gap cannot be drawn on a log axis; show it at the smallest positive float.
    ax_gap.semilogy(rounds, np.maximum(gaps, np.finfo(float).tiny), marker="o", ms=3)
    ax_gap.set_xlabel("round")
    ax_gap.set_ylabel("Nash gap")
    if np.all(np.isnan(phis)):
        ax_phi.text(0.5, 0.5, "no potential", ha="center", va="center", transform=ax_phi.transAxes)
    else:
        ax_phi.plot(rounds, phis, marker="o", ms=3)
    ax_phi.set_xlabel("round")
    ax_phi.set_ylabel("potential")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, format="png", dpi=100)
    return out
