"""Before a run: how much memory and time will it take, and does the machine have the memory?

:func:`estimate` predicts the peak resident memory and the wall time of one run from its
scenario alone (users, simulated duration, slot length, service, whether digital agents
run), with a linear model whose constants were fitted to measured runs (below).
:func:`guard` refuses — one line, exit status 2, the estimate in the message — a run whose
memory estimate exceeds the memory available now (``MemAvailable`` of ``/proc/meminfo``, and
the cgroup limit when there is one), unless ``--force``. The time estimate is only printed:
how long is too long is the user's call.

The estimates are deliberately coarse (within a factor of ~2 on this project's 2-core
machine; a busy machine is slower): they are there to catch ``users.count=1000000`` or
``scenario.duration_s=1e7`` before minutes of work and gigabytes of memory, not to schedule.

Only the standard library is imported: the check costs nothing.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 2**20

# -- calibration --------------------------------------------------------------------------------
# Measured on the project's 2-core machine on 2026-12-03 while another job kept one core busy
# (load average ~2), one run at a time, each with
#
#   OMP_NUM_THREADS=1 /usr/bin/time -f "%e s %M KB" .venv/bin/twinslice run PRESET --quiet \
#       --force --out runs/out/cal/X --set users.count=U --set scenario.duration_s=D \
#       [--set scenario.scheme=wo-da | --set scenario.service=none]
#
#   kind       users x seconds  wall    peak RSS      kind       users x seconds  wall   peak RSS
#   video-da   20 x 1800        414 s   1,204 MB      video      100 x 300        7.7 s  1,020 MB
#   video-da   20 x 300         164 s   1,200 MB      video      2,000 x 30      10.5 s  1,032 MB
#   video-da   100 x 300        302 s   1,209 MB      video      20 x 3000       19.9 s  1,045 MB
#   video-da   500 x 120        396 s   1,214 MB      video      20,000 x 2       8.7 s  1,048 MB
#   video-da   1,000 x 30       265 s   1,207 MB      none       10,000 x 60      1.9 s    235 MB
#   video-da   3 x 20            26 s   (not kept)    none       100,000 x 10     3.6 s    386 MB
#   video-da   3,000 x 2        5.2 s   1,019 MB      none       2 x 2000         2.6 s    206 MB
#   cav        highway-cav (64 vehicles x 600 s)      none       2 x 20000        9.3 s    251 MB
#              35 s, 1,132 MB
#
# (campus-video is video-da; ``make run`` took ~1.5 min on the idle machine, 414 s here: a busy
# machine is up to ~4x slower.) The constants below are least-squares fits of those runs:
#
# * memory: a fixed cost (Python, numpy, pandas, networkx, Mesa — and torch once digital
#   agents train), plus a cost per user (the world's arrays, the agents), per slot (the
#   DataCollector's rows) and per user-second (QoE samples, snapshots, logs kept for the
#   outputs);
# * time: a fixed start-up, a cost per user (the DAs' first fits, spread over the first
#   ~30 s), per slot (Mesa's step, the bus, the level-two DA) and per user-slot, and for the
#   DAs a learning phase of ~2 min network time (BDQN emulation, model fits).


@dataclass(frozen=True)
class Costs:
    """The linear model of one kind of run (fitted to the runs above)."""

    base_mb: float  # fixed memory
    per_user_kb: float  # memory per user
    per_slot_kb: float  # memory per slot
    per_user_s_kb: float  # memory per user and simulated second
    startup_s: float  # fixed wall time
    per_user_ms: float  # wall time per user (reached after ~30 s of network time)
    per_slot_ms: float  # wall time per slot, whatever the users
    per_user_slot_us: float  # wall time per user-slot
    learning_s: float = 0.0  # wall time of the DAs' learning phase (reached after ~3 min)


#: Keys: ``"video-da"`` (video with level-one DAs: proposed, pdrl-l1, hsla-l2), ``"video"``
#: (wo-da, or digital agents off), ``"cav"``, ``"none"`` (the bare world).
COSTS: dict[str, Costs] = {
    "video-da": Costs(1230.0, 30.0, 10.0, 0.1, 10.3, 102.0, 74.0, 4300.0, learning_s=115.0),
    "video": Costs(1045.0, 2.0, 10.0, 0.05, 3.1, 0.04, 3.2, 121.0),
    "cav": Costs(1150.0, 50.0, 10.0, 0.1, 8.0, 1.0, 45.0, 10.0),
    "none": Costs(205.0, 1.7, 2.6, 0.03, 1.8, 0.02, 0.375, 0.5),
}
#: Network time after which the per-user cost and the learning phase are fully paid.
FIRST_FITS_S = 30.0
LEARNING_S = 180.0


class ResourceError(Exception):
    """A run too big for this machine (one line with the estimate; exit status 2)."""


@dataclass(frozen=True)
class Estimate:
    """Predicted peak memory and wall time of a run (or a sweep)."""

    what: str
    memory_mb: float
    wall_s: float
    available_mb: float | None

    def line(self) -> str:
        """One line for the user, e.g. ``estimate: ~1.2 GB peak memory, ~1 min 30 s ...``."""
        free = f" of {_size(self.available_mb)} available" if self.available_mb is not None else ""
        return (
            f"estimate for {self.what}: ~{_size(self.memory_mb)} peak memory{free}, "
            f"~{_duration(self.wall_s)} wall time (measured on 2 busy cores; faster when idle)"
        )


def kind_of(cfg: Any) -> str:
    """Which :data:`COSTS` entry describes ``cfg``."""
    service = cfg.scenario.service
    if service == "video":
        das = cfg.scenario.digital_agents and cfg.scenario.scheme != "wo-da"
        return "video-da" if das else "video"
    return "cav" if service == "cav" else "none"


def _users(cfg: Any) -> int:
    users = int(cfg.users.count)
    if cfg.scenario.service == "cav":
        v = cfg.vehicles
        users += int(getattr(v, "clusters", 0)) * (
            int(getattr(v, "cav_pairs", 0)) * 2 + int(getattr(v, "hdvs", 0))
        )
    return users


def estimate(cfg: Any) -> Estimate:
    """The memory and wall time of one run of ``cfg`` (see the module docstring)."""
    c = COSTS[kind_of(cfg)]
    users = _users(cfg)
    duration = float(cfg.scenario.duration_s)
    slots = max(1, math.ceil(duration / float(cfg.scenario.slot_s)))
    kb = users * c.per_user_kb + slots * c.per_slot_kb + users * duration * c.per_user_s_kb
    memory = c.base_mb + kb / 1024
    wall = (
        c.startup_s
        + users * c.per_user_ms / 1e3 * min(1.0, duration / FIRST_FITS_S)
        + slots * c.per_slot_ms / 1e3
        + users * slots * c.per_user_slot_us / 1e6
        + c.learning_s * min(1.0, duration / LEARNING_S)
    )
    who = "vehicles and users" if cfg.scenario.service == "cav" else "users"
    what = f"{cfg.scenario.name} ({users} {who}, {slots} slots)"
    return Estimate(what, memory, wall, available_mb())


def estimate_sweep(plan: Any, workers: int | None, backend: str = "local") -> Estimate:
    """A sweep: the runs' total time shared by the workers, the largest runs side by side."""
    from model.config import config_from_dict

    runs = [estimate(config_from_dict(r.config)) for r in plan.runs]
    slots = max(1, min(workers or os.cpu_count() or 1, len(runs)))
    biggest = sorted((r.memory_mb for r in runs), reverse=True)[:slots]
    memory = sum(biggest) if backend == "local" else max(biggest)  # Ray: other nodes
    wall = max(sum(r.wall_s for r in runs) / slots, max(r.wall_s for r in runs))
    what = f"sweep of {len(runs)} run(s) on {slots} worker(s)"
    return Estimate(what, memory, wall, available_mb())


def guard(est: Estimate, force: bool = False) -> None:
    """Refuse ``est`` if its memory exceeds what is available now, unless ``force``.

    Raises:
        ResourceError: one line with the estimate and the way round it.
    """
    if force or est.available_mb is None or est.memory_mb <= est.available_mb:
        return
    raise ResourceError(
        f"{est.line()}: more than the free memory; make the scenario smaller "
        "(users.count, scenario.duration_s) or add --force to run anyway"
    )


def _meminfo_available_mb(path: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_free_mb(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        used = int((root / "memory.current").read_text().strip())
        return max(0.0, (int(limit) - used) / MB)
    except (OSError, ValueError):
        return None


def available_mb() -> float | None:
    """Memory available to a new run now, in MiB (None when this system does not say)."""
    env = os.environ.get("TWINSLICE_AVAILABLE_MB")  # tests and batch jobs may say it
    if env:
        try:
            return float(env)
        except ValueError:
            pass
    known = [v for v in (_meminfo_available_mb(), _cgroup_free_mb()) if v is not None]
    if not known:
        try:
            pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
            return pages * size / MB
        except (ValueError, OSError, AttributeError):
            return None
    return min(known)


def _size(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
