"""Functional gradient-based meta learning: MAML, first-order MAML and Reptile.

Implements the meta training loop of seed 003, Sec. II ("Preliminaries of fast model
adaptation"): a meta model is distributed to I individual learners, each adapts it with a few
gradient steps on first-round data (the *support* loss), evaluates the *adaptation loss* on
second-round data (the *query* loss) and returns its gradient w.r.t. the meta parameters; the
meta learner descends along the average. Footnote 1 of the seed: Reptile skips the second
round and uses the scaled parameter difference instead.

References:
    Finn, Abbeel, Levine, "Model-Agnostic Meta-Learning for Fast Adaptation of Deep
    Networks", ICML 2017 (MAML and its first-order approximation, FOMAML).
    Nichol, Achiam, Schulman, "On First-Order Meta-Learning Algorithms", arXiv:1803.02999,
    2018 (Reptile).

Parameters live outside the module as a ``Params`` dict and are evaluated with
``torch.func.functional_call``, so one ``nn.Module`` serves as the architecture of the meta
model and of every individual model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from policies.meta.names import ALGORITHMS, OUTER_OPTIMIZERS

if TYPE_CHECKING:
    from policies.meta.params import MetaParams

Params = dict[str, Tensor]
LossFn = Callable[[Params], Tensor]
Algorithm = Literal["maml", "fomaml", "reptile"]


def params_of(module: nn.Module) -> Params:
    """Copy a module's parameters into a fresh ``Params`` dict.

    Args:
        module: Any ``nn.Module``.

    Returns:
        Detached clones (leaf tensors) with ``requires_grad=True``, keyed by parameter name.
    """
    return {name: p.detach().clone().requires_grad_(True) for name, p in module.named_parameters()}


def detach_params(params: Mapping[str, Tensor]) -> Params:
    """Return detached leaf clones with ``requires_grad=True`` (a new individual model)."""
    return {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}


def forward(module: nn.Module, params: Mapping[str, Tensor], *args: Tensor) -> Tensor:
    """Evaluate ``module`` with the given parameters (buffers come from the module)."""
    return functional_call(module, dict(params), args)


def params_nbytes(params: Mapping[str, Tensor]) -> int:
    """Size of a parameter dict in bytes, as sent in a meta-model message."""
    return int(sum(t.numel() * t.element_size() for t in params.values()))


def _grads(loss: Tensor, params: Params, create_graph: bool) -> Params:
    """Gradient of ``loss`` w.r.t. every entry of ``params``; unused entries get zeros."""
    names = list(params)
    grads = torch.autograd.grad(
        loss, [params[n] for n in names], create_graph=create_graph, allow_unused=True
    )
    return {
        n: torch.zeros_like(params[n]) if g is None else g
        for n, g in zip(names, grads, strict=True)
    }


def adapt(
    module: nn.Module,
    params: Params,
    loss_fn: LossFn,
    steps: int,
    lr: float,
    first_order: bool,
    max_grad_norm: float | None = None,
) -> Params:
    """Inner loop: ``steps`` plain SGD steps on ``loss_fn`` starting from ``params``.

    ``max_grad_norm`` clips each step's gradient to that global L2 norm (the scale factor is
    part of the graph, so MAML differentiates through the clipped step).

    With ``first_order=False`` the graph of every step is kept (``create_graph=True``), so a
    loss at the adapted parameters can be differentiated back through the inner loop (MAML).
    With ``first_order=True`` the inner gradients are constants: the adapted parameters are
    ``params - lr * sum_i g_i`` with ``g_i`` detached, hence d adapted / d params = I and a
    backward pass from the query loss yields the FOMAML gradient (gradient at the adapted
    point).

    Args:
        module: Architecture; only used through ``loss_fn`` (kept for API symmetry).
        params: Starting parameters; must require grad.
        loss_fn: Maps a ``Params`` dict to a scalar support loss.
        steps: Number of inner SGD steps (0 returns ``params`` unchanged).
        lr: Inner step size.
        first_order: Drop second-order terms (FOMAML / Reptile).

    Returns:
        Adapted parameters, still attached to ``params`` by autograd.
    """
    del module  # loss_fn closes over the module; accepted so call sites read naturally
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    current = dict(params)
    for _ in range(steps):
        loss = loss_fn(current)
        grads = _grads(loss, current, create_graph=not first_order)
        if max_grad_norm is not None:
            grads = _clip(grads, max_grad_norm)
        current = {n: p - lr * grads[n] for n, p in current.items()}
    return current


def _clip(grads: Params, max_norm: float) -> Params:
    """``grads`` scaled to global L2 norm <= ``max_norm`` (differentiable)."""
    norm = torch.sqrt(sum((g * g).sum() for g in grads.values()))
    factor = torch.clamp(max_norm / (norm + 1e-12), max=1.0)
    return {n: g * factor for n, g in grads.items()}


def maml_meta_gradient(params: Params, adapted_query_loss: Tensor) -> Params:
    """Gradient of the adaptation (query) loss w.r.t. the meta parameters.

    Exact MAML gradient (with Hessian-vector terms) if the adapted parameters came from
    ``adapt(..., first_order=False)``; the first-order approximation (query gradient at the
    adapted point) if they came from ``adapt(..., first_order=True)``.

    Returns:
        Detached gradient tensors keyed like ``params``.
    """
    return {n: g.detach() for n, g in _grads(adapted_query_loss, params, False).items()}


def reptile_direction(params: Mapping[str, Tensor], adapted: Mapping[str, Tensor]) -> Params:
    """Reptile update direction ``adapted - params`` (detached), per Nichol et al. 2018."""
    return {n: (adapted[n] - params[n]).detach() for n in params}


def average_params(items: Sequence[Mapping[str, Tensor]]) -> Params:
    """Element-wise mean of a non-empty list of parameter-shaped dicts."""
    if not items:
        raise ValueError("cannot average an empty list of parameter dicts")
    return {n: torch.stack([it[n].detach() for it in items]).mean(dim=0) for n in items[0]}


class MetaLearner:
    """A meta model plus its outer optimiser (the cloud twin's meta learning agent).

    One meta iteration (seed 003, Sec. II): for each of I sampled tasks call
    :meth:`task_update` (done by the edge twins), then :meth:`meta_update` with the I results.

    Attributes:
        module: Architecture used with ``functional_call``.
        params: Meta parameters (leaf tensors updated in place by the outer optimiser).
        algorithm: "maml", "fomaml" or "reptile".
    """

    def __init__(
        self,
        module: nn.Module,
        algorithm: Algorithm | str = "maml",
        inner_lr: float = 0.01,
        inner_steps: int = 1,
        meta_lr: float = 1e-3,
        outer_optimizer: str = "adam",
        max_grad_norm: float | None = None,
        normalise_losses: bool = False,
        inner_max_grad_norm: float | None = None,
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        if outer_optimizer not in OUTER_OPTIMIZERS:
            raise ValueError(
                f"outer_optimizer must be one of {OUTER_OPTIMIZERS}, got {outer_optimizer!r}"
            )
        self.module = module
        self.algorithm: str = algorithm
        self.inner_lr = float(inner_lr)
        self.inner_steps = int(inner_steps)
        self.meta_lr = float(meta_lr)
        self.outer_optimizer = outer_optimizer
        if max_grad_norm is not None and not max_grad_norm > 0.0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {max_grad_norm!r}")
        self.max_grad_norm = None if max_grad_norm is None else float(max_grad_norm)
        self.normalise_losses = bool(normalise_losses)
        if inner_max_grad_norm is not None and not inner_max_grad_norm > 0.0:
            raise ValueError(
                f"inner_max_grad_norm must be > 0 or None, got {inner_max_grad_norm!r}")
        self.inner_max_grad_norm = (None if inner_max_grad_norm is None
                                    else float(inner_max_grad_norm))
        self.params: Params = params_of(module)
        self._opt = _outer_optimizer(outer_optimizer, list(self.params.values()), self.meta_lr)

    @classmethod
    def from_params(cls, module: nn.Module, cfg: MetaParams) -> MetaLearner:
        """Build a learner from a :class:`~policies.meta.params.MetaParams` config section.

        ``max_grad_norm`` (0 or absent: off) and ``normalise_losses`` are read when the section
        has them.
        """
        clip = float(getattr(cfg, "max_grad_norm", 0.0) or 0.0)
        inner_clip = float(getattr(cfg, "inner_max_grad_norm", 0.0) or 0.0)
        return cls(
            module,
            algorithm=cfg.algorithm,
            inner_lr=cfg.inner_lr,
            inner_steps=cfg.inner_steps,
            meta_lr=cfg.meta_lr,
            outer_optimizer=cfg.outer_optimizer,
            max_grad_norm=clip if clip > 0.0 else None,
            normalise_losses=bool(getattr(cfg, "normalise_losses", False)),
            inner_max_grad_norm=inner_clip if inner_clip > 0.0 else None,
        )

    def clone(self) -> Params:
        """Detached copy of the meta parameters (initial point of an individual model)."""
        return detach_params(self.params)

    def adapt(
        self, loss_fn: LossFn, params: Params | None = None, steps: int | None = None
    ) -> Params:
        """Meta adaptation of an individual model (first-order, result detached).

        Args:
            loss_fn: Individual loss on the task's data.
            params: Starting point; defaults to a clone of the meta parameters.
            steps: Number of SGD steps; defaults to ``inner_steps``.

        Returns:
            Adapted parameters as fresh leaf tensors.
        """
        start = self.clone() if params is None else detach_params(params)
        n = self.inner_steps if steps is None else steps
        return detach_params(adapt(self.module, start, loss_fn, n, self.inner_lr, True,
                                   self.inner_max_grad_norm))

    def task_update(self, support_loss_fn: LossFn, query_loss_fn: LossFn) -> tuple[Params, float]:
        """Work of one individual learner for one sampled task.

        Returns:
            ``(update, query_loss)`` where ``update`` is the adaptation-loss gradient (MAML,
            FOMAML) or the Reptile direction ``adapted - meta``, and ``query_loss`` is the
            adaptation loss at the adapted parameters.
        """
        if self.normalise_losses:
            with torch.no_grad():
                scale = float(support_loss_fn(self.params).abs().clamp_min(1e-12))
            support_loss_fn = _scaled(support_loss_fn, scale)
            query_loss_fn = _scaled(query_loss_fn, scale)
            update, q = self._task_update(support_loss_fn, query_loss_fn)
            return update, q * scale
        return self._task_update(support_loss_fn, query_loss_fn)

    def task_updates(self, loss: Callable[[Params, Any], Tensor], support: Any,
                     query: Any, batched: bool = False) -> tuple[Params, Tensor]:
        """All tasks of a meta iteration at once (vectorised with ``torch.func.vmap``).

        Args:
            loss: Pure task loss ``loss(params, batch) -> scalar`` of one task (vmapped), or
                with ``batched`` a loss of all tasks at once (stacked params -> ``(tasks,)``).
            support: First-round data of every task (tensor or pytree, tasks on dim 0).
            query: Second-round data, same layout.
            batched: See ``loss``.

        Returns:
            ``(updates, query_losses)``: per-task updates stacked on dim 0 (same meaning as
            :meth:`task_update`) and the per-task adaptation losses, shape ``(tasks,)``.
        """
        from policies.meta.batched import batched_task_updates

        return batched_task_updates(loss, self.params, support, query, self.algorithm,
                                    self.inner_lr, self.inner_steps, self.normalise_losses,
                                    batched)

    def mse_task_updates(self, support: tuple[Tensor, Tensor], query: tuple[Tensor, Tensor]
                         ) -> tuple[Params, Tensor]:
        """:meth:`task_updates` for the loss ``mean((module(x) - y)^2)`` (regression tasks).

        A ``Linear (ReLU Linear)*`` module takes the closed-form path of
        :mod:`policies.meta.relu_mlp` (same updates, no autograd tape); any other module, or
        ``normalise_losses``, the generic vmap path.
        """
        from policies.meta.relu_mlp import relu_mlp_layers, relu_mlp_task_updates

        if relu_mlp_layers(self.module) is not None and not self.normalise_losses:
            return relu_mlp_task_updates(self.module, self.params, support, query,
                                         self.algorithm, self.inner_lr, self.inner_steps)
        module = self.module

        def loss(params: Params, batch: tuple[Tensor, Tensor]) -> Tensor:
            return torch.mean((forward(module, params, batch[0]) - batch[1]) ** 2)

        return self.task_updates(loss, support, query)

    def _task_update(self, support_loss_fn: LossFn, query_loss_fn: LossFn
                     ) -> tuple[Params, float]:
        if self.algorithm == "reptile":
            start = self.clone()
            adapted = adapt(self.module, start, support_loss_fn, self.inner_steps,
                            self.inner_lr, True, self.inner_max_grad_norm)
            with torch.no_grad():
                q = float(query_loss_fn(adapted))
            return reptile_direction(start, adapted), q
        first_order = self.algorithm == "fomaml"
        adapted = adapt(self.module, self.params, support_loss_fn, self.inner_steps,
                        self.inner_lr, first_order, self.inner_max_grad_norm)
        query = query_loss_fn(adapted)
        return maml_meta_gradient(self.params, query), float(query.detach())

    def meta_update(self, updates: Sequence[Mapping[str, Tensor]]) -> None:
        """Average the per-task updates and apply one outer optimiser step.

        For MAML/FOMAML the average is a gradient to descend; for Reptile it is a direction
        to move along, so it enters the optimiser as the negative gradient (with SGD this is
        exactly ``meta += meta_lr * mean(adapted - meta)``).
        """
        self.meta_step(average_params(updates))

    def meta_update_stacked(self, updates: Mapping[str, Tensor]) -> None:
        """:meth:`meta_update` for updates stacked on dim 0 (from :meth:`task_updates`)."""
        self.meta_step({n: u.detach().mean(dim=0) for n, u in updates.items()})

    def meta_step(self, mean: Mapping[str, Tensor]) -> None:
        """One outer optimiser step along an averaged update (clipped if configured)."""
        if self.max_grad_norm is not None:
            from policies.meta.batched import clip_global_norm

            mean = clip_global_norm(mean, self.max_grad_norm)
        sign = -1.0 if self.algorithm == "reptile" else 1.0
        self._opt.zero_grad(set_to_none=True)
        for n, p in self.params.items():
            p.grad = sign * mean[n].to(p.dtype)
        self._opt.step()

    def state_dict(self) -> Params:
        """Meta parameters as detached tensors, ready to ship in a message."""
        return {n: p.detach().clone() for n, p in self.params.items()}

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Overwrite the meta parameters in place (keeps the optimiser bound to them).

        Raises:
            KeyError: if the key sets differ.
        """
        if set(state) != set(self.params):
            missing = sorted(set(self.params) ^ set(state))
            raise KeyError(f"state dict keys do not match the meta parameters: {missing}")
        with torch.no_grad():
            for n, p in self.params.items():
                p.copy_(state[n])


def _outer_optimizer(name: str, params: list[Tensor], lr: float) -> torch.optim.Optimizer:
    """Adam (the fused single-kernel path: a fraction of foreach Adam's per-call dispatch
    for small networks; same update up to rounding) or plain SGD."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError):  # a dtype/device without a fused kernel
        return torch.optim.Adam(params, lr=lr)


def _scaled(loss_fn: LossFn, scale: float) -> LossFn:
    """``params -> loss_fn(params) / scale``."""

    def scaled(params: Params) -> Tensor:
        return loss_fn(params) / scale

    return scaled


def adaptation_loss_converged(losses: Sequence[float], window: int, tol: float) -> bool:
    """Whether meta training has converged (seed Sec. II: the average adaptation loss).

    Compares the means of the last two disjoint windows of per-iteration average adaptation
    losses; converged when their relative change is at most ``tol``.

    Args:
        losses: Average adaptation loss of each meta iteration so far, oldest first.
        window: Window length (iterations).
        tol: Relative tolerance.

    Returns:
        False until ``2 * window`` losses exist.
    """
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if len(losses) < 2 * window:
        return False
    prev = sum(losses[-2 * window : -window]) / window
    last = sum(losses[-window:]) / window
    return abs(last - prev) <= tol * max(abs(prev), 1e-12)
