"""The Ray backend of sweeps: tasks on a Ray cluster, or on a local Ray started on loopback.

Ray is an optional extra (``pip install 'twinslice[ray]'``) and is imported only when asked
for; an unreachable ``--address`` fails fast with one line instead of Ray's minutes of retries.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any

from runs.sweep_backends import BackendUnavailable, _died, _result_outcome, execute_run


def import_ray() -> Any:
    """Import Ray lazily (an optional extra).

    Raises:
        BackendUnavailable: Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise BackendUnavailable(
            "--backend ray needs Ray, an optional extra: pip install 'twinslice[ray]'"
        ) from None
    return ray


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on an unreachable ``host:port`` (Ray itself retries for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", "local" and the like: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BackendUnavailable(
            f"--address {address}: cannot reach the Ray cluster ({exc.strerror or exc})"
        ) from None


class RayBackend:
    """Tasks on a Ray cluster (``address``) or on a local Ray started here, on loopback."""

    name = "ray"
    ships = True  # outputs come back to the driver: no shared file system needed

    def __init__(self, workers: int | None, address: str | None = None) -> None:
        ray = self._ray = import_ray()
        self._owns = not ray.is_initialized()
        if self._owns:
            self._start(workers, address)
        self.capacity = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(execute_run)

    def _start(self, workers: int | None, address: str | None) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if address:
            _probe(address)
        try:
            if address:
                self._ray.init(address=address, log_to_driver=False, logging_level="WARNING")
            else:
                self._ray.init(
                    num_cpus=workers or os.cpu_count() or 1,
                    include_dashboard=False,
                    _node_ip_address="127.0.0.1",
                    log_to_driver=False,
                    logging_level="WARNING",
                )
        except Exception as exc:  # a bad address, a cluster that refuses us
            where = address or "a local Ray instance"
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BackendUnavailable(f"--backend ray: cannot start {where}: {message}") from None

    def submit(self, payload: dict[str, Any], isolated: bool) -> Any:
        """Submit one task (Ray attributes a worker's death to its task: no isolation needed)."""
        return self._remote.remote(payload)

    def wait(self, handles: list[Any]) -> Iterable[Any]:
        """Tasks that have finished (blocks up to a second)."""
        ready, _ = self._ray.wait(handles, num_returns=1, timeout=1.0)
        return ready

    def outcome(self, handle: Any) -> tuple[str, dict[str, Any]]:
        """``ok`` or ``failed``; a crashed worker shows up as a Ray error on the task."""
        try:
            return _result_outcome(self._ray.get(handle))
        except self._ray.exceptions.RayError as exc:
            return "failed", _died(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")

    def close(self, kill: bool = False, pending: Iterable[Any] = ()) -> None:
        """Cancel unfinished tasks when killing; stop Ray if this backend started it."""
        if kill:
            for handle in pending:
                self._ray.cancel(handle, force=True)
        if self._owns:
            self._ray.shutdown()
