"""Meta training of the PPO policy over random radio patterns: PPO-ML (seed 003, Sec. II, IV).

Seed 003, Sec. IV: "To train a meta model, we create a set of random network environments
associated with random radio resource patterns, by uniformly sampling mu(k) among {5, 6, 7}
MHz." Each meta iteration samples I such tasks; every individual learner starts from the meta
model, adapts to its task, and reports an update to the meta learner (Sec. II).

Algorithms (all through :mod:`policies.meta`):

* ``"reptile"`` (default; Nichol et al. 2018, the seed's footnote 1): the inner loop is
  ordinary PPO -- ``inner_epochs`` epochs of fresh rollouts and Adam minibatch updates -- and
  the meta model moves by ``reptile_step * mean(adapted - meta)``. No second-round data and no
  second derivatives, so all S seeds x I tasks run as one stacked population (see
  :mod:`policies.rl.ppo_net`), which is what makes meta training fit on 2 CPU cores.
* ``"fomaml"`` / ``"maml"`` (Finn et al. 2017; the procedure of seed Sec. II): first-round
  rollout with the meta policy, ``inner_steps`` SGD steps (``inner_lr``) on the PPO loss,
  second-round rollout with the adapted policy, the PPO loss there is the adaptation loss whose
  gradient (first-order or exact) goes to the meta learner's Adam. Run task by task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from policies.meta import ALGORITHMS, MetaLearner, reptile_direction
from policies.meta.params import validate_fields
from policies.rl.cav_env import random_task
from policies.rl.cav_gym import CavBatchEnv
from policies.rl.cav_params import CavParams
from policies.rl.ppo import PPOParams, PPOTrainer, collect_rollout, ppo_loss
from policies.rl.ppo_net import Params, stack_params, unstack_params


@dataclass(frozen=True, slots=True)
class MetaPPOParams:
    """Meta training of PPO (a TOML section)."""

    algorithm: str = field(default="reptile", metadata={
        "choices": ALGORITHMS, "doc": "reptile (default: practical on 2 cores), fomaml or maml"})
    meta_iterations: int = field(default=100, metadata={
        "range": (0, 1_000_000), "doc": "meta iterations (outer steps); budget choice"})
    tasks_per_round: int = field(default=5, metadata={
        "range": (1, 10_000), "doc": "I, random-mu tasks per iteration (model file: ~5)"})
    episodes_per_task: int = field(default=10, metadata={
        "range": (1, 100_000), "doc": "episodes per rollout of a task (seed: 10 per epoch)"})
    inner_epochs: int = field(default=2, metadata={
        "range": (1, 100_000), "doc": "reptile: PPO epochs (rollout + update) per task"})
    reptile_step: float = field(default=0.5, metadata={
        "range": (0.0, 10.0), "doc": "reptile: SGD step along the mean direction (Nichol et "
        "al. anneal 1 -> 0; a constant is used here)"})
    inner_lr: float = field(default=0.1, metadata={
        "range": (0.0, 10.0), "doc": "fomaml/maml: inner SGD step (model file: 0.1)"})
    inner_steps: int = field(default=1, metadata={
        "range": (0, 1000), "doc": "fomaml/maml: inner SGD steps (model file and seed: one)"})
    meta_lr: float = field(default=1e-3, metadata={
        "range": (0.0, 10.0), "doc": "fomaml/maml: outer Adam step (Finn et al. 2017)"})

    def __post_init__(self) -> None:
        validate_fields(self)


@dataclass(frozen=True, slots=True)
class MetaHistory:
    """Per meta iteration and seed: mean episode reward and policy entropy in the inner loop."""

    reward: np.ndarray  # (iterations, S)
    entropy: np.ndarray  # (iterations, S)


def _task_patterns(cav: CavParams, rng: np.random.Generator, tasks: int,
                   episodes: int) -> np.ndarray:
    """(tasks, episodes, K): one random mu pattern per task, shared by its episodes."""
    pats = np.stack([random_task(cav, rng) for _ in range(tasks)])
    return np.repeat(pats[:, None, :], episodes, axis=1)


def _reptile_iteration(module: nn.Module, learners: Sequence[MetaLearner], env: CavBatchEnv,
                       cav: CavParams, hp: PPOParams, mp: MetaPPOParams,
                       generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One Reptile iteration for all seeds at once; returns per-seed (reward, entropy)."""
    n_tasks = mp.tasks_per_round
    start = stack_params([lr.clone() for lr in learners for _ in range(n_tasks)])
    mu = _task_patterns(cav, env.rng, len(learners) * n_tasks, mp.episodes_per_task)
    trainer = PPOTrainer(module, start, hp, generator)  # fresh Adam: a new individual model
    rewards, entropies = [], []
    for _ in range(mp.inner_epochs):
        stats = trainer.train_epoch(env, mu)
        rewards.append(stats.reward)
        entropies.append(stats.entropy)
    adapted = trainer.snapshot()
    for s, learner in enumerate(learners):
        runs = range(s * n_tasks, (s + 1) * n_tasks)
        learner.meta_update([reptile_direction(unstack_params(start, r),
                                               unstack_params(adapted, r)) for r in runs])
    shape = (len(learners), n_tasks)
    return (np.mean(rewards, axis=0).reshape(shape).mean(axis=1),
            entropies[0].reshape(shape).mean(axis=1))


def _rollout_loss(module: nn.Module, env: CavBatchEnv, mu: np.ndarray, hp: PPOParams,
                  generator: torch.Generator, log: list[tuple[float, float]]
                  ) -> Callable[[Params], Tensor]:
    """A loss function that collects a fresh rollout with the parameters it is given."""

    def loss_fn(params: Params) -> Tensor:
        stacked = {n: t.unsqueeze(0) for n, t in params.items()}  # one run, graph kept
        batch, stats = collect_rollout(module, stacked, env, mu[None], hp, generator)
        log.append((float(stats.reward[0]), float(stats.entropy[0])))
        return ppo_loss(module, stacked, batch, hp)

    return loss_fn


def _maml_iteration(module: nn.Module, learners: Sequence[MetaLearner], env: CavBatchEnv,
                    cav: CavParams, hp: PPOParams, mp: MetaPPOParams,
                    generator: torch.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One MAML / FOMAML iteration, task by task (seed Sec. II, first and second round)."""
    rewards, entropies = [], []
    for learner in learners:
        mu = _task_patterns(cav, env.rng, mp.tasks_per_round, mp.episodes_per_task)
        updates: list[Params] = []
        log: list[tuple[float, float]] = []
        for task_mu in mu:
            support = _rollout_loss(module, env, task_mu, hp, generator, log)
            query = _rollout_loss(module, env, task_mu, hp, generator, log)
            updates.append(learner.task_update(support, query)[0])
        learner.meta_update(updates)
        rewards.append(np.mean([r for r, _ in log]))
        entropies.append(np.mean([e for _, e in log]))
    return np.asarray(rewards), np.asarray(entropies)


def meta_train_ppo(module: nn.Module, init: Sequence[Params], cav: CavParams, hp: PPOParams,
                   mp: MetaPPOParams, env_rng: np.random.Generator,
                   generator: torch.Generator,
                   on_iteration: Callable[[int], None] | None = None
                   ) -> tuple[list[Params], MetaHistory]:
    """Meta-train one PPO meta model per initial parameter set (e.g. one per seed).

    Args:
        module: Actor-critic architecture.
        init: Unstacked initial parameters, one per independent meta model.
        cav: Environment constants.
        hp: PPO hyper-parameters (inner loop; ``hp.learning_rate`` for Reptile's Adam).
        mp: Meta training configuration.
        env_rng: numpy Generator for tasks and environment randomness.
        generator: torch Generator for action samples and shuffles.
        on_iteration: Called with the iteration index after each meta iteration.

    Returns:
        The meta parameters (detached, one per ``init``) and the training history.
    """
    learners = []
    for params in init:
        learner = MetaLearner(module, mp.algorithm, mp.inner_lr, mp.inner_steps,  # type: ignore[arg-type]
                              mp.reptile_step if mp.algorithm == "reptile" else mp.meta_lr,
                              "sgd" if mp.algorithm == "reptile" else "adam")
        learner.load_state_dict(params)
        learners.append(learner)
    env = CavBatchEnv(cav, env_rng)
    step = _reptile_iteration if mp.algorithm == "reptile" else _maml_iteration
    rewards, entropies = [], []
    for it in range(mp.meta_iterations):
        r, e = step(module, learners, env, cav, hp, mp, generator)
        rewards.append(r)
        entropies.append(e)
        if on_iteration is not None:
            on_iteration(it)
    shape = (mp.meta_iterations, len(learners))
    history = MetaHistory(np.reshape(rewards, shape), np.reshape(entropies, shape))
    return [lr.state_dict() for lr in learners], history
