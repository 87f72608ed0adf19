"""Gymnasium conformance and the batch environment (seed 003 Sec. IV environment)."""

from __future__ import annotations

import warnings

import numpy as np
from gymnasium.utils.env_checker import check_env

from policies.rl.cav_env import task_pattern
from policies.rl.cav_gym import CavBatchEnv, CavGymEnv
from policies.rl.cav_params import CavParams


def test_gymnasium_env_checker_passes() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite B bound and no-render-mode notices
        check_env(CavGymEnv(CavParams(slots_per_episode=12)), skip_render_check=True)


def test_episode_has_k_slots_and_is_seeded() -> None:
    p = CavParams(slots_per_episode=20)

    def play(seed: int) -> list[float]:
        env = CavGymEnv(p, task_pattern("task2", p))
        obs, _ = env.reset(seed=seed)
        assert env.observation_space.contains(obs)
        rewards, done, steps = [], False, 0
        while not done:
            obs, r, done, trunc, info = env.step(np.array([1, 0, 1], np.int8))
            assert not trunc and isinstance(info["feasible"], bool)
            rewards.append(r)
            steps += 1
        assert steps == 20
        return rewards

    assert play(1) == play(1)
    assert play(1) != play(2)


def test_batch_env_matches_shapes_and_ends_together() -> None:
    p = CavParams(slots_per_episode=5)
    env = CavBatchEnv(p, np.random.default_rng(0))
    mu = np.stack([task_pattern("task1", p), task_pattern("task2", p)])
    obs = env.reset(mu)
    assert obs.shape == (2, env.obs_dim) and obs.dtype == np.float32
    # The B feature reflects each episode's task: (5 - 6) / 1 and (7 - 6) / 1, +- noise.
    assert obs[0, 0] < -0.5 < 0.5 < obs[1, 0]
    for k in range(5):
        obs, reward, done, info = env.step(np.ones((2, 3), bool))
        assert reward.shape == (2,) and done == (k == 4)
