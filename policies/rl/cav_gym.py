"""Gymnasium and batch interfaces to the CAV cooperative perception environment (seed 003, IV).

Both wrap the pure slot function :func:`policies.rl.cav_env.cav_slot`:

* :class:`CavGymEnv` is a standard ``gymnasium.Env`` for one episode (observation: the
  normalised per-pair features, flattened; action: ``MultiBinary(N)``, 1 = CP).
* :class:`CavBatchEnv` runs E episodes in lock step (all have K slots), which is how training
  collects an epoch of episodes in one batched rollout.

The continuous-to-binary discretisation of the PPO policy lives in the policy, not here.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from policies.rl.cav_env import (
    FEATURES_PER_PAIR,
    CavState,
    SlotInfo,
    cav_slot,
    initial_state,
    observe,
    task_pattern,
)
from policies.rl.cav_params import CavParams

ObsArray = NDArray[np.float32]


def observation_bounds(p: CavParams) -> tuple[ObsArray, ObsArray]:
    """Per-feature bounds of :func:`observe`: B unbounded above, others in [-1, 1] / {0, 1}."""
    low = np.tile(np.array([-np.inf, -1, -1, -1, -1, 0], np.float32), p.n_pairs)
    high = np.tile(np.array([np.inf, 1, 1, 1, 1, 1], np.float32), p.n_pairs)
    b_low = (p.bandwidth_floor_mhz - p.bandwidth_ref_mhz) / p.bandwidth_scale_mhz
    low[::FEATURES_PER_PAIR] = np.float32(b_low)
    return low, high


def info_dict(info: SlotInfo, row: int) -> dict[str, Any]:
    """One episode's slot info as a plain dict (Gymnasium ``info``)."""
    return {
        "gain": info.gain[row].copy(),
        "share": info.share[row].copy(),
        "compute_time_s": info.compute_time_s[row].copy(),
        "feasible": bool(info.feasible[row]),
        "effective_mode": info.effective_mode[row].copy(),
        "switches": int(info.switches[row]),
    }


class CavGymEnv(gym.Env[ObsArray, NDArray[np.int8]]):
    """One episode of K slots on a fixed radio pattern (a task).

    Args:
        params: Environment constants.
        mu_mhz: The task's pattern mu(0..K-1); default: task 1 (mu = 5 MHz in every slot).
    """

    metadata = {"render_modes": []}

    def __init__(self, params: CavParams | None = None,
                 mu_mhz: NDArray[np.float64] | None = None) -> None:
        super().__init__()
        self.params = params or CavParams()
        mu = task_pattern("task1", self.params) if mu_mhz is None else np.asarray(mu_mhz, float)
        if mu.shape != (self.params.slots_per_episode,):
            raise ValueError(f"mu_mhz must have shape ({self.params.slots_per_episode},)")
        self.mu_mhz = mu
        low, high = observation_bounds(self.params)
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        self.action_space = gym.spaces.MultiBinary(self.params.n_pairs)
        self._state: CavState | None = None

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[ObsArray, dict[str, Any]]:
        """Start an episode (``self.np_random`` is re-seeded when ``seed`` is given)."""
        super().reset(seed=seed)
        self._state = initial_state(self.mu_mhz[None, :], self.params, self.np_random)
        return observe(self._state, self.params)[0], {}

    def step(self, action: NDArray[np.int8]
             ) -> tuple[ObsArray, float, bool, bool, dict[str, Any]]:
        """Apply one decision vector (1 = CP) and advance one slot."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        act = np.asarray(action).astype(bool).reshape(1, self.params.n_pairs)
        reward, self._state, info = cav_slot(self._state, act, self.params, self.np_random)
        terminated = self._state.slot >= self.params.slots_per_episode
        obs = observe(self._state, self.params)[0]
        return obs, float(reward[0]), terminated, False, info_dict(info, 0)

    @property
    def state(self) -> CavState | None:
        """The current :class:`CavState` (one row), e.g. for an edge twin to copy."""
        return self._state


class CavBatchEnv:
    """E episodes in lock step, one radio pattern per episode (numpy, no Python loop over E).

    Args:
        params: Environment constants.
        rng: numpy Generator driving B(k), the level chains and initial states.
    """

    def __init__(self, params: CavParams, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        self.state: CavState | None = None

    @property
    def obs_dim(self) -> int:
        """Length of one episode's observation vector."""
        return self.params.n_pairs * FEATURES_PER_PAIR

    def reset(self, mu_mhz: NDArray[np.float64]) -> ObsArray:
        """Start one episode per row of ``mu_mhz`` (E, K); returns observations (E, obs_dim)."""
        self.state = initial_state(mu_mhz, self.params, self.rng)
        return observe(self.state, self.params)

    def step(self, action: NDArray[np.bool_]
             ) -> tuple[ObsArray, NDArray[np.float64], bool, SlotInfo]:
        """Apply decisions (E, N) and advance; returns (obs, reward (E,), done, info)."""
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        reward, self.state, info = cav_slot(self.state, action, self.params, self.rng)
        done = self.state.slot >= self.params.slots_per_episode
        return observe(self.state, self.params), reward, done, info
