"""Sinusoid regression: the standard few-shot task family for testing meta learners.

From Finn et al. 2017 (MAML), Sec. 5.1: a task is y = A sin(x - phi) with amplitude
A ~ U[0.1, 5], phase phi ~ U[0, pi], inputs x ~ U[-5, 5], K = 10 shots per task, and a
1-40-40-1 ReLU MLP trained with MSE. Used in tests and docs to check the machinery of
seed 003, Sec. II (meta training and meta adaptation) on a problem with a known answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from policies.meta.batched import stacked_forward
from policies.meta.functional import LossFn, MetaLearner, Params, forward
from policies.meta.params import validate_fields


@dataclass(frozen=True, slots=True)
class SinusoidParams:
    """The sinusoid task distribution and regressor size (Finn et al. 2017, Sec. 5.1)."""

    amplitude_range: tuple[float, float] = field(
        default=(0.1, 5.0), metadata={"doc": "amplitude A ~ U[lo, hi] (Finn 2017)"}
    )
    phase_range: tuple[float, float] = field(
        default=(0.0, math.pi), metadata={"doc": "phase phi ~ U[lo, hi] (Finn 2017)"}
    )
    x_range: tuple[float, float] = field(
        default=(-5.0, 5.0), metadata={"doc": "inputs x ~ U[lo, hi] (Finn 2017)"}
    )
    shots: int = field(
        default=10, metadata={"range": (1, 100_000), "doc": "K, samples per support/query set"}
    )
    hidden: tuple[int, ...] = field(
        default=(40, 40), metadata={"doc": "hidden layer widths of the ReLU MLP (Finn 2017)"}
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        for name in ("amplitude_range", "phase_range", "x_range"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ValueError(f"{name}=({lo}, {hi}) must have lo <= hi")


@dataclass(frozen=True, slots=True)
class SinusoidTask:
    """One regression task y = amplitude * sin(x - phase)."""

    amplitude: float
    phase: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Noise-free targets for inputs ``x``."""
        return self.amplitude * np.sin(x - self.phase)


def sample_task(rng: np.random.Generator, cfg: SinusoidParams = SinusoidParams()) -> SinusoidTask:
    """Draw one task from the sinusoid distribution."""
    return SinusoidTask(
        float(rng.uniform(*cfg.amplitude_range)), float(rng.uniform(*cfg.phase_range))
    )


def sample_batch(
    task: SinusoidTask,
    rng: np.random.Generator,
    shots: int,
    cfg: SinusoidParams = SinusoidParams(),
) -> tuple[Tensor, Tensor]:
    """Draw ``shots`` points of ``task`` as float32 column tensors ``(x, y)``."""
    x = rng.uniform(*cfg.x_range, size=(shots, 1))
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(task(x), dtype=torch.float32)


def make_mlp(hidden: tuple[int, ...], generator: torch.Generator) -> nn.Sequential:
    """A 1-in 1-out ReLU MLP initialised like ``nn.Linear`` but from ``generator``.

    Layers are built on the meta device and materialised empty, so the global torch RNG is
    never touched.
    """
    widths = (1, *hidden, 1)
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        linear = nn.Linear(w_in, w_out, device="meta").to_empty(device="cpu")
        # nn.Linear.reset_parameters: kaiming_uniform(a=sqrt(5)) weights, U(+-1/sqrt(fan_in)) bias
        nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5.0), generator=generator)
        bound = 1.0 / math.sqrt(w_in)
        with torch.no_grad():
            linear.bias.uniform_(-bound, bound, generator=generator)
        layers.append(linear)
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def mse_loss_fn(module: nn.Module, x: Tensor, y: Tensor) -> LossFn:
    """Loss closure ``params -> MSE(module(params, x), y)`` for the functional API."""

    def loss(params: Params) -> Tensor:
        return torch.mean((forward(module, params, x) - y) ** 2)

    return loss


def mse_task_loss(module: nn.Module) -> Callable[[Params, Any], Tensor]:
    """Pure one-task loss ``(params, (x, y)) -> MSE`` (vmapped by the meta learner)."""

    def loss(params: Params, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch
        return torch.mean((forward(module, params, x) - y) ** 2)

    return loss


def mse_tasks_loss(module: nn.Module) -> Callable[[Params, Any], Tensor]:
    """All tasks at once: ``(stacked params, (x, y) stacked) -> (tasks,)`` MSEs.

    For ``MetaLearner.task_updates(..., batched=True)``; evaluates the MLP with
    :func:`policies.meta.batched.stacked_forward`.
    """

    def loss(stacked: Params, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch
        return torch.mean((stacked_forward(module, stacked, x) - y) ** 2, dim=(1, 2))

    return loss


def sample_meta_batch(
    rng: np.random.Generator, tasks: int, cfg: SinusoidParams = SinusoidParams()
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Support and query sets of ``tasks`` fresh tasks, stacked ``(tasks, shots, 1)``.

    Draws in the same order as :func:`meta_train`'s per-task loop (task, support, query).
    """
    sx, sy, qx, qy = [], [], [], []
    for _ in range(tasks):
        task = sample_task(rng, cfg)
        for xs, ys, batch in ((sx, sy, sample_batch(task, rng, cfg.shots, cfg)),
                              (qx, qy, sample_batch(task, rng, cfg.shots, cfg))):
            xs.append(batch[0])
            ys.append(batch[1])
    return (torch.stack(sx), torch.stack(sy)), (torch.stack(qx), torch.stack(qy))


def meta_train(
    learner: MetaLearner,
    rng: np.random.Generator,
    iterations: int,
    tasks_per_round: int,
    cfg: SinusoidParams = SinusoidParams(),
    vectorised: bool = True,
) -> list[float]:
    """Meta-train ``learner`` on sinusoid tasks (seed 003, Sec. II loop).

    Each iteration samples ``tasks_per_round`` tasks, each with independent support and query
    sets of ``cfg.shots`` points (first- and second-round data), and applies one meta update.
    ``vectorised`` computes the tasks' updates in one batch (:meth:`MetaLearner.mse_task_updates`);
    otherwise one :meth:`MetaLearner.task_update` per task (the same data and maths).

    Returns:
        The average query (adaptation) loss of every iteration.
    """
    if vectorised:
        history = []
        for _ in range(iterations):
            support, query = sample_meta_batch(rng, tasks_per_round, cfg)
            updates, q = learner.mse_task_updates(support, query)
            learner.meta_update_stacked(updates)
            history.append(float(q.mean()))
        return history
    history: list[float] = []
    for _ in range(iterations):
        updates, losses = [], []
        for _ in range(tasks_per_round):
            task = sample_task(rng, cfg)
            support = mse_loss_fn(learner.module, *sample_batch(task, rng, cfg.shots, cfg))
            query = mse_loss_fn(learner.module, *sample_batch(task, rng, cfg.shots, cfg))
            update, q = learner.task_update(support, query)
            updates.append(update)
            losses.append(q)
        learner.meta_update(updates)
        history.append(sum(losses) / len(losses))
    return history
