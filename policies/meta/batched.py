"""MAML, FOMAML and Reptile for a whole meta-batch of tasks at once (``torch.func.vmap``).

The loop in :class:`policies.meta.functional.MetaLearner.task_update` handles one task per
call. Here the I tasks of a meta iteration are one batched computation: the task loss is a
pure function ``loss(params, batch) -> scalar`` of one task's parameters and data;
``torch.func.vmap`` maps it over a stacked copy of the meta parameters (one slice per task)
and over the tasks' stacked data. Because the tasks do not interact, the gradient of the
*sum* of the I losses w.r.t. the stacked parameters is, slice by slice, each task's own
gradient; ordinary autograd with ``create_graph=True`` keeps the inner steps differentiable,
so the MAML meta-gradient stays exact (Hessian-vector terms included), task by task.

Stability options (all off by default, so the plain algorithms are unchanged):

* ``normalise_losses``: each task's losses are divided by the detached magnitude of its
  support loss at the meta parameters (tasks whose returns differ by orders of magnitude then
  contribute comparable updates; the update is that of ``loss / |loss_0|``);
* :func:`clip_global_norm`: scale an update so its global L2 norm is at most ``max_norm``
  (``MetaLearner(max_grad_norm=...)`` applies it to the averaged update).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

Params = dict[str, Tensor]
TaskLoss = Callable[[Params, Any], Tensor]  # (one task's params, one task's batch) -> scalar
# Elementwise layers an MLP may interleave with nn.Linear on the fast path of stacked_forward.
_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.LeakyReLU, nn.GELU, nn.Identity)


def stacked_forward(module: nn.Module, stacked: Mapping[str, Tensor], x: Tensor) -> Tensor:
    """``module`` evaluated with per-task parameters on per-task inputs (tasks on dim 0).

    Equals ``vmap(lambda p, xi: functional_call(module, p, (xi,)))(stacked, x)``. An
    ``nn.Sequential`` of ``nn.Linear`` and elementwise layers on 3-d inputs (tasks, rows,
    features) runs as batched matmuls directly (the same maths without vmap's per-operation
    dispatch, which dominates for small networks); anything else goes through vmap.
    """
    children = list(module.named_children()) if isinstance(module, nn.Sequential) else []
    mlp = x.dim() == 3 and bool(children) and all(
        isinstance(m, (nn.Linear, *_ELEMENTWISE)) for _, m in children)
    if not mlp:
        return vmap(lambda p, xi: functional_call(module, p, (xi,)))(dict(stacked), x)
    h = x
    for name, layer in children:
        if isinstance(layer, nn.Linear):
            w = stacked[f"{name}.weight"].transpose(1, 2)
            bias = stacked.get(f"{name}.bias")
            h = torch.bmm(h, w) if bias is None else torch.baddbmm(bias.unsqueeze(1), h, w)
        else:
            h = layer(h)
    return h


def stack_copies(params: Mapping[str, Tensor], tasks: int) -> Params:
    """``tasks`` detached copies of ``params`` stacked on dim 0, as leaves requiring grad."""
    return {
        n: p.detach().unsqueeze(0).expand(tasks, *p.shape).clone().requires_grad_(True)
        for n, p in params.items()
    }


def _task_count(batch: Any) -> int:
    leaves = [t for t in torch.utils._pytree.tree_leaves(batch) if isinstance(t, Tensor)]
    if not leaves:
        raise ValueError("a task batch needs at least one tensor (tasks on dim 0)")
    return int(leaves[0].shape[0])


def batched_adapt(loss: TaskLoss, stacked: Params, support: Any, steps: int, lr: float,
                  first_order: bool, scale: Tensor | None = None,
                  batched: bool = False) -> Params:
    """``steps`` SGD steps of every task at once; ``stacked`` has the tasks on dim 0.

    With ``first_order=False`` the graph is kept (``create_graph=True``), so a query loss at
    the result can be differentiated through the inner loop exactly. ``loss`` is a one-task
    loss (vmapped here) unless ``batched``; ``scale`` divides each task's loss.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    per_task = loss if batched else vmap(loss)
    names = list(stacked)
    current = dict(stacked)
    for _ in range(steps):
        values = per_task(current, support)
        total = (values if scale is None else values / scale).sum()
        grads = torch.autograd.grad(total, [current[n] for n in names],
                                    create_graph=not first_order)
        current = {n: current[n] - lr * g for n, g in zip(names, grads, strict=True)}
    return current


def batched_task_updates(
    loss: TaskLoss,
    params: Mapping[str, Tensor],
    support: Any,
    query: Any,
    algorithm: str,
    inner_lr: float,
    inner_steps: int,
    normalise_losses: bool = False,
    batched: bool = False,
) -> tuple[Params, Tensor]:
    """Per-task updates of one meta iteration, all tasks in one vectorised computation.

    Args:
        loss: Pure task loss ``loss(params, batch) -> scalar`` (e.g. built on
            ``torch.func.functional_call``); it sees one task's parameters and data.
        params: Meta parameters (not modified).
        support: First-round data: a tensor or pytree of tensors, tasks on dim 0.
        query: Second-round data, same layout (unused by Reptile except for its loss).
        algorithm: "maml" (exact second order), "fomaml" or "reptile".
        inner_lr: Inner SGD step size.
        inner_steps: Inner SGD steps.
        normalise_losses: Divide each task's losses by its detached ``|support loss|`` at the
            meta parameters (see the module docstring).
        batched: ``loss`` already maps stacked parameters and stacked data to the ``(tasks,)``
            losses (e.g. through :func:`stacked_forward`); otherwise it is vmapped.

    Returns:
        ``(updates, query_losses)``: updates keyed like ``params`` with a leading task
        dimension -- the adaptation-loss gradient for MAML/FOMAML, the direction
        ``adapted - meta`` for Reptile -- and the (unnormalised) query loss of every task at
        its adapted parameters, shape ``(tasks,)``.
    """
    if algorithm not in ("maml", "fomaml", "reptile"):
        raise ValueError(f"algorithm must be maml, fomaml or reptile, got {algorithm!r}")
    stacked = stack_copies(params, _task_count(support))
    per_task = loss if batched else vmap(loss)
    scale = None
    if normalise_losses:
        with torch.no_grad():
            scale = per_task(stacked, support).abs().clamp_min(1e-12)
    adapted = batched_adapt(per_task, stacked, support, inner_steps, inner_lr,
                            first_order=algorithm != "maml", scale=scale, batched=True)
    if algorithm == "reptile":
        with torch.no_grad():
            q = per_task(adapted, query)
        return {n: (adapted[n] - stacked[n]).detach() for n in stacked}, q
    names = list(stacked)
    q = per_task(adapted, query)
    total = (q if scale is None else q / scale).sum()
    wrt = [stacked[n] for n in names] if algorithm == "maml" else [adapted[n] for n in names]
    grads = torch.autograd.grad(total, wrt, allow_unused=True)
    updates = {n: torch.zeros_like(stacked[n]) if g is None else g.detach()
               for n, g in zip(names, grads, strict=True)}
    return updates, q.detach()


def clip_global_norm(update: Mapping[str, Tensor], max_norm: float) -> Params:
    """``update`` scaled so that its global L2 norm is at most ``max_norm`` (unchanged if so)."""
    if not max_norm > 0.0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    norm = torch.sqrt(sum((t.detach().double() ** 2).sum() for t in update.values()))
    factor = min(1.0, float(max_norm) / max(float(norm), 1e-300))
    return {n: t * factor for n, t in update.items()}
