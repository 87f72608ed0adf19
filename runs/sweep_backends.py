"""Where a sweep's runs execute: local worker processes or a Ray cluster, with retries.

Both backends call the same pure worker function, :func:`execute_run`, on a plain-dict task;
the result depends only on the task's resolved config, never on the backend or the number of
workers. :func:`execute` schedules tasks on a backend, keeps at most ``capacity`` in flight,
retries failed runs and reports every event to the caller. The local backend is here; the Ray
backend is in ``runs.sweep_ray``.

Failures come in two kinds: the run raised (``"exception"``, reported by the worker itself,
with its traceback) or the worker process died (``"worker-died"``: ``os._exit``, a signal, the
OOM killer). A dead worker breaks a whole ``ProcessPoolExecutor``, failing every run in flight
with it; when more than one run was in flight the culprit is unknown, so those runs are put back
uncharged and re-run each in its own one-process pool, where a death names its run.

Test-only failure injection: ``TWINSLICE_SWEEP_FAIL="<run_id>:<mode>[:<n>][,...]"`` makes run
``run_id`` fail on its first ``n`` attempts (every attempt when ``n`` is left out); ``mode`` is
``raise`` (an exception) or ``exit`` (the worker calls ``os._exit``). The driver reads it once
and passes it inside the task, so it works the same on every backend.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

FAIL_ENV = "TWINSLICE_SWEEP_FAIL"
_INJECTED_EXIT = 86
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class BackendUnavailable(Exception):
    """The chosen backend cannot be used here (e.g. Ray is not installed)."""


# -- the worker ------------------------------------------------------------------------------
def _pin_threads() -> None:
    """One thread per worker: parallelism comes from workers, and a fixed thread count keeps
    floating-point reductions (BLAS, torch) identical whatever the number of workers."""
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _worker_init() -> None:
    """Set up a local pool worker.

    Workers ignore Ctrl-C: the driver decides what happens to them. tqdm's default lock is a
    multiprocessing semaphore; a worker killed mid-run (its pool broke) would leak it, so
    workers use a thread lock (their bars are disabled anyway).
    """
    from tqdm import tqdm

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tqdm.set_lock(threading.RLock())
    _pin_threads()


def _inject(mode: str | None) -> None:
    if mode == "raise":
        raise RuntimeError(f"injected failure ({FAIL_ENV})")
    if mode == "exit":
        os._exit(_INJECTED_EXIT)


def _folder_files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def execute_run(task: dict[str, Any]) -> dict[str, Any]:
    """Run one sweep task; a pure function of ``task["config"]`` (picklable in and out).

    With ``task["ship"]`` the outputs come back as ``files`` (relative path -> bytes) for the
    driver to write, so Ray nodes need no shared file system; otherwise ``run_scenario``
    writes them atomically to ``task["run_dir"]``.

    Returns:
        ``{"run_id", "ok": True, "files"}`` or ``{"run_id", "ok": False, "kind", "error",
        "traceback"}`` — exceptions never cross the process boundary.
    """
    _pin_threads()
    try:
        _inject(task.get("inject"))
        from model.config import config_from_dict
        from runs.simulate import run_scenario

        cfg = config_from_dict(task["config"])
        if cfg.digest() != task["digest"]:
            raise RuntimeError(
                f"config digest {cfg.digest()} != {task['digest']}: this worker "
                "runs another version of twinslice than the driver"
            )
        if not task.get("ship"):
            run_scenario(cfg, Path(task["run_dir"]))
            return {"run_id": task["run_id"], "ok": True, "files": None}
        with tempfile.TemporaryDirectory(prefix="twinslice-run-") as tmp:
            out, _ = run_scenario(cfg, Path(tmp) / task["run_id"])
            return {"run_id": task["run_id"], "ok": True, "files": _folder_files(out)}
    except Exception as exc:  # reported to the driver, which records and retries it
        return {
            "run_id": task["run_id"],
            "ok": False,
            "kind": "exception",
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
            "traceback": traceback.format_exc(),
        }


def materialise(run_dir: Path, files: dict[str, bytes]) -> None:
    """Write shipped outputs to ``run_dir`` atomically (hidden sibling, then rename)."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", dir=run_dir.parent))
    try:
        for name, blob in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(blob)
        if run_dir.exists():  # a stale run (its config changed) being replaced
            shutil.rmtree(run_dir)
        tmp.rename(run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- failure injection (test-only) -------------------------------------------------------------
def injections_from_env(environ: dict[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """Parse ``TWINSLICE_SWEEP_FAIL`` into ``{run_id: (mode, failing attempts)}``."""
    text = (os.environ if environ is None else environ).get(FAIL_ENV, "")
    plan: dict[str, tuple[str, int]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        run_id, mode, *count = item.split(":")
        if mode not in ("raise", "exit"):
            raise ValueError(f"{FAIL_ENV}: mode {mode!r} must be raise or exit")
        plan[run_id] = (mode, int(count[0]) if count else sys.maxsize)
    return plan


# -- tasks and backends --------------------------------------------------------------------------
@dataclasses.dataclass
class Task:
    """A run to execute and its retry state."""

    run_id: str
    config: dict[str, Any]
    digest: str
    run_dir: Path
    inject: tuple[str, int] | None = None
    attempts: int = 0
    isolated: bool = False

    def payload(self, ship: bool) -> dict[str, Any]:
        """The plain dict sent to :func:`execute_run`."""
        fails = self.inject is not None and self.attempts < self.inject[1]
        return {
            "run_id": self.run_id,
            "config": self.config,
            "digest": self.digest,
            "run_dir": str(self.run_dir),
            "ship": ship,
            "inject": self.inject[0] if fails and self.inject else None,
        }


class Backend(Protocol):
    """What :func:`execute` needs of a backend."""

    name: str
    ships: bool
    capacity: int

    def submit(self, payload: dict[str, Any], isolated: bool) -> Any: ...

    def wait(self, handles: list[Any]) -> Iterable[Any]: ...

    def outcome(self, handle: Any) -> tuple[str, dict[str, Any]]: ...

    def close(self, kill: bool = False, pending: Iterable[Any] = ()) -> None: ...


def _result_outcome(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("ok", result) if result["ok"] else ("failed", result)


def _died(message: str) -> dict[str, Any]:
    return {"ok": False, "kind": "worker-died", "error": message, "traceback": None}


class LocalBackend:
    """Worker processes on this machine (``ProcessPoolExecutor``, ``spawn`` context)."""

    name = "local"
    ships = False

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self._ctx = multiprocessing.get_context("spawn")  # fork is unsafe with torch threads
        self._pool: ProcessPoolExecutor | None = None
        self._owner: dict[Future, ProcessPoolExecutor] = {}
        self._verdict: dict[Future, str] = {}
        # Spawned workers import numpy while unpickling, before any initializer runs: they read
        # their thread counts from the environment they inherit, so set it while we own them.
        self._saved_env = {var: os.environ.get(var) for var in _THREAD_VARS}
        os.environ.update(dict.fromkeys(_THREAD_VARS, "1"))

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(workers, mp_context=self._ctx, initializer=_worker_init)

    def submit(self, payload: dict[str, Any], isolated: bool) -> Future:
        """Start a run in the shared pool, or alone in a one-process pool when ``isolated``."""
        if isolated:
            pool = self._new_pool(1)
        else:
            if self._pool is None:
                self._pool = self._new_pool(self.capacity)
            pool = self._pool
        try:
            future = pool.submit(execute_run, payload)
        except BrokenProcessPool:  # broke before we noticed: start a fresh one
            self._pool = None
            return self.submit(payload, isolated)
        self._owner[future] = pool
        return future

    def wait(self, handles: list[Future]) -> Iterable[Future]:
        """Runs that have finished (blocks up to a second, so Ctrl-C is seen promptly)."""
        return wait_futures(handles, timeout=1.0, return_when=FIRST_COMPLETED).done

    def outcome(self, handle: Future) -> tuple[str, dict[str, Any]]:
        """``ok``, ``failed`` (charged) or ``collateral`` (broken pool, culprit unknown)."""
        pool = self._owner.pop(handle)
        try:
            return _result_outcome(handle.result())
        except BrokenProcessPool as exc:
            verdict = self._verdict.pop(handle, None) or self._judge_break(handle, pool)
            if pool is not self._pool:
                pool.shutdown(wait=True)  # broken: its workers are gone, joining is quick
            message = f"worker process died ({exc})"
            return (
                ("failed", _died(message)) if verdict == "died" else ("collateral", _died(message))
            )

    def _judge_break(self, handle: Future, pool: ProcessPoolExecutor) -> str:
        """A pool broke: its one run in flight is the culprit; with several, nobody is charged."""
        siblings = [f for f, p in self._owner.items() if p is pool]
        wait_futures(siblings, timeout=60)
        broken = [f for f in siblings if f.done() and isinstance(f.exception(), BrokenProcessPool)]
        verdict = "died" if not broken else "collateral"
        for future in broken:
            self._verdict[future] = verdict
        if pool is self._pool:
            self._pool = None
            pool.shutdown(wait=True)
        return verdict

    def close(self, kill: bool = False, pending: Iterable[Any] = ()) -> None:
        """Shut every pool down; with ``kill``, terminate workers mid-run (Ctrl-C)."""
        pools = {id(p): p for p in [*self._owner.values(), self._pool] if p is not None}
        for pool in pools.values():
            if kill:
                _terminate_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None
        self._owner.clear()
        for var, value in self._saved_env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value


def _terminate_workers(pool: ProcessPoolExecutor) -> None:
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


# -- scheduling ------------------------------------------------------------------------------------
Event = Callable[[str, Task, dict[str, Any] | None], None]


def _settle(
    task: Task,
    kind: str,
    result: dict[str, Any],
    retries: int,
    queue: deque[Task],
    final: dict[str, str],
    on_event: Event,
) -> None:
    if kind == "ok":
        if result.get("files") is not None:
            materialise(task.run_dir, result["files"])
        final[task.run_id] = "ok"
        on_event("ok", task, None)
    elif kind == "collateral":
        task.isolated = True
        queue.appendleft(task)
        on_event("requeued", task, result)
    else:
        task.attempts += 1
        on_event("failed", task, result)
        if task.attempts <= retries:
            queue.append(task)
        else:
            final[task.run_id] = "failed"
            on_event("gave-up", task, result)


def execute(
    tasks: Iterable[Task],
    backend: Backend,
    retries: int,
    on_event: Event,
    inflight: dict[Any, Task] | None = None,
) -> dict[str, str]:
    """Run ``tasks`` on ``backend``; a failed run is retried up to ``retries`` times.

    Args:
        tasks: the runs to execute, in order.
        backend: where they run; at most ``backend.capacity`` are in flight.
        retries: extra attempts of a run that raised or whose worker died.
        on_event: called with ``("ok" | "failed" | "requeued" | "gave-up", task, result)``.
        inflight: a dict to track handles in (the caller can cancel them after Ctrl-C).

    Returns:
        ``{run_id: "ok" | "failed"}`` for every task.
    """
    queue, final = deque(tasks), {}
    inflight = {} if inflight is None else inflight
    while queue or inflight:
        while queue and len(inflight) < backend.capacity:
            task = queue.popleft()
            inflight[backend.submit(task.payload(backend.ships), task.isolated)] = task
        for handle in list(backend.wait(list(inflight))):
            task = inflight.pop(handle)
            kind, result = backend.outcome(handle)
            _settle(task, kind, result, retries, queue, final, on_event)
    return final
