"""Closed-form meta-gradients of ReLU MLPs under MSE, all tasks at once (no autograd tape).

For the small regressors of the sinusoid family (Finn et al. 2017, Sec. 5.1) the cost of a
meta iteration is torch's per-operation overhead, and autograd's double backward adds nodes
on top. Here the per-task gradients are written out (backpropagation through
``Linear -> ReLU -> ... -> Linear`` on stacked per-task parameters, batched matmuls) and the
exact MAML meta-gradient is the product of the inner steps' Jacobians applied backwards,

    u <- grad L_q(theta_k);  for j = k-1 .. 0:  u <- u - lr * H_s(theta_j) u,

with each Hessian-vector product ``H_s u`` computed exactly by Pearlmutter's R-operator
(ReLU is piecewise linear, so its second derivative is zero wherever it is differentiable --
the same convention as autograd). Results equal
:func:`policies.meta.batched.batched_task_updates` (tested to float64 rounding); any other
architecture or loss uses that generic ``vmap`` path.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

Params = dict[str, Tensor]


def relu_mlp_layers(module: nn.Module) -> list[str] | None:
    """Names of the Linear layers if ``module`` is ``Linear (ReLU Linear)*``, else None."""
    if not isinstance(module, nn.Sequential):
        return None
    children = list(module.named_children())
    kinds = [type(m) for _, m in children]
    ok = (len(children) % 2 == 1 and all(k is nn.Linear for k in kinds[::2])
          and all(k is nn.ReLU for k in kinds[1::2])
          and all(m.bias is not None for m in module if isinstance(m, nn.Linear)))
    return [name for name, _ in children[::2]] if ok else None


def _loss_grad(p: list[Tensor], x: Tensor, y: Tensor, v: list[Tensor] | None = None
               ) -> tuple[Tensor, list[Tensor], list[Tensor] | None]:
    """Per-task MSE, its gradient and (given a direction ``v``) the exact ``H v``.

    ``p = [W1, b1, W2, b2, ...]`` with tasks on dim 0; ``x, y`` are (tasks, K, features).
    """
    n_layers, k = len(p) // 2, x.shape[1]
    acts, r_acts, masks = [x], [None], []
    for i in range(n_layers):
        w, b = p[2 * i], p[2 * i + 1]
        wt = w.transpose(1, 2)
        h = torch.baddbmm(b.unsqueeze(1), acts[-1], wt)
        rh = None
        if v is not None:  # R-forward: R{h} = R{a} W^T + a V^T + c
            rh = torch.baddbmm(v[2 * i + 1].unsqueeze(1), acts[-1], v[2 * i].transpose(1, 2))
            if r_acts[-1] is not None:
                rh = rh.baddbmm_(r_acts[-1], wt)
        if i < n_layers - 1:
            m = h > 0
            masks.append(m)
            acts.append(h * m)
            r_acts.append(None if rh is None else rh * m)
        else:
            out, r_out = h, rh
    res = out - y
    loss = (res * res).mean(dim=(1, 2))
    d = res * (2.0 / (k * y.shape[2]))
    rd = None if r_out is None else r_out * (2.0 / (k * y.shape[2]))
    grads: list[Tensor] = [d] * len(p)
    hv: list[Tensor] | None = None if v is None else [d] * len(p)
    for i in reversed(range(n_layers)):
        a, w, dt = acts[i], p[2 * i], d.transpose(1, 2)
        grads[2 * i], grads[2 * i + 1] = torch.bmm(dt, a), d.sum(dim=1)
        if hv is not None and rd is not None and v is not None:
            hw = torch.bmm(rd.transpose(1, 2), a)
            hv[2 * i] = hw if r_acts[i] is None else hw.baddbmm_(dt, r_acts[i])
            hv[2 * i + 1] = rd.sum(dim=1)
            if i > 0:
                rd = torch.baddbmm(torch.bmm(d, v[2 * i]), rd, w) * masks[i - 1]
        if i > 0:
            d = torch.bmm(d, w) * masks[i - 1]
    return loss, grads, hv


def relu_mlp_task_updates(
    module: nn.Module,
    params: Mapping[str, Tensor],
    support: tuple[Tensor, Tensor],
    query: tuple[Tensor, Tensor],
    algorithm: str,
    inner_lr: float,
    inner_steps: int,
) -> tuple[Params, Tensor]:
    """Per-task MAML / FOMAML / Reptile updates of a ReLU MLP under MSE (tasks on dim 0).

    Same contract as :func:`policies.meta.batched.batched_task_updates` for the loss
    ``mean((module(x) - y)^2)``; ``module`` must satisfy :func:`relu_mlp_layers`.
    """
    layers = relu_mlp_layers(module)
    if layers is None:
        raise ValueError("relu_mlp_task_updates needs an nn.Sequential of Linear/ReLU layers")
    if algorithm not in ("maml", "fomaml", "reptile"):
        raise ValueError(f"algorithm must be maml, fomaml or reptile, got {algorithm!r}")
    names = [f"{n}.{kind}" for n in layers for kind in ("weight", "bias")]
    tasks = support[0].shape[0]
    with torch.no_grad():
        start = [params[n].detach().unsqueeze(0).expand(tasks, *params[n].shape) for n in names]
        path = [start]
        for _ in range(inner_steps):
            _, g, _ = _loss_grad(path[-1], *support)
            path.append([t - inner_lr * gt for t, gt in zip(path[-1], g, strict=True)])
        if algorithm == "reptile":
            q = _loss_grad(path[-1], *query)[0]
            return {n: a - s for n, a, s in zip(names, path[-1], start, strict=True)}, q
        q, u, _ = _loss_grad(path[-1], *query)
        if algorithm == "maml":
            for theta in reversed(path[:-1]):
                hv = _loss_grad(theta, *support, v=u)[2]
                assert hv is not None
                u = [ut - inner_lr * h for ut, h in zip(u, hv, strict=True)]
    return dict(zip(names, u, strict=True)), q
