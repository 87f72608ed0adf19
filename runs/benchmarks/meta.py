"""Benchmark of the meta learners: MAML / FOMAML / Reptile on the sinusoid benchmark (issue 15).

Finn et al. 2017, Sec. 5.1: 1-40-40-1 ReLU MLP, MSE, K = 10 shots, inner SGD step 0.01, Adam
outer step 1e-3. Two implementations of the same algorithm, each timed in a fresh
single-threaded subprocess over the same pre-drawn tasks (data drawing is not timed):

* ``package``: :meth:`policies.meta.MetaLearner.mse_task_updates` (all tasks of a meta-batch
  in one batched computation; for this ReLU MLP the closed-form path of
  :mod:`policies.meta.relu_mlp`, exact second order for MAML) plus one Adam step, as
  :func:`policies.meta.sinusoid.meta_train` runs it; ``vmap``: the generic ``torch.func``
  vmap + autograd path (:func:`policies.meta.batched.batched_task_updates`) on the same data;
* ``numpy``: a plain-numpy implementation written here (not in the package), vectorised over
  the tasks with batched matmuls; MAML's exact meta-gradient uses Hessian-vector products by
  Pearlmutter's R-operator through every inner step.

Printed per algorithm: meta-iterations/s of the package (closed-form path), of the generic
vmap path and of numpy, and the ratios of time per meta-iteration to numpy. Each figure is the median of three blocks after two warm-up iterations.
Run: ``.venv/bin/python runs/benchmarks/meta.py [--iterations 100] [--tasks 10] [--steps 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# runs/benchmarks/model.py shares this folder: run as a script, the folder comes first on
# sys.path and its model.py would shadow the project's ``model`` package, so drop it.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

import numpy as np

ALGORITHMS = ("maml", "fomaml", "reptile")
HIDDEN, INNER_LR, META_LR, SHOTS = (40, 40), 0.01, 1e-3, 10
REPEATS = 3


# ------------------------------------------------------------------ the numpy reference ----
def np_init(rng: np.random.Generator) -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3] like nn.Linear (uniform +-1/sqrt(fan_in)), float32."""
    widths, out = (1, *HIDDEN, 1), []
    for w_in, w_out in zip(widths[:-1], widths[1:], strict=True):
        bound = 1.0 / np.sqrt(w_in)
        out += [rng.uniform(-bound, bound, (w_out, w_in)).astype(np.float32),
                rng.uniform(-bound, bound, (w_out,)).astype(np.float32)]
    return out


def np_loss_grad(p: list[np.ndarray], x: np.ndarray, y: np.ndarray,
                 v: list[np.ndarray] | None = None) -> tuple[np.ndarray, list, list | None]:
    """Per-task MSE, its gradient and (given a direction ``v``) the Hessian-vector product.

    ``p`` and ``v`` hold per-task parameters (tasks on dim 0); ``x, y`` are (tasks, K, 1).
    """
    n_layers, k = len(p) // 2, x.shape[1]
    acts, r_acts, masks = [x], [np.zeros_like(x)], []
    for i in range(n_layers):
        w, b = p[2 * i], p[2 * i + 1]
        h = acts[-1] @ w.transpose(0, 2, 1) + b[:, None, :]
        rh = None
        if v is not None:
            rh = (r_acts[-1] @ w.transpose(0, 2, 1) + acts[-1] @ v[2 * i].transpose(0, 2, 1)
                  + v[2 * i + 1][:, None, :])
        if i < n_layers - 1:
            m = h > 0
            masks.append(m)
            acts.append(h * m)
            r_acts.append(None if rh is None else rh * m)
        else:
            out, r_out = h, rh
    res = out - y
    loss = (res**2).mean(axis=(1, 2))
    d = 2.0 * res / k
    rd = None if v is None else 2.0 * r_out / k
    grads: list = [None] * len(p)
    hv: list | None = None if v is None else [None] * len(p)
    for i in reversed(range(n_layers)):
        a, w = acts[i], p[2 * i]
        grads[2 * i] = d.transpose(0, 2, 1) @ a
        grads[2 * i + 1] = d.sum(axis=1)
        if hv is not None:
            hv[2 * i] = rd.transpose(0, 2, 1) @ a + d.transpose(0, 2, 1) @ r_acts[i]
            hv[2 * i + 1] = rd.sum(axis=1)
        if i > 0:
            da = d @ w
            if hv is not None:
                rd = (rd @ w + d @ v[2 * i]) * masks[i - 1]
            d = da * masks[i - 1]
    return loss, grads, hv


def np_task_updates(p: list[np.ndarray], support: tuple, query: tuple, algorithm: str,
                    steps: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-task updates (tasks on dim 0) of MAML / FOMAML / Reptile, as in the package."""
    tasks = support[0].shape[0]
    path = [[np.broadcast_to(t, (tasks, *t.shape)).copy() for t in p]]
    for _ in range(steps):
        _, g, _ = np_loss_grad(path[-1], *support)
        path.append([t - INNER_LR * gt for t, gt in zip(path[-1], g, strict=True)])
    if algorithm == "reptile":
        q, _, _ = np_loss_grad(path[-1], *query)
        return [a - s for a, s in zip(path[-1], path[0], strict=True)], q
    q, u, _ = np_loss_grad(path[-1], *query)
    if algorithm == "maml":
        for theta in reversed(path[:-1]):  # u <- (I - lr H_s(theta_j)) u, last step first
            _, _, hv = np_loss_grad(theta, *support, v=u)
            u = [ut - INNER_LR * h for ut, h in zip(u, hv, strict=True)]
    return u, q


class NpAdam:
    """Adam (torch.optim.Adam defaults) on a list of arrays."""

    def __init__(self, params: list[np.ndarray], lr: float) -> None:
        self.p, self.lr, self.t = params, lr, 0
        self.m = [np.zeros_like(t) for t in params]
        self.v = [np.zeros_like(t) for t in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        for i, g in enumerate(grads):
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            m_hat = self.m[i] / (1 - b1**self.t)
            v_hat = self.v[i] / (1 - b2**self.t)
            self.p[i] -= self.lr * m_hat / (np.sqrt(v_hat) + eps)


# ------------------------------------------------------------------ timing ----------------
def _tasks(iterations: int, tasks: int) -> list[tuple[tuple, tuple]]:
    """Pre-drawn sinusoid meta-batches (numpy float32 (tasks, K, 1) arrays)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(iterations):
        amp = rng.uniform(0.1, 5.0, (tasks, 1, 1))
        phase = rng.uniform(0.0, np.pi, (tasks, 1, 1))
        xs, xq = (rng.uniform(-5, 5, (tasks, SHOTS, 1)) for _ in range(2))
        out.append(((xs, amp * np.sin(xs - phase)), (xq, amp * np.sin(xq - phase))))
    return [tuple(tuple(a.astype(np.float32) for a in s) for s in it) for it in out]


def _blocks(step, n: int) -> float:
    """Median seconds per call of ``step(i)`` over REPEATS blocks after 2 warm-up calls."""
    step(0), step(1)
    per = []
    for r in range(REPEATS):
        t0 = time.perf_counter()
        for i in range(n):
            step(r * n + i)
        per.append((time.perf_counter() - t0) / n)
    return float(np.median(per))


def bench_numpy(algorithm: str, iterations: int, tasks: int, steps: int) -> float:
    data = _tasks(REPEATS * iterations, tasks)
    params = np_init(np.random.default_rng(0))
    opt = NpAdam(params, META_LR)
    sign = -1.0 if algorithm == "reptile" else 1.0

    def step(i: int) -> None:
        u, _ = np_task_updates(params, *data[i], algorithm, steps)
        opt.step([sign * t.mean(axis=0) for t in u])

    return _blocks(step, iterations)


def bench_package(algorithm: str, iterations: int, tasks: int, steps: int,
                  generic: bool = False) -> float:
    import torch

    from policies.meta import MetaLearner
    from policies.meta.sinusoid import make_mlp, mse_task_loss

    torch.set_num_threads(1)
    data = [tuple(tuple(torch.from_numpy(a) for a in s) for s in it)
            for it in _tasks(REPEATS * iterations, tasks)]
    net = make_mlp(HIDDEN, torch.Generator().manual_seed(0))
    learner = MetaLearner(net, algorithm, INNER_LR, steps, META_LR)
    loss = mse_task_loss(net)

    def step(i: int) -> None:
        if generic:
            updates, _ = learner.task_updates(loss, *data[i])
        else:
            updates, _ = learner.mse_task_updates(*data[i])
        learner.meta_update_stacked(updates)

    return _blocks(step, iterations)


def _child(args: argparse.Namespace) -> None:
    a = (args.algorithm, args.iterations, args.tasks, args.steps)
    if args.child == "numpy":
        s = bench_numpy(*a)
    else:
        s = bench_package(*a, generic=args.child == "generic")
    print(json.dumps({"s": s}))


def _run_fresh(kind: str, algorithm: str, args: argparse.Namespace) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--child", kind, "--algorithm", algorithm,
           "--iterations", str(args.iterations), "--tasks", str(args.tasks),
           "--steps", str(args.steps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["s"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=100, help="meta-iterations per block")
    ap.add_argument("--tasks", type=int, default=10, help="tasks per meta-iteration")
    ap.add_argument("--steps", type=int, default=1, help="inner SGD steps")
    ap.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    ap.add_argument("--child", choices=("package", "generic", "numpy"), help=argparse.SUPPRESS)
    ap.add_argument("--algorithm", choices=ALGORITHMS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.iterations < 1 or args.tasks < 1 or args.steps < 1:
        print("error: --iterations, --tasks and --steps must be at least 1", file=sys.stderr)
        return 2
    if args.child:
        _child(args)
        return 0
    print(f"{'algorithm':<10} {'package it/s':>13} {'vmap it/s':>10} {'numpy it/s':>11} "
          f"{'ratio':>6} {'vmap ratio':>10}")
    for alg in args.algorithms:
        pkg, gen, ref = (_run_fresh(kind, alg, args) for kind in ("package", "generic", "numpy"))
        print(f"{alg:<10} {1 / pkg:>13,.1f} {1 / gen:>10,.1f} {1 / ref:>11,.1f} "
              f"{pkg / ref:>6.2f} {gen / ref:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
