"""Benchmark of batch sweeps (issue "Batch runs over scenarios", item 6).

Runs the same sweep (the default scenario, ``--runs`` seeds, no grid) with local worker processes
at each ``--workers`` count, then with the Ray backend on this machine at the largest count, and
prints runs per minute and the Ray overhead against local workers. Ray start-up (``ray.init``) is
timed apart from the sweep itself. Every sweep writes to a fresh temporary folder; the per-run
cost includes spawning workers and writing outputs, as a user sees it.

Timings on a shared machine are noisy: run it on an idle one for numbers you quote. Run:
``.venv/bin/python runs/benchmarks/sweep.py [--duration 300] [--runs 4] [--workers 1 2]
[--repeat 2] [--no-ray] [--set key=value ...]``. The Ray overhead is against the fastest local
sweep at the same worker count.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import sys
import time
from pathlib import Path

# runs/benchmarks/model.py shares this folder: run as a script, the folder comes first on
# sys.path and its model.py would shadow the project's ``model`` package, so drop it.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

from runs.sweep import plan_sweep, run_sweep


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_sweep(plan, backend: str, workers: int) -> tuple[float, int, float]:
    """(wall seconds, completed runs, CPU seconds of reaped workers) of one sweep.

    The CPU seconds count local worker processes once they exit (not Ray's workers); on a
    shared machine they are a steadier measure of cost than wall time.
    """
    with tempfile.TemporaryDirectory(prefix="twinslice-bench-") as tmp:
        cpu0, t0 = _children_cpu_s(), time.perf_counter()
        outcome = run_sweep(plan, Path(tmp) / "sweep", backend=backend, workers=workers)
        return time.perf_counter() - t0, outcome.ok, _children_cpu_s() - cpu0


def ray_rows(plan, workers: int, local_s: float) -> list[dict]:
    """Start Ray on loopback (timed), run the sweep on it, stop Ray."""
    try:
        import ray
    except ImportError:
        print("ray is not installed: Ray rows skipped")
        return []
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t0 = time.perf_counter()
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        logging_level="WARNING",
    )
    startup = time.perf_counter() - t0
    try:
        wall, ok, _ = timed_sweep(plan, "ray", workers)
    finally:
        ray.shutdown()
    n = len(plan.runs)
    return [
        {
            "backend": "ray",
            "workers": workers,
            "runs": ok,
            "wall_s": wall,
            "runs_per_min": 60 * ok / wall,
            "startup_s": startup,
            "overhead_per_run_s": (wall - local_s) / n,
        }
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="campus-video")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        help="scenario.duration_s of every run (default: the scenario's own)",
    )
    parser.add_argument("--runs", type=int, default=4, help="runs per sweep (seeds)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure the local sweeps this many times (interleaved)",
    )
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    return parser.parse_args(argv)


def print_table(rows: list[dict]) -> None:
    """One line per measurement."""
    print(
        f"{'backend':8s} {'workers':>7s} {'runs':>5s} {'wall_s':>8s} {'runs/min':>9s} "
        f"{'cpu/run_s':>9s} {'startup_s':>9s} {'overhead/run_s':>14s}"
    )
    for r in rows:
        cpu = f"{r['cpu_per_run_s']:.2f}" if "cpu_per_run_s" in r else "-"
        startup = f"{r['startup_s']:.1f}" if "startup_s" in r else "-"
        overhead = f"{r['overhead_per_run_s']:+.2f}" if "overhead_per_run_s" in r else "-"
        print(
            f"{r['backend']:8s} {r['workers']:7d} {r['runs']:5d} {r['wall_s']:8.1f} "
            f"{r['runs_per_min']:9.2f} {cpu:>9s} {startup:>9s} {overhead:>14s}"
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    overrides = list(args.overrides)
    if args.duration is not None:
        overrides.append(f"scenario.duration_s={args.duration}")
    plan = plan_sweep(args.scenario, {}, args.runs, overrides)
    print(
        f"{args.scenario} {' '.join(overrides)}: {len(plan.runs)} runs per sweep, "
        f"{os.cpu_count()} cores (shared machines give noisy numbers)"
    )
    rows, local = [], {}
    for _ in range(args.repeat):
        for workers in args.workers:
            wall, ok, cpu = timed_sweep(plan, "local", workers)
            local[workers] = min(wall, local.get(workers, wall))
            rows.append(
                {
                    "backend": "local",
                    "workers": workers,
                    "runs": ok,
                    "wall_s": wall,
                    "runs_per_min": 60 * ok / wall,
                    "cpu_per_run_s": cpu / max(ok, 1),
                }
            )
    if not args.no_ray:
        top = max(args.workers)
        rows += ray_rows(plan, top, local[top])
    print_table(rows)


if __name__ == "__main__":
    main()
