"""Behaviour and environment emulation in a level-one DA (seed 000, Sec. III.C.1).

The seed's level-one DAs emulate user behaviour with finite state machines and predict the
environment by Monte Carlo simulation, and trigger a QoE model update when the emulated
behaviour pattern or environmental complexity changes. Our realisation (a documented choice):

* **FSM of viewing behaviour.** Behavioural dynamics B in [1, 2] (a function of the swipe
  rate) is discretised per emulation step (one feedback window) into ``n_levels`` equal-width
  levels; the levels are the states of a Markov chain learnt from the user's history by
  transition counts plus a symmetric Dirichlet prior (``prior_count`` pseudo-counts per
  transition, so unseen rows are uniform). Each level is represented by the mean of the B
  values observed in it (its bin centre when unseen).
* **Environment.** Environmental complexity C in [1, 2] (a function of speed) gets its own
  chain of speed-complexity levels, learnt the same way.
* **Monte Carlo prediction.** ``n_paths`` paths of both chains are simulated from the current
  levels over the next window; every (path, step) pair is one sample of (B, C).
* **Adaptive update.** Re-select factors (and refit) when the emulated pattern shifts: the
  total-variation distance between the chains' stationary distributions, or the change of the
  forecast mean, exceeds a threshold relative to the forecast made at the last fit. Refit the
  weights alone when the model's recent prediction error grows beyond a multiple of its fit
  RMSE.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LEVEL_LOW, LEVEL_HIGH = 1.0, 2.0


@dataclass(frozen=True, slots=True)
class EmulationParams:
    """Discretisation, prior, Monte Carlo size and update thresholds."""

    n_levels: int = field(
        default=5, metadata={"range": (2, 100), "doc": "FSM levels of B and of C on [1, 2]"}
    )
    prior_count: float = field(
        default=1.0,
        metadata={"range": (0.0, 1e6), "doc": "Dirichlet pseudo-count per transition (Laplace)"},
    )
    n_paths: int = field(
        default=256, metadata={"range": (1, 1_000_000), "doc": "Monte Carlo paths per forecast"}
    )
    step_s: float = field(
        default=60.0,
        metadata={"range": (1e-3, 1e6), "doc": "emulation step = one MOS feedback window (s)"},
    )
    shift_tv_threshold: float = field(
        default=0.3,
        metadata={"range": (0.0, 1.0), "doc": "stationary-distribution TV shift that re-selects"},
    )
    shift_mean_threshold: float = field(
        default=0.1,
        metadata={"range": (0.0, 1.0), "doc": "change of forecast mean B or C that re-selects"},
    )
    error_ratio_threshold: float = field(
        default=1.5,
        metadata={"range": (1.0, 100.0), "doc": "recent RMSE / fit RMSE that triggers a refit"},
    )
    min_error_windows: int = field(
        default=5,
        metadata={"range": (1, 100_000), "doc": "feedback windows needed to judge the error"},
    )


def levels_of(values: np.ndarray, n_levels: int) -> np.ndarray:
    """Equal-width level index in 0..n_levels-1 of values on [1, 2] (clipped)."""
    frac = (np.asarray(values, dtype=float) - LEVEL_LOW) / (LEVEL_HIGH - LEVEL_LOW)
    return np.clip(np.floor(frac * n_levels), 0, n_levels - 1).astype(np.int64)


def level_values(values: np.ndarray, levels: np.ndarray, n_levels: int) -> np.ndarray:
    """Representative value of each level: mean of observed values, else the bin centre."""
    centres = LEVEL_LOW + (np.arange(n_levels) + 0.5) * (LEVEL_HIGH - LEVEL_LOW) / n_levels
    sums = np.bincount(levels, weights=np.asarray(values, dtype=float), minlength=n_levels)
    counts = np.bincount(levels, minlength=n_levels)
    return np.where(counts > 0, sums / np.maximum(counts, 1), centres)


def fit_transition_matrix(levels: np.ndarray, n_states: int, prior_count: float) -> np.ndarray:
    """Posterior-mean transition matrix from a state sequence (counts + Dirichlet prior)."""
    seq = np.asarray(levels, dtype=np.int64)
    counts = np.zeros((n_states, n_states))
    if seq.size >= 2:
        np.add.at(counts, (seq[:-1], seq[1:]), 1.0)
    counts += prior_count
    rows = counts.sum(axis=1, keepdims=True)
    # A row with neither data nor prior stays put (absorbing) rather than dividing by zero.
    safe = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), np.eye(n_states))
    return safe


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """A stationary distribution pi = pi P (least squares with the sum-to-one row)."""
    p = np.asarray(transition, dtype=float)
    n = p.shape[0]
    system = np.vstack([p.T - np.eye(n), np.ones((1, n))])
    rhs = np.concatenate([np.zeros(n), [1.0]])
    pi = np.linalg.lstsq(system, rhs, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def simulate_levels(
    transition: np.ndarray, start: int, n_steps: int, n_paths: int, rng: np.random.Generator
) -> np.ndarray:
    """Monte Carlo paths of the chain after ``start``: array (n_paths, n_steps) of levels."""
    cdf = np.cumsum(np.asarray(transition, dtype=float), axis=1)
    cdf[:, -1] = 1.0
    paths = np.empty((n_paths, n_steps), dtype=np.int64)
    current = np.full(n_paths, int(start), dtype=np.int64)
    for k in range(n_steps):
        u = rng.random(n_paths)
        current = (u[:, None] < cdf[current]).argmax(axis=1)
        paths[:, k] = current
    return paths


@dataclass(frozen=True, slots=True)
class LevelChain:
    """A learnt level chain: transitions, level values and the current level."""

    transition: np.ndarray
    values: np.ndarray
    current: int

    @property
    def stationary(self) -> np.ndarray:
        """Long-run share of time in each level (the chain's behaviour pattern)."""
        return stationary_distribution(self.transition)


def learn_chain(history: np.ndarray, params: EmulationParams) -> LevelChain:
    """Learn the level chain of a B or C history (one value per emulation step)."""
    values = np.asarray(history, dtype=float)
    levels = levels_of(values, params.n_levels)
    transition = fit_transition_matrix(levels, params.n_levels, params.prior_count)
    current = int(levels[-1]) if levels.size else params.n_levels // 2
    return LevelChain(transition, level_values(values, levels, params.n_levels), current)


@dataclass(frozen=True, slots=True)
class BcForecast:
    """Monte Carlo forecast of (B, C) over the next window and the learnt patterns."""

    b_samples: np.ndarray
    c_samples: np.ndarray
    b_stationary: np.ndarray
    c_stationary: np.ndarray

    @property
    def b_mean(self) -> float:
        """Forecast mean of B over the window."""
        return float(np.mean(self.b_samples))

    @property
    def c_mean(self) -> float:
        """Forecast mean of C over the window."""
        return float(np.mean(self.c_samples))


def emulate_bc(
    b_history: np.ndarray,
    c_history: np.ndarray,
    horizon_s: float,
    params: EmulationParams,
    rng: np.random.Generator,
) -> BcForecast:
    """Learn the B and C chains from history and sample (B, C) over the next window.

    Args:
        b_history: B per past emulation step (oldest first).
        c_history: C per past emulation step.
        horizon_s: length of the window to forecast (e.g. the slice window W).
        params: discretisation, prior and Monte Carlo size.
        rng: the DA's random stream.

    Returns:
        Paired samples (n_paths x steps, flattened) and the chains' stationary distributions.
    """
    n_steps = max(1, math.ceil(horizon_s / params.step_s - 1e-9))
    samples = []
    stationary = []
    for history in (b_history, c_history):
        chain = learn_chain(history, params)
        paths = simulate_levels(chain.transition, chain.current, n_steps, params.n_paths, rng)
        samples.append(chain.values[paths].ravel())
        stationary.append(chain.stationary)
    return BcForecast(samples[0], samples[1], stationary[0], stationary[1])


@dataclass(frozen=True, slots=True)
class UpdateDecision:
    """Whether to re-select QoE factors and/or refit weights, and why."""

    reselect_factors: bool
    refit: bool
    pattern_shift: float
    mean_shift: float
    error_ratio: float


def decide_update(
    reference: BcForecast,
    current: BcForecast,
    mos_recent: np.ndarray,
    predicted_recent: np.ndarray,
    fit_rmse: float,
    params: EmulationParams,
) -> UpdateDecision:
    """Adaptive QoE model update trigger (seed 000 Sec. III.C.1).

    Args:
        reference: the forecast made when the model was last fitted.
        current: the latest forecast.
        mos_recent: MOS observed since the fit.
        predicted_recent: the model's predictions for those windows.
        fit_rmse: the model's RMSE on its training data.
        params: thresholds.
    """
    tv = 0.5 * max(
        float(np.abs(reference.b_stationary - current.b_stationary).sum()),
        float(np.abs(reference.c_stationary - current.c_stationary).sum()),
    )
    mean_shift = max(abs(reference.b_mean - current.b_mean), abs(reference.c_mean - current.c_mean))
    err = np.asarray(mos_recent, dtype=float) - np.asarray(predicted_recent, dtype=float)
    ratio = 0.0
    if err.size >= params.min_error_windows:
        ratio = math.sqrt(float(np.mean(err**2))) / max(fit_rmse, 1e-6)
    reselect = tv > params.shift_tv_threshold or mean_shift > params.shift_mean_threshold
    refit = reselect or ratio > params.error_ratio_threshold
    return UpdateDecision(reselect, refit, tv, mean_shift, ratio)
