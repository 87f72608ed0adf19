"""The edge twin's own network emulation model, estimated from its PLVN's reports (seed 003 III.B).

Seed 003, Sec. III.B: the edge DT "maintains models of the PLVN for network emulation ...
based on domain expert knowledge and enhanced by experience data"; Sec. III.C.2: "the true
trajectory data ... can be updated to the edge DT, to tune the network emulation models and
trigger necessary individual model retraining". Here:

* **expert knowledge** — the physics of perception and V2V transmission (DNN cycle counts, path
  loss, energy, the reward rule and the level values of O_i and d_i) are the twin's prior
  model; they are the constants of the ``[cav]`` section, which the twin is configured with;
* **experience data** — the stochastic processes are *estimated* from the reported
  trajectories and never read from the world:

  - the transition matrices of the workload (O_i) and distance (d_i) level chains, from counts
    of observed transitions with a symmetric Dirichlet prior (``twin_ops.prior_count`` pseudo
    counts per cell, Laplace's rule at 1): the posterior mean is what the twin emulates with,
    so a row seen a few times stays close to uniform;
  - the radio availability: mu(k) for each slot k of the PLVN's episode (when reports carry
    k), the mean of the B(k) observed at that k in the data buffer, shrunk toward the
    buffer's overall mean with ``prior_count`` pseudo observations; without k, the recent
    B(k) snapped to the radio levels (a slowly changing continuing PLVN); sigma, the pooled
    residual standard deviation, shrunk toward ``twin_ops.prior_sigma_mhz``.

Drift (seed Sec. II: a distribution drift requires retraining; Sec. III.B: change points):
before a report updates the estimate, its transitions are scored under it. For each chain the
statistic is ``z = sum_i (-log p_i - H_i) / sqrt(sum_i V_i)`` -- the observed surprise minus its
expectation under the model, with ``H_i``, ``V_i`` the entropy and the variance of the surprise
of the row of transition ``i`` -- and for the radio the standardised chi-square
``(sum z_k^2 - n) / sqrt(2 n)`` of the residuals. Each is about N(0, 1) when the world matches the
model; a value above ``twin_ops.emulator_drift_z`` signals a drift. Testing starts once
``twin_ops.emulator_min_samples`` transitions were counted; after a drift the counts restart
from the drifting report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from policies.rl.cav_params import CavParams
from policies.twins.twin_payloads import Trajectory
from policies.twins.twin_plvn import nearest_level

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class DriftScore:
    """Drift statistics of one report against the emulation model (about N(0,1) if none)."""

    objects: float
    distances: float
    radio: float

    def worst(self) -> tuple[str, float]:
        """The component with the largest statistic and its value."""
        items = {"objects": self.objects, "distances": self.distances, "radio": self.radio}
        name = max(items, key=lambda k: -np.inf if np.isnan(items[k]) else items[k])
        return name, items[name]


def _chain_pairs(levels: NDArray[np.int64], final: NDArray[np.int64],
                 done: NDArray[np.bool_] | None) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(from, to) level pairs of every observed transition of every pair (no episode resets)."""
    nxt = np.concatenate([levels[1:], final[None]], axis=0)
    keep = np.ones(len(levels), bool) if done is None else ~np.asarray(done, bool)
    return levels[keep].ravel(), nxt[keep].ravel()


def _surprise_z(p: FloatArray, src: NDArray[np.int64], dst: NDArray[np.int64]) -> float:
    """Standardised excess surprise of transitions ``src -> dst`` under the row-stochastic p."""
    if src.size == 0:
        return float("nan")
    logp = np.log(p)
    h_row = -(p * logp).sum(axis=1)
    v_row = (p * logp**2).sum(axis=1) - h_row**2
    excess = (-logp[src, dst] - h_row[src]).sum()
    return float(excess / np.sqrt(max(v_row[src].sum(), 1e-12)))


class EmulatorEstimate:
    """Counts and radio data behind an edge twin's emulation model of its PLVN."""

    def __init__(self, cav: CavParams, prior_count: float, prior_sigma_mhz: float,
                 min_samples: int, drift_z: float) -> None:
        self.cav = cav
        self.prior = float(prior_count)
        self.prior_sigma = float(prior_sigma_mhz)
        self.min_samples = int(min_samples)
        self.drift_z = float(drift_z)
        self.n_obj, self.n_dist = len(cav.object_levels), len(cav.distance_levels_m)
        self.reset()

    def reset(self) -> None:
        """Forget everything learnt (after a drift)."""
        self.obj_counts = np.zeros((self.n_obj, self.n_obj))
        self.dist_counts = np.zeros((self.n_dist, self.n_dist))
        self.transitions = 0

    # -- estimates -------------------------------------------------------------------------
    def matrix(self, kind: str) -> FloatArray:
        """Posterior-mean transition matrix of the "object" or "distance" chain."""
        counts = self.obj_counts if kind == "object" else self.dist_counts
        post = counts + self.prior
        return post / post.sum(axis=1, keepdims=True)

    def radio(self, bandwidth: Sequence[float], slots: Sequence[int] | None,
              horizon: int) -> tuple[FloatArray, float, FloatArray]:
        """mu(0..horizon-1), sigma and the predictive sd of a new B(k) at each k.

        From the buffered B(k) and, when known, their slot indices k. sigma is the pooled
        residual sd with the degrees of freedom the mu(k) estimates used removed (sum over k of
        ``n_k / (n_k + prior)``), shrunk toward ``prior_sigma_mhz``; a new observation at k
        also carries the uncertainty of mu(k): sd_k = sigma sqrt(1 + 1 / (n_k + prior)).
        """
        b = np.asarray(bandwidth, dtype=float)
        levels = self.cav.bandwidth_levels_mhz
        if b.size == 0:
            lv = np.sort(np.asarray(levels, dtype=float))
            sd = np.full(horizon, self.prior_sigma * np.sqrt(2.0))
            return np.full(horizon, lv[len(lv) // 2]), self.prior_sigma, sd
        if slots is None:
            mu = np.resize(nearest_level(b[-horizon:], levels), horizon)
            resid = b - nearest_level(b, levels)
            count = np.full(horizon, np.inf)
            used = 0.0
        else:
            k = np.asarray(slots, dtype=np.int64) % horizon
            total = np.bincount(k, weights=b, minlength=horizon)
            count = np.bincount(k, minlength=horizon).astype(float)
            mu = (total + self.prior * b.mean()) / (count + self.prior)
            resid = b - mu[k]
            used = float((count / (count + self.prior)).sum())
        dof = max(resid.size - used, 1.0)
        sigma = float(np.sqrt((np.sum(resid**2) + self.prior * self.prior_sigma**2)
                              / (dof + self.prior)))
        return mu, sigma, sigma * np.sqrt(1.0 + 1.0 / (count + self.prior))

    def emulation_params(self, slots: int, sigma: float) -> CavParams:
        """The twin's CAV model: expert physics, estimated chains and sigma, its episode length."""
        return replace(self.cav, slots_per_episode=int(slots),
                       object_transition=tuple(self.matrix("object").ravel().tolist()),
                       distance_transition=tuple(self.matrix("distance").ravel().tolist()),
                       bandwidth_std_mhz=float(sigma))

    # -- learning from a report --------------------------------------------------------------
    def score(self, traj: Trajectory, mu: FloatArray, sd: FloatArray) -> DriftScore | None:
        """Drift statistics of ``traj`` under the current model (None while still learning)."""
        if self.transitions < self.min_samples or len(traj) == 0:
            return None
        o_src, o_dst = _chain_pairs(traj.object_level, traj.final_object_level, traj.done)
        d_src, d_dst = _chain_pairs(traj.distance_level, traj.final_distance_level, traj.done)
        radio = float("nan")
        if traj.slot is not None:
            k = np.asarray(traj.slot) % len(mu)
            z = (traj.bandwidth_mhz - mu[k]) / np.maximum(sd[k], 1e-9)
            n = z.size
            radio = float((np.sum(z**2) - n) / np.sqrt(2.0 * n))
        return DriftScore(_surprise_z(self.matrix("object"), o_src, o_dst),
                          _surprise_z(self.matrix("distance"), d_src, d_dst), radio)

    def drifted(self, score: DriftScore | None) -> bool:
        """Whether a score signals a drift."""
        return score is not None and score.worst()[1] > self.drift_z

    def learn(self, traj: Trajectory) -> None:
        """Add the report's transitions to the counts."""
        for levels, final, counts in ((traj.object_level, traj.final_object_level,
                                       self.obj_counts),
                                      (traj.distance_level, traj.final_distance_level,
                                       self.dist_counts)):
            src, dst = _chain_pairs(levels, final, traj.done)
            np.add.at(counts, (src, dst), 1.0)
        self.transitions += int(len(traj) * traj.object_level.shape[1])


def model_error(est: EmulatorEstimate, truth: CavParams, mu_hat: FloatArray, sigma_hat: float,
                mu_true: FloatArray) -> dict[str, float]:
    """How far a twin's emulation model is from the world (for outputs only; the twin never
    sees ``truth``): max absolute error of each transition matrix, mean |mu error|, |sigma error|.
    """
    n = min(len(mu_hat), len(mu_true))
    return {
        "object_matrix_err": float(np.abs(est.matrix("object") - truth.matrix("object")).max()),
        "distance_matrix_err": float(np.abs(est.matrix("distance")
                                            - truth.matrix("distance")).max()),
        "mu_err_mhz": float(np.abs(np.asarray(mu_hat[:n]) - np.asarray(mu_true[:n])).mean()),
        "sigma_err_mhz": float(abs(sigma_hat - truth.bandwidth_std_mhz)),
    }
