"""Reproduce Fig. 6 of seed 003: training from scratch vs transfer vs meta learning on task 1.

Seed 003, Sec. IV: PPO models for task 1 (mu(k) = 5 MHz) trained over 500 epochs of 10
episodes (K = 75 slots): PPO-random (from scratch), PPO-TL (pre-trained on task 2, mu = 7 MHz,
then trained on task 1) and PPO-ML (a meta model trained over random-mu tasks, then adapted on
task 1). Panel (a): average total reward per episode; panel (b): policy entropy.

Protocol (per seed s, all from one root seed split with ``SeedSequence.spawn``):

1. One initial network theta_s (common to every scheme of seed s).
2. PPO-random on task 1 and PPO-random on task 2 (the TL source), ``epochs`` each.
3. Reptile meta training from theta_s over random-mu tasks (:mod:`policies.rl.meta_ppo`).
4. PPO-TL (from the task-2 model) and PPO-ML (from the meta model) on task 1, ``epochs`` each.

Every step runs all seeds (and schemes) as one stacked population, one batched rollout per
epoch. Nothing here is tuned toward the paper: ``summary.json`` states which of the seed's
qualitative claims hold in this run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from policies.rl.cav_env import cav_slot, greedy_action, initial_state, task_pattern
from policies.rl.cav_gym import CavBatchEnv
from policies.rl.cav_params import CavParams
from policies.rl.meta_ppo import MetaPPOParams, meta_train_ppo
from policies.rl.ppo import PPOParams, PPOTrainer, make_policy
from policies.rl.ppo_net import Params, params_of, stack_params, unstack_params

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)

SCHEMES = ("PPO-random", "PPO-TL", "PPO-ML")
SOURCE = "PPO-random (task 2, TL source)"


@dataclass(frozen=True, slots=True)
class Fig6Settings:
    """Sizes of the experiment (full mode = the seed's numbers)."""

    epochs: int = 500
    episodes_per_epoch: int = 10
    oracle_episodes: int = 200
    cav: CavParams = field(default_factory=CavParams)
    ppo: PPOParams = field(default_factory=PPOParams)
    meta: MetaPPOParams = field(default_factory=MetaPPOParams)


def settings_for(quick: bool) -> Fig6Settings:
    """Full mode (seed Sec. IV sizes) or a quick smoke-test mode (a few tiny epochs)."""
    if not quick:
        return Fig6Settings()
    meta = MetaPPOParams(meta_iterations=2, tasks_per_round=2, episodes_per_task=2, inner_epochs=1)
    return Fig6Settings(epochs=4, episodes_per_epoch=2, oracle_episodes=4, meta=meta)


def _streams(rng_seed: int) -> dict[str, tuple[np.random.Generator, torch.Generator]]:
    """The seeding block: one (numpy, torch) generator pair per phase, from one root seed."""
    names = ("init", "scratch", "meta", "adaptation", "oracle")
    out = {}
    for name, ss in zip(names, np.random.SeedSequence(rng_seed).spawn(len(names)), strict=True):
        torch_seed = int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
        out[name] = (np.random.default_rng(ss), torch.Generator().manual_seed(torch_seed))
    return out


def _train_population(
    module: torch.nn.Module,
    starts: list[Params],
    tasks: list[str],
    cfg: Fig6Settings,
    gens: tuple[np.random.Generator, torch.Generator],
    tick: Callable[[], None],
) -> tuple[np.ndarray, np.ndarray, list[Params]]:
    """Train len(starts) independent PPO runs on their tasks; curves are (epochs, runs)."""
    env = CavBatchEnv(cfg.cav, gens[0])
    mu = np.stack([np.tile(task_pattern(t, cfg.cav), (cfg.episodes_per_epoch, 1)) for t in tasks])
    trainer = PPOTrainer(module, stack_params(starts), cfg.ppo, gens[1])
    rewards, entropies = [], []
    for _ in range(cfg.epochs):
        stats = trainer.train_epoch(env, mu)
        rewards.append(stats.reward)
        entropies.append(stats.entropy)
        tick()
    final = trainer.snapshot()
    return (
        np.asarray(rewards),
        np.asarray(entropies),
        [unstack_params(final, r) for r in range(len(starts))],
    )


def greedy_oracle_reward(
    cav: CavParams, task: str, episodes: int, rng: np.random.Generator
) -> float:
    """Mean episode reward of the myopic per-slot oracle (a reference line, not a scheme)."""
    state = initial_state(np.tile(task_pattern(task, cav), (episodes, 1)), cav, rng)
    total = np.zeros(episodes)
    for _ in range(cav.slots_per_episode):
        reward, state, _ = cav_slot(state, greedy_action(state, cav), cav, rng)
        total += reward
    return float(total.mean())


def _frame(curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Long table (epoch, scheme, seed, reward, entropy); epochs count from 1."""
    rows = []
    for scheme, (reward, entropy) in curves.items():
        epochs, seeds = reward.shape
        rows.append(
            pd.DataFrame(
                {
                    "epoch": np.repeat(np.arange(1, epochs + 1), seeds),
                    "scheme": scheme,
                    "seed": np.tile(np.arange(seeds), epochs),
                    "reward": reward.ravel(),
                    "entropy": entropy.ravel(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along axis 0 (shorter windows at the start)."""
    c = np.cumsum(np.asarray(x, float), axis=0)
    out = c.copy()
    out[window:] = c[window:] - c[:-window]
    counts = np.minimum(np.arange(1, len(x) + 1), window).reshape(-1, *([1] * (x.ndim - 1)))
    return out / counts


def _at(curve: np.ndarray, epoch: int) -> float | None:
    """Seed-mean value at a 1-based epoch, or None if the run is shorter."""
    return float(curve[epoch - 1].mean()) if epoch <= len(curve) else None


def summarise(curves: dict[str, tuple[np.ndarray, np.ndarray]], oracle: float) -> dict[str, Any]:
    """Rewards at epochs 10 / 50 / final, convergence speed and the seed's claims.

    "final" is the mean of the last 10% of epochs (at least 1); convergence is the first epoch
    at which a scheme's seed-mean reward, smoothed over ``max(1, epochs // 50)`` epochs,
    reaches 90% of PPO-random's final reward (``final - 0.1 |final|`` if that is negative).
    """
    epochs = len(curves["PPO-random"][0])
    tail, window = max(1, epochs // 10), max(1, epochs // 50)
    final_random = float(curves["PPO-random"][0][-tail:].mean())
    threshold = final_random - 0.1 * abs(final_random)
    out: dict[str, Any] = {
        "threshold_90pct_random_final": threshold,
        "greedy_oracle_reward_task1": oracle,
        "schemes": {},
    }
    for scheme, (reward, entropy) in curves.items():
        smooth = _smooth(reward.mean(axis=1), window)
        hit = np.flatnonzero(smooth >= threshold)
        out["schemes"][scheme] = {
            "reward_epoch_1": _at(reward, 1),
            "reward_epoch_10": _at(reward, 10),
            "reward_epoch_50": _at(reward, 50),
            "reward_final": float(reward[-tail:].mean()),
            "reward_final_per_seed": reward[-tail:].mean(axis=0).tolist(),
            "entropy_epoch_1": _at(entropy, 1),
            "entropy_final": float(entropy[-tail:].mean()),
            "epochs_to_90pct_random_final": int(hit[0]) + 1 if hit.size else None,
        }
    s = out["schemes"]
    inf = float("inf")
    speed = {k: s[k]["epochs_to_90pct_random_final"] or inf for k in SCHEMES}
    out["claims"] = {
        "ML converges faster than TL": speed["PPO-ML"] < speed["PPO-TL"],
        "ML final within 5% of random final": abs(s["PPO-ML"]["reward_final"] - final_random)
        <= 0.05 * abs(final_random),
        "TL final below ML final": s["PPO-TL"]["reward_final"] < s["PPO-ML"]["reward_final"],
        "TL initial entropy below ML initial entropy": s["PPO-TL"]["entropy_epoch_1"]
        < s["PPO-ML"]["entropy_epoch_1"],
    }
    return out


def _meta_tail(reward: np.ndarray, entropy: np.ndarray) -> dict[str, float | None]:
    """Inner-loop reward and meta-policy entropy over the last 10% of meta iterations."""
    if len(reward) == 0:
        return {"final_inner_reward": None, "final_meta_entropy": None}
    tail = max(1, len(reward) // 10)
    return {
        "final_inner_reward": float(reward[-tail:].mean()),
        "final_meta_entropy": float(entropy[-tail:].mean()),
    }


def plot_fig6(curves: dict[str, tuple[np.ndarray, np.ndarray]], oracle: float, path: Path) -> None:
    """Two panels, seed mean (smoothed) with a +-1 std band across seeds."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = len(curves["PPO-random"][0])
    window = max(1, epochs // 50)
    x = np.arange(1, epochs + 1)
    for scheme in SCHEMES:
        for ax, data in zip(axes, curves[scheme], strict=True):
            sm = _smooth(data, window)
            mean, std = sm.mean(axis=1), sm.std(axis=1)
            (line,) = ax.plot(x, mean, label=scheme)
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    axes[0].axhline(oracle, color="grey", ls="--", lw=1, label="myopic oracle")
    axes[0].set(
        xlabel="training epoch",
        ylabel="average total reward per episode",
        title=f"(a) reward (moving average over {window} epochs)",
    )
    axes[1].set(
        xlabel="training epoch", ylabel="policy entropy (nats per pair)", title="(b) policy entropy"
    )
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def reproduce_fig6(
    out_dir: Path, quick: bool = False, seeds: int = 3, rng_seed: int = 0, progress: bool = True
) -> dict:
    """Run the Fig. 6 experiment; write fig6.png, fig6.csv and summary.json to ``out_dir``.

    Args:
        out_dir: Output folder (created).
        quick: A few tiny epochs instead of the seed's 500 x 10 x 75 (for tests).
        seeds: Independent seeds per scheme (bands in the figure).
        rng_seed: Root seed of every random stream.
        progress: Show a tqdm progress bar.

    Returns:
        The summary written to summary.json.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    torch.set_num_threads(1)
    cfg = settings_for(quick)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gens = _streams(rng_seed)
    obs_dim = cfg.cav.n_pairs * 6
    module = make_policy(obs_dim, cfg.cav.n_pairs, cfg.ppo, gens["init"][1])
    inits = [
        params_of(make_policy(obs_dim, cfg.cav.n_pairs, cfg.ppo, gens["init"][1]))
        for _ in range(seeds)
    ]
    timing: dict[str, float] = {}
    total = 2 * cfg.epochs + cfg.meta.meta_iterations
    with tqdm(total=total, desc="fig6", disable=not progress) as bar:
        t0 = time.perf_counter()
        rew, ent, finals = _train_population(
            module,
            inits + inits,
            ["task1"] * seeds + ["task2"] * seeds,
            cfg,
            gens["scratch"],
            lambda: bar.update(1),
        )
        t1 = time.perf_counter()
        meta_params, meta_hist = meta_train_ppo(
            module,
            inits,
            cfg.cav,
            cfg.ppo,
            cfg.meta,
            *gens["meta"],
            on_iteration=lambda _: bar.update(1),
        )
        t2 = time.perf_counter()
        rew3, ent3, _ = _train_population(
            module,
            finals[seeds:] + meta_params,
            ["task1"] * (2 * seeds),
            cfg,
            gens["adaptation"],
            lambda: bar.update(1),
        )
        t3 = time.perf_counter()
    oracle = greedy_oracle_reward(cfg.cav, "task1", cfg.oracle_episodes, gens["oracle"][0])
    timing = {
        "scratch_and_source_s": t1 - t0,
        "meta_training_s": t2 - t1,
        "adaptation_s": t3 - t2,
        "total_s": time.perf_counter() - t0,
    }
    s = seeds
    curves = {
        "PPO-random": (rew[:, :s], ent[:, :s]),
        "PPO-TL": (rew3[:, :s], ent3[:, :s]),
        "PPO-ML": (rew3[:, s:], ent3[:, s:]),
        SOURCE: (rew[:, s:], ent[:, s:]),
    }
    _frame(curves).to_csv(out_dir / "fig6.csv", index=False)
    plot_fig6(curves, oracle, out_dir / "fig6.png")
    summary = summarise(curves, oracle)
    summary.update(
        {
            "mode": "quick" if quick else "full",
            "seeds": seeds,
            "rng_seed": rng_seed,
            "epochs": cfg.epochs,
            "episodes_per_epoch": cfg.episodes_per_epoch,
            "slots_per_episode": cfg.cav.slots_per_episode,
            "timing": timing,
            "meta_training": {
                **asdict(cfg.meta),
                **_meta_tail(meta_hist.reward, meta_hist.entropy),
            },
            "ppo": asdict(cfg.ppo),
        }
    )
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
