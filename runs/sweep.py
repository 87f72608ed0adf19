"""Batch runs over scenarios: grid expansion, run plans, the sweep folder and its manifest.

A sweep is the cartesian product of ``--grid`` values times ``--seeds`` seeds. Seeds are
derived from the scenario's own seed by ``seed_k = scenario.seed + k`` (k = 0 .. N-1): simple to
reproduce by hand and the same list ``mesa.batch_run(..., rng=sweep_seeds(seed, N))`` takes.
Every run is a pure function of its resolved config, so the results do not depend on the
backend or the number of workers.

Layout of a sweep folder::

    sweep.json        manifest, written first: scenario, overrides, grid, seeds, runs
    runs/<run_id>/    one folder per run, written atomically by ``runs.simulate.run_scenario``
    failures.json     every failed attempt (run id, attempt, kind, error)
    results.parquet   one row per run: grid parameters, seed, run_id, status, summary metrics

The folder's files (manifest, lock, failures, completeness) are handled by
``runs.sweep_folder``; execution (local processes, Ray) lives in ``runs.sweep_backends``; the
results table and the report in ``runs.report``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model.config import ConfigError, ScenarioConfig, load_scenario, parse_override, with_overrides
from runs import outdir
from runs.outdir import DEFAULT_OUT, OutDirError, safe_name
from runs.sweep_folder import (
    FailureLog,
    FolderLock,
    check_folder,
    is_complete,
    open_folder,
    remove_stale_temporaries,
    run_folder,
)

SEED_RULE = "seed_k = scenario.seed + k"


# -- grid ------------------------------------------------------------------------------------
def _split_top_level(raw: str) -> list[str]:
    """Split on commas that are not inside brackets, braces or quotes (TOML arrays survive)."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(raw[start:i])
            start = i + 1
    parts.append(raw[start:])
    return [p.strip() for p in parts]


def parse_grid_arg(text: str) -> tuple[str, list[Any]]:
    """Parse one ``--grid section.key=v1,v2`` into its key and values (TOML literals).

    Raises:
        ConfigError: naming the key, for a malformed key, an empty or a repeated value.
    """
    if "=" not in text:
        raise ConfigError(f"{text}: a grid must look like section.key=v1,v2")
    key, raw = (part.strip() for part in text.split("=", 1))
    values = []
    for item in _split_top_level(raw):
        if not item:
            raise ConfigError(f"{key}: empty value in grid {raw!r}")
        _, value = parse_override(f"{key}={item}")
        if value in values:
            raise ConfigError(f"{key}: value {item} listed twice in the grid")
        values.append(value)
    if key == "scenario.seed":
        raise ConfigError("scenario.seed: do not grid the seed; use --seeds N (seed_k = seed + k)")
    return key, values


def parse_grid(items: Iterable[str]) -> dict[str, list[Any]]:
    """Parse every ``--grid`` argument into an ordered ``{dotted key: values}`` mapping."""
    grid: dict[str, list[Any]] = {}
    for text in items:
        key, values = parse_grid_arg(text)
        if key in grid:
            raise ConfigError(f"{key}: given in two --grid arguments; list all values in one")
        grid[key] = values
    return grid


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The cartesian product of the grid, first key slowest; ``[{}]`` for an empty grid."""
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def sweep_seeds(base_seed: int, n: int) -> list[int]:
    """The seeds of a sweep: ``base_seed + k`` for k in 0 .. n-1 (see module docstring)."""
    return [int(base_seed) + k for k in range(n)]


def batch_parameters(
    grid: Mapping[str, Sequence[Any]],
    base: Mapping[str, Any] | None = None,
    scenario: str | Path | None = None,
) -> dict[str, list[Any]]:
    """``mesa.batch_run`` parameters for a grid: dotted keys become ``section__key`` keywords.

    Args:
        grid: swept dotted keys and their values (as from :func:`parse_grid`).
        base: fixed dotted-key overrides (what ``--set`` gives a sweep).
        scenario: preset name or TOML path, passed as NetworkModel's ``scenario`` keyword.

    Returns:
        A mapping of NetworkModel keywords to lists of values; fixed values become one-element
        lists so a TOML array value is never mistaken for several values.
    """
    params: dict[str, list[Any]] = {}
    if scenario is not None:
        params["scenario"] = [str(scenario)]
    for key, value in (base or {}).items():
        params[key.replace(".", "__", 1)] = [value]
    for key, values in grid.items():
        params[key.replace(".", "__", 1)] = list(values)
    return params


# -- plan ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its id, grid point, seed and fully resolved config."""

    run_id: str
    point: int
    params: dict[str, Any]
    seed: int
    config: dict[str, dict[str, Any]]
    digest: str

    def entry(self) -> dict[str, Any]:
        """The manifest entry of this run (no full config: that is in its config.toml)."""
        return {
            "run_id": self.run_id,
            "point": self.point,
            "params": self.params,
            "seed": self.seed,
            "digest": self.digest,
        }


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep will run, validated before anything is written."""

    scenario: str
    scenario_name: str
    overrides: tuple[str, ...]
    seed: int | None
    grid: dict[str, list[Any]]
    seeds: list[int]
    runs: list[RunSpec]

    def inputs(self) -> dict[str, Any]:
        """What identifies the sweep (compared on ``--resume``)."""
        return {
            "scenario": self.scenario_name,
            "overrides": list(self.overrides),
            "grid": self.grid,
            "seeds": self.seeds,
        }

    def key(self) -> str:
        """Short stable hash of the inputs (names the default sweep folder)."""
        blob = json.dumps(self.inputs()).encode()  # grid order matters: it numbers the points
        return hashlib.sha256(blob).hexdigest()[:10]

    def manifest(self) -> dict[str, Any]:
        """The ``sweep.json`` document."""
        return {
            "version": 1,
            "source": self.scenario,
            **self.inputs(),
            "seed_rule": SEED_RULE,
            "runs": [run.entry() for run in self.runs],
        }

    def default_folder(self) -> Path:
        """``runs/out/sweeps/<scenario>-<key>`` (git-ignored; the same inputs find it again)."""
        return DEFAULT_OUT / "sweeps" / f"{safe_name(self.scenario_name)}-{self.key()}"


def _resolve_run(base: ScenarioConfig, point: Mapping[str, Any], seed: int) -> ScenarioConfig:
    try:
        return with_overrides(base, {**point, "scenario.seed": seed})
    except ConfigError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
        raise ConfigError(f"{exc} (grid point {shown})") from None


def plan_sweep(
    scenario: str | Path,
    grid: Mapping[str, Sequence[Any]],
    n_seeds: int,
    overrides: Sequence[str] = (),
    seed: int | None = None,
) -> SweepPlan:
    """Resolve and validate every run of a sweep (grid points x seeds) before any runs.

    Raises:
        ConfigError: naming the key, for any bad override, grid key or grid value.
    """
    if n_seeds < 1:
        raise ConfigError(f"--seeds: need at least one seed, got {n_seeds}")
    base = load_scenario(scenario, list(overrides), seed)
    seeds = sweep_seeds(base.seed, n_seeds)
    points = expand_grid(grid)
    width = max(3, len(str(len(points) - 1)))
    runs = []
    for index, point in enumerate(points):
        for seed_k in seeds:
            cfg = _resolve_run(base, point, seed_k)
            runs.append(
                RunSpec(
                    f"p{index:0{width}d}-s{seed_k}",
                    index,
                    dict(point),
                    seed_k,
                    cfg.to_dict(),
                    cfg.digest(),
                )
            )
    return SweepPlan(
        str(scenario),
        base.scenario.name,
        tuple(overrides),
        seed,
        {k: list(v) for k, v in grid.items()},
        seeds,
        runs,
    )


# -- running a sweep ------------------------------------------------------------------------------
@dataclasses.dataclass
class SweepOutcome:
    """What a sweep session left on disk: runs by final status."""

    folder: Path
    total: int
    ok: int
    failed: list[str]
    pending: int
    skipped: int
    interrupted: bool = False


def make_backend(name: str, workers: int | None, address: str | None = None) -> Any:
    """A ``local`` or ``ray`` backend (``runs.sweep_backends``) with ``workers`` slots."""
    from runs.sweep_backends import LocalBackend
    from runs.sweep_ray import RayBackend

    if name == "ray":
        return RayBackend(workers, address)
    return LocalBackend(workers or os.cpu_count() or 1)


class _Progress:
    """The tqdm bar (ETA, failures in the postfix) and the failure log of one session."""

    def __init__(
        self, total: int, done: int, failures: FailureLog, backend: str, quiet: bool
    ) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=total, initial=done, unit="run", desc="sweep", disable=quiet, dynamic_ncols=True
        )
        self.failures, self.backend, self.quiet, self.failed_attempts = failures, backend, quiet, 0

    def __call__(self, kind: str, task: Any, result: dict[str, Any] | None) -> None:
        if kind in ("ok", "gave-up"):
            self.bar.update(1)
        if kind != "failed" or result is None:
            return
        self.failed_attempts += 1
        self.failures.add(
            {
                "run_id": task.run_id,
                "attempt": task.attempts,
                "kind": result["kind"],
                "error": result["error"],
                "traceback": result.get("traceback"),
                "backend": self.backend,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
        self.bar.set_postfix(failures=self.failed_attempts)
        if not self.quiet:
            self.bar.write(
                f"run {task.run_id} failed (attempt {task.attempts}, "
                f"{result['kind']}): {result['error']}"
            )


def _tasks(plan: SweepPlan, folder: Path, skip: set[str]) -> list[Any]:
    from runs.sweep_backends import Task, injections_from_env

    inject = injections_from_env()
    return [
        Task(r.run_id, r.config, r.digest, run_folder(folder, r.run_id), inject.get(r.run_id))
        for r in plan.runs
        if r.run_id not in skip
    ]


def check_sweep_target(
    folder: Path | str, plan: SweepPlan, resume: bool, force: bool
) -> tuple[Path, str]:
    """Where the sweep goes and how: ``"new"``, ``"resume"`` (in place) or ``"replace"``.

    Changes nothing on disk. Raises :class:`OutDirError` for a folder that is not
    twinslice's, :class:`runs.sweep_folder.SweepError` for another sweep or a sweep without
    ``--resume``/``--force``.
    """
    target = outdir.normalise(folder)
    if outdir.inspect(target) != "marked":
        return target, "new"
    how = check_folder(target, plan, resume, force)
    if how == "new" and not force:  # twinslice's, but not a sweep (a run, a figure)
        raise OutDirError(
            f"--out {target}: holds earlier twinslice output that is not a sweep; "
            "add --force to replace it or choose another --out"
        )
    if how != "resume":
        with FolderLock(target):  # not while another sweep is running there
            pass
        return target, "replace"
    return target, "resume"


def run_sweep(
    plan: SweepPlan,
    folder: Path | str,
    *,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    retries: int = 1,
    resume: bool = False,
    quiet: bool = True,
    force: bool = False,
    on_start: Callable[[], None] | None = None,
) -> SweepOutcome:
    """Run every run of ``plan`` not yet complete in ``folder``; write the results table.

    The folder is checked (:mod:`runs.outdir`: never a folder twinslice did not write) and the
    backend started before anything is written. A new sweep (or one replacing an earlier sweep,
    ``force``) is written into a hidden temporary sibling and renamed into place when the
    session ends — complete, with failed runs, or interrupted; ``resume`` continues a sweep in
    place. Ctrl-C stops the workers, keeps every completed run and returns with
    ``interrupted`` set; the same sweep with ``resume=True`` finishes it.

    Raises:
        SweepError: the folder holds another sweep, or a sweep and neither resume nor force.
        OutDirError: the folder is not twinslice's, or cannot be created or written.
        BackendUnavailable: Ray is not installed or cannot be reached.

    ``on_start`` is called once the folder is staged, just before the first run.
    """
    from runs.sweep_ray import import_ray

    if backend == "ray":
        import_ray()
    target, how = check_sweep_target(folder, plan, resume, force)
    todo = [
        r
        for r in plan.runs
        if how != "resume" or not is_complete(run_folder(target, r.run_id), r.digest)
    ]
    runner = make_backend(backend, workers, address) if todo else None
    try:
        with outdir.stage(
            target, "sweep", replace=how == "replace", in_place=how == "resume"
        ) as staging:
            if on_start is not None:  # the folder is usable: the work starts now
                on_start()
            try:
                with FolderLock(staging.path):
                    outcome = _run_locked(plan, staging.path, runner, retries, quiet)
            finally:
                if runner is not None:
                    runner.close()
                    runner = None
            outcome.folder = staging.commit()
            return outcome
    finally:
        if runner is not None:
            runner.close()


def _run_locked(
    plan: SweepPlan, folder: Path, runner: Any, retries: int, quiet: bool
) -> SweepOutcome:
    from runs.report import write_results
    from runs.sweep_backends import execute

    complete = open_folder(folder, plan)
    tasks = _tasks(plan, folder, complete)
    progress = _Progress(
        len(plan.runs), len(complete), FailureLog(folder), getattr(runner, "name", "-"), quiet
    )
    interrupted, attempted, inflight = False, {}, {}
    try:
        attempted = execute(tasks, runner, retries, progress, inflight) if tasks else {}
    except KeyboardInterrupt:
        interrupted = True
        runner.close(kill=True, pending=list(inflight))
    finally:
        progress.bar.close()
        remove_stale_temporaries(folder)  # of runs whose workers were killed mid-write
    status = write_results(folder)["status"]
    return SweepOutcome(
        folder,
        len(plan.runs),
        int((status == "ok").sum()),
        sorted(k for k, v in attempted.items() if v == "failed"),
        int((status == "pending").sum()),
        len(complete),
        interrupted,
    )
