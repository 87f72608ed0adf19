"""The meta benchmark: its numpy reference is the same algorithm as the package (same updates,
float64), and the script runs end to end. Timings are printed, never asserted."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from policies.meta import MetaLearner
from policies.meta.sinusoid import make_mlp, mse_task_loss

SCRIPT = Path(__file__).resolve().parents[2] / "runs" / "benchmarks" / "meta.py"
_spec = importlib.util.spec_from_file_location("bench_meta", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


@pytest.mark.parametrize("algorithm", ["maml", "fomaml", "reptile"])
@pytest.mark.parametrize("steps", [1, 2])
def test_numpy_reference_computes_the_package_updates(algorithm: str, steps: int) -> None:
    torch.set_num_threads(1)
    net = make_mlp(bench.HIDDEN, torch.Generator().manual_seed(0)).double()
    learner = MetaLearner(net, algorithm, bench.INNER_LR, steps)
    (support, query), = bench._tasks(1, 4)
    support = tuple(a.astype(np.float64) for a in support)
    query = tuple(a.astype(np.float64) for a in query)
    as_t = lambda s: tuple(torch.from_numpy(a) for a in s)  # noqa: E731
    updates, q = learner.task_updates(mse_task_loss(net), as_t(support), as_t(query))
    params = [p.detach().numpy().astype(np.float64) for p in learner.params.values()]
    ref, q_ref = bench.np_task_updates(params, support, query, algorithm, steps)
    np.testing.assert_allclose(q.numpy(), q_ref, rtol=1e-12)
    for got, want in zip(updates.values(), ref, strict=True):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-9, atol=1e-12)


def test_benchmark_prints_one_row_per_algorithm() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--iterations", "2", "--tasks", "2",
                          "--algorithms", "maml", "reptile"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].split()[0] == "algorithm"
    assert [row.split()[0] for row in out[1:]] == ["maml", "reptile"]
    assert all(float(row.split()[1].replace(",", "")) > 0 for row in out[1:])


def test_benchmark_rejects_bad_arguments() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--tasks", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: --iterations, --tasks and --steps must be at least 1"]
