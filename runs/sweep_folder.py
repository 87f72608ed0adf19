"""The sweep folder: manifest, atomic JSON, run folders, completeness, the lock, failures.

Layout::

    .twinslice-output the marker of a twinslice output folder (``runs.outdir``)
    sweep.json        manifest, written first: scenario, overrides, grid, seeds, runs
    runs/<run_id>/    one folder per run, written atomically by ``runs.simulate.run_scenario``
    failures.json     every failed attempt (run id, attempt, kind, error)
    results.parquet   one row per run (``runs.report``)
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runs.sweep import SweepPlan

MANIFEST = "sweep.json"
FAILURES = "failures.json"
RESULTS = "results.parquet"
RUNS_DIR = "runs"
LOCK = ".sweep.lock"


class SweepError(Exception):
    """A sweep that cannot start (bad folder, busy folder, missing backend): one-line message."""


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` via a temporary sibling and ``os.replace`` (never half-written)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2) + "\n")  # unsorted: the grid's order matters
    os.replace(tmp, path)


def read_json(path: Path, default: Any = None) -> Any:
    """The JSON document at ``path``, or ``default`` when there is none."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


def run_folder(folder: Path, run_id: str) -> Path:
    """Where run ``run_id`` of the sweep in ``folder`` writes its outputs."""
    return folder / RUNS_DIR / run_id


def is_complete(run_dir: Path, digest: str) -> bool:
    """A run is complete when its folder has summary.json with the expected config digest."""
    summary = read_json(run_dir / "summary.json")
    return isinstance(summary, dict) and summary.get("config_digest") == digest


def _check_same_sweep(folder: Path, plan: SweepPlan) -> None:
    old = read_json(folder / MANIFEST, {})
    for name, value in plan.inputs().items():
        before = old.get(name)
        if name == "grid" and isinstance(before, dict):  # the order of keys numbers the points
            before, value = list(before.items()), list(value.items())
        if before != value:
            raise SweepError(
                f"{folder}: holds a different sweep ({name} differs); use another --out"
            )


def remove_stale_temporaries(folder: Path) -> None:
    """Hidden temporaries of runs killed mid-write (``run_scenario`` renames only when done)."""
    for entry in (folder / RUNS_DIR).glob(".*"):
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def check_folder(folder: Path, plan: SweepPlan, resume: bool, force: bool = False) -> str:
    """May this sweep write into ``folder``, and how? (Checked before anything is created.)

    Whether the folder is twinslice's at all is :mod:`runs.outdir`'s check; this one is about
    the sweep it holds.

    Returns:
        ``"resume"`` (the same sweep, ``resume``), ``"replace"`` (a sweep, ``force``) or
        ``"new"`` (no sweep manifest there).

    Raises:
        SweepError: the folder holds another sweep (with ``resume``), or a sweep and neither
            ``resume`` nor ``force``.
    """
    if not (folder / MANIFEST).is_file():
        return "new"
    if resume:
        _check_same_sweep(folder, plan)
        return "resume"
    if force:
        return "replace"
    raise SweepError(
        f"{folder}: already holds a sweep; add --resume to continue it, --force to start "
        "it afresh, or choose another --out"
    )


def open_folder(folder: Path, plan: SweepPlan) -> set[str]:
    """Write the manifest, drop temporaries of killed runs; returns the complete run ids.

    Call with the folder's :class:`FolderLock` held.
    """
    (folder / RUNS_DIR).mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / MANIFEST, plan.manifest())
    remove_stale_temporaries(folder)
    return {r.run_id for r in plan.runs if is_complete(run_folder(folder, r.run_id), r.digest)}


class FolderLock:
    """An exclusive ``flock`` on ``.sweep.lock`` so two sweeps never write one folder at once.

    The kernel drops the lock when its process ends, however it ends: no stale locks.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK
        self._handle: Any = None

    def __enter__(self) -> FolderLock:
        self._handle = self.path.open("w")
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._handle.close()
            raise SweepError(f"{self.path.parent}: another sweep is running here") from None
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()  # closing releases the lock


class FailureLog:
    """``failures.json``: every failed attempt of every session, rewritten atomically."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FAILURES
        self.records: list[dict[str, Any]] = read_json(self.path, [])

    def add(self, record: dict[str, Any]) -> None:
        """Append one failed attempt and persist at once (the driver may be killed next)."""
        self.records.append(record)
        write_json_atomic(self.path, self.records)
