"""Benchmark of the whole model: campus-video with its digital agents vs without (issue 15).

For each user count N the campus-video preset is scaled as the preset itself is proportioned
(20 users, 2 cells, 1 edge server on 1200 m x 800 m): N / 10 cells, one edge server per 20
users (so every user keeps the preset's edge computing, 10 Gcycles/s per 20 users), the area
grown with the cell count as in ``world.py`` (same density), the 100 m street grid. Each N is run
twice, each time in a fresh single-threaded subprocess (OMP / OpenBLAS / MKL threads 1,
``scenario.torch_threads`` 1), for ``--seconds`` of network time:

* ``das``: the preset as it is (scheme ``proposed``): level-one DAs (DCC factor selection,
  personalised QoE fits, B/C emulation, demand), edge orchestrators (BDQN scheduler training
  in the DAs' emulator, BDQN + SLSQP / water-filling allocation every 10 s) and the level-two
  slicing controller with its game players;
* ``bare``: the same scenario with ``scenario.digital_agents = false``: the same world, the same
  video service (playback, swipes, MOS feedback) and the same QoS reports to the edge servers,
  but no level-one or level-two DA and no orchestrator, so every user keeps the initial equal
  scheduling weight. (Scheme ``wo-da`` is *not* a no-DA run: its DAs still exist and run round
  robin and greedy slicing.)

Printed per N: user-slots/s of both (users x slots / seconds spent in ``model.step()``), their
ratio (the DAs' slowdown), peak RSS (``getrusage`` of each child), the child's wall time and its
start-up (process spawn to the first slot: interpreter, imports — for ``das`` including the DA
components and torch — and building the model). Then, for the ``das`` runs, the share of the
stepping time per DA component. Shares come from timers the child wraps around named functions
at run time (module attributes and class methods are replaced in the child process only; no
model code changes), each slice of time going to the innermost running component:

==================  ==========================================================================
component           functions
==================  ==========================================================================
DCC                 ``policies.qoe.factors.select_factors`` (distance-correlation tests)
fits                ``policies.qoe.prior.fit_with_prior``, ``policies.qoe.models.fit_qoe_model``,
                    ``construct_qoe_model``
emulation+demand    ``policies.qoe.emulation.emulate_bc``, ``decide_update``,
                    ``policies.qoe.demand.predict_demand``, ``sla_demand``,
                    ``policies.qoe.bandwidth.qoe_bandwidth_slope``
sched training      ``policies.scheduling.orchestrate.train_scheduler`` (emulator episodes,
                    their SLSQP / equal splits, BDQN gradient steps)
scheduling          ``policies.scheduling.orchestrate.orchestrate`` (online BDQN + user split)
game                ``agents.slicing_controller.SlicingController.act``,
                    ``agents.level_two.LevelTwoDA.act`` (windows, demand abstraction, the
                    slicing game and its players)
DA other            the rest of ``agents.level_one.LevelOneDA.act`` and
                    ``agents.orchestrator.EdgeOrchestrator.act`` (inboxes, histories, messages)
world+rest          everything else in ``model.step()``: physics, video, bus, users, data
==================  ==========================================================================

A run that does not finish within ``--timeout`` seconds of wall time is killed and printed as
``> N s``, with how far it got. ``--profile DIR`` also writes a cProfile of every ``das`` child
(``DIR/model-<N>-das.prof``; profiled runs are slower, so their timings are not comparable).

The learners alone (meta-iterations/s of MAML / FOMAML / Reptile beside a plain-numpy
implementation) are ``runs/benchmarks/meta.py``; ``make bench`` runs world, meta and this.
Run: ``.venv/bin/python runs/benchmarks/model.py [--users 100 1000 10000] [--seconds 300]
[--timeout 1800]``.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

# This file is called model.py: run as a script, its folder comes first on sys.path and would
# shadow the project's ``model`` package, so drop it (the package is installed in the venv).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

USERS_PER_CELL = 10  # campus-video: 20 users, 2 cells
USERS_PER_EDGE = 20  # campus-video: 20 users, 1 edge server of 10 Gcycles/s
AREA_PER_CELL = 1200.0 * 800.0 / 2
MAX_USERS = 1_000_000
PROGRESS_EVERY_S = 5.0  # a child reports its progress this often (wall seconds)

# (component, "module:qualname") — see the module docstring; order = printed column order
COMPONENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DCC", ("policies.qoe.factors:select_factors",)),
    (
        "fits",
        (
            "policies.qoe.prior:fit_with_prior",
            "policies.qoe.models:fit_qoe_model",
            "policies.qoe.models:construct_qoe_model",
        ),
    ),
    (
        "emulation+demand",
        (
            "policies.qoe.emulation:emulate_bc",
            "policies.qoe.emulation:decide_update",
            "policies.qoe.demand:predict_demand",
            "policies.qoe.demand:sla_demand",
            "policies.qoe.bandwidth:qoe_bandwidth_slope",
        ),
    ),
    ("sched training", ("policies.scheduling.orchestrate:train_scheduler",)),
    ("scheduling", ("policies.scheduling.orchestrate:orchestrate",)),
    (
        "game",
        ("agents.slicing_controller:SlicingController.act", "agents.level_two:LevelTwoDA.act"),
    ),
    ("DA other", ("agents.level_one:LevelOneDA.act", "agents.orchestrator:EdgeOrchestrator.act")),
)
SHARE_COLUMNS = (*(name for name, _ in COMPONENTS), "world+rest")


def scale(n_users: int) -> tuple[int, int]:
    """(cells, edge servers) for ``n_users``, in the preset's proportions."""
    return max(2, round(n_users / USERS_PER_CELL)), max(1, round(n_users / USERS_PER_EDGE))


def scenario_overrides(n_users: int, seconds: float, das: bool) -> dict:
    cells, edges = scale(n_users)
    side = math.sqrt(cells * AREA_PER_CELL / 1.5)
    return {
        "scenario.digital_agents": das,
        "scenario.duration_s": float(seconds),
        "scenario.torch_threads": 1,
        "users.count": n_users,
        "base_stations.count": cells,
        "edge.count": edges,
        "area.width_m": round(max(1200.0, 1.5 * side), 1),
        "area.height_m": round(max(800.0, side), 1),
        # the preset's 100 m grid, coarsened only if the area would exceed ~200 x 300 streets
        "area.block_m": round(max(100.0, side / 200.0), 1),
        "output.record_users": False,
    }


# ------------------------------------------------------------------ component timers ------
class _Timers:
    """Exclusive time per component: each slice of time goes to the innermost running one."""

    def __init__(self) -> None:
        self.total = {name: 0.0 for name, _ in COMPONENTS}
        self.calls = {name: 0 for name, _ in COMPONENTS}
        self.stack: list[list] = []  # [component, start, time spent in nested components]

    def wrap(self, name: str, fn):  # noqa: ANN001, ANN202
        timers = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            frame = [name, time.perf_counter(), 0.0]
            timers.stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                timers.stack.pop()
                spent = time.perf_counter() - frame[1]
                timers.total[name] += spent - frame[2]
                timers.calls[name] += 1
                if timers.stack:
                    timers.stack[-1][2] += spent

        timed.__bench_original__ = fn
        return timed


def _owner(target: str) -> tuple[object, str]:
    """(module or class holding the function, attribute name) of ``"module:qualname"``."""
    mod_name, qual = target.split(":")
    owner: object = importlib.import_module(mod_name)
    if "." in qual:
        cls, qual = qual.split(".")
        owner = getattr(owner, cls)
    return owner, qual


def _rebind(old: object, new: object) -> None:
    """Replace ``old`` by ``new`` in every loaded module (every ``from m import fn`` made)."""
    for mod in list(sys.modules.values()):
        space = getattr(mod, "__dict__", None)
        if isinstance(space, dict):
            for key, value in list(space.items()):
                if value is old:
                    setattr(mod, key, new)


def install_timers() -> tuple[_Timers, list[str]]:
    """Wrap every component function wherever it is bound (importing it first); returns the
    timers and the targets not found (renamed or removed: those are not timed)."""
    timers, missing = _Timers(), []
    for name, targets in COMPONENTS:
        for target in targets:
            try:
                owner, attr = _owner(target)
                original = vars(owner)[attr]
            except (ImportError, AttributeError, KeyError, ValueError):
                missing.append(target)
                continue
            wrapped = timers.wrap(name, original)
            setattr(owner, attr, wrapped)
            if isinstance(owner, type(sys)):
                _rebind(original, wrapped)
    return timers, missing


def remove_timers() -> None:
    """Undo :func:`install_timers` in this process."""
    for _, targets in COMPONENTS:
        for target in targets:
            try:
                owner, attr = _owner(target)
            except (ImportError, AttributeError, ValueError):
                continue
            wrapped = vars(owner).get(attr)
            original = getattr(wrapped, "__bench_original__", None)
            if original is not None:
                setattr(owner, attr, original)
                if isinstance(owner, type(sys)):
                    _rebind(wrapped, original)


# ------------------------------------------------------------------ the child -------------
def _child(n_users: int, seconds: float, das: bool, spawned: float, profile: str | None) -> None:
    t0 = time.perf_counter()
    from model.config import load_scenario
    from model.network_model import NetworkModel

    timers, missing = install_timers() if das else (None, [])
    import_s = time.perf_counter() - t0
    cfg = load_scenario("campus-video", scenario_overrides(n_users, seconds, das))
    t1 = time.perf_counter()
    model = NetworkModel(cfg)
    build_s = time.perf_counter() - t1
    startup_s = time.time() - spawned
    total = int(model.n_slots)
    every = max(1, total // 20)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t2 = time.perf_counter()
    stop = threading.Event()

    def report() -> None:  # how far the run got, every few seconds (for a run that times out)
        while not stop.wait(PROGRESS_EVERY_S):
            done = {"progress": int(model.steps), "of": total, "run_s": time.perf_counter() - t2,
                    "startup_s": startup_s, "components_s": dict(timers.total) if timers else {}}
            sys.stdout.write(json.dumps(done) + "\n")
            sys.stdout.flush()

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    while model.running:
        model.step()
        if profiler is not None and model.steps % every == 0:
            profiler.dump_stats(profile)  # keep what a run that times out has profiled so far
            profiler.enable()  # (dumping disables the profiler)
    run_s = time.perf_counter() - t2
    stop.set()
    reporter.join()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    out = {
        "result": True,
        "slots": int(model.steps),
        "run_s": run_s,
        "import_s": import_s,
        "build_s": build_s,
        "startup_s": startup_s,
        "torch_imported": "torch" in sys.modules,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "components_s": timers.total if timers else {},
        "component_calls": timers.calls if timers else {},
        "missing": missing,
    }
    print(json.dumps(out), flush=True)


def _spawn(n: int, seconds: float, das: bool, timeout: float, profile: str | None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, __file__, "--child", str(n), str(seconds), "das" if das else "bare",
           repr(time.time())]
    if profile:
        cmd += ["--profile", profile]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        last = lines[-1] if lines else {}
        return {"timeout": True, "wall_s": time.perf_counter() - start, **last}
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        kind = "with" if das else "without"
        sys.exit(f"error: the run {kind} DAs at {n} users failed: {lines[-1]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


# ------------------------------------------------------------------ the table -------------
def _rate(n: int, r: dict) -> float | None:
    return None if r.get("timeout") else n * r["slots"] / r["run_s"]


def _fmt_rate(n: int, r: dict, timeout: float) -> str:
    rate = _rate(n, r)
    return f"> {timeout:g} s" if rate is None else f"{rate:,.0f}"


def _fmt_wall(r: dict, timeout: float) -> str:
    return f"> {timeout:g}" if r.get("timeout") else f"{r['wall_s']:.1f}"


def _fmt_mb(r: dict) -> str:
    return "—" if r.get("timeout") else f"{r['peak_rss_mb']:,.0f}"


def _fmt_startup(r: dict) -> str:
    return "—" if "startup_s" not in r else f"{r['startup_s']:.1f}"


def _shares(r: dict) -> list[float] | None:
    """Shares of the stepping time (of the slots done so far, for a run that timed out)."""
    if "components_s" not in r or not r.get("run_s"):
        return None
    comp = r["components_s"]
    parts = [100 * comp.get(name, 0.0) / r["run_s"] for name, _ in COMPONENTS]
    return [*parts, max(0.0, 100.0 - sum(parts))]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (no usage block)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def _check(args: argparse.Namespace) -> str | None:
    bad = [n for n in args.users if not 1 <= n <= MAX_USERS]
    if bad:
        return f"--users {bad[0]}: users must be 1..{MAX_USERS}"
    if not 1 <= args.seconds <= 1e7:
        return f"--seconds {args.seconds:g}: network time must be 1..1e7 s"
    if not args.timeout > 0:
        return f"--timeout {args.timeout:g}: must be positive (seconds of wall time per run)"
    if args.profile is not None and not Path(args.profile).is_dir():
        return f"--profile {args.profile}: not a directory"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = _Parser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100, 1000, 10_000])
    ap.add_argument("--seconds", type=float, default=300.0, help="network time per run")
    ap.add_argument("--timeout", type=float, default=1800.0, help="wall seconds per child")
    ap.add_argument("--profile", metavar="DIR", help="also write DIR/model-<N>-das.prof")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        n, seconds, kind, spawned = args.child
        _child(int(n), float(seconds), kind == "das", float(spawned), args.profile)
        return 0
    problem = _check(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    head = (f"{'users':>7} {'cells':>6} {'edges':>5} {'DAs u-slot/s':>13} {'bare u-slot/s':>14} "
            f"{'slowdown':>8} {'DAs MB':>7} {'bare MB':>7} {'DAs wall s':>10} "
            f"{'bare wall s':>11} {'DAs start s':>11} {'bare start s':>12}")
    print(f"campus-video, {args.seconds:g} s of network time; each run in a fresh "
          f"single-threaded process (timeout {args.timeout:g} s)")
    print(head, flush=True)
    runs = []
    for n in args.users:
        prof = str(Path(args.profile) / f"model-{n}-das.prof") if args.profile else None
        das = _spawn(n, args.seconds, True, args.timeout, prof)
        bare = _spawn(n, args.seconds, False, args.timeout, None)
        runs.append((n, das, bare))
        cells, edges = scale(n)
        rd, rb = _rate(n, das), _rate(n, bare)
        ratio = f"{rb / rd:.1f}" if rd and rb else "—"
        print(f"{n:>7} {cells:>6} {edges:>5} {_fmt_rate(n, das, args.timeout):>13} "
              f"{_fmt_rate(n, bare, args.timeout):>14} {ratio:>8} {_fmt_mb(das):>7} "
              f"{_fmt_mb(bare):>7} {_fmt_wall(das, args.timeout):>10} "
              f"{_fmt_wall(bare, args.timeout):>11} {_fmt_startup(das):>11} "
              f"{_fmt_startup(bare):>12}", flush=True)
    print()
    print("share of the DA run's stepping time per component, %")
    print(f"{'users':>7} " + " ".join(f"{c:>{max(6, len(c))}}" for c in SHARE_COLUMNS))
    for n, das, _ in runs:
        shares = _shares(das)
        cells = [("—" if shares is None else f"{s:.1f}") for s in (shares or SHARE_COLUMNS)]
        mark = "*" if das.get("timeout") else ""
        print(f"{n:>7} " + " ".join(f"{v:>{max(6, len(c))}}" for v, c in
                                   zip(cells, SHARE_COLUMNS, strict=True)) + mark)
    if any(das.get("timeout") for _, das, _ in runs):
        print("* timed out: shares of the slots it completed")
    for n, das, bare in runs:
        for kind, r in (("with", das), ("without", bare)):
            if r.get("timeout"):
                got = (f"{r['progress']} of {r['of']} slots done after {r['run_s']:.0f} s of "
                       f"stepping ({n * r['progress'] / r['run_s']:,.0f} user-slots/s until then; "
                       f"start-up {r['startup_s']:.1f} s)"
                       if "progress" in r else "still starting up")
                print(f"note: {n} users {kind} DAs timed out after {args.timeout:g} s: {got}")
        if das.get("missing"):
            print(f"note: component functions not found (not timed): {', '.join(das['missing'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
