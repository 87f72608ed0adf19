"""Benchmark of the simulated world at 10^2 .. 10^5 users (issue "world", item 8).

For each user count N the campus scenario is scaled so that density stays as in seed 000
Sec. IV (20 users per 2 cells on 1200 m x 800 m): N/10 cells... capped so a cell serves at
least 10 users, area grown with the cell count, one edge server per 20 cells. Two timings per N,
each in a fresh single-threaded subprocess (so peak memory is that run's own):

* ``model``: ``NetworkModel.step()`` — vectorised physics, handovers in the topology, QoS
  reports over the message bus, data collection — with no service and no digital agents;
* ``reference``: the same physics (mobility, candidate cells, TR 38.901 path loss with
  shadowing, L3-filtered association with hysteresis, SINR, shares, QoS) as one plain numpy
  loop with no agents, no bus and no bookkeeping.

Printed: user-slots per second of both, their ratio, and peak RSS. Run:
``.venv/bin/python runs/benchmarks/world.py [--slots 50] [--users 100 1000 10000 100000]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import numpy as np

USERS_PER_CELL = 10
AREA_PER_CELL = 1200.0 * 800.0 / 2


def scenario_overrides(n_users: int, slots: int) -> dict:
    cells = max(2, n_users // USERS_PER_CELL)
    side = math.sqrt(cells * AREA_PER_CELL / 1.5)
    return {
        "scenario.service": "none",
        "scenario.digital_agents": False,
        "scenario.duration_s": float(slots + 1),
        "users.count": n_users,
        "base_stations.count": cells,
        "edge.count": max(1, cells // 20),
        "area.width_m": round(1.5 * side, 1),
        "area.height_m": round(side, 1),
        # keep the street grid near 200 x 300 intersections however large the area grows
        "area.block_m": round(max(100.0, side / 200.0), 1),
        "output.record_users": False,
    }


def bench_model(n_users: int, slots: int) -> dict:
    from model.config import load_scenario
    from model.network_model import NetworkModel

    cfg = load_scenario("campus-video", scenario_overrides(n_users, slots))
    t0 = time.perf_counter()
    model = NetworkModel(cfg)
    build = time.perf_counter() - t0
    model.step()  # warm-up slot
    t0 = time.perf_counter()
    for _ in range(slots):
        model.step()
    run = time.perf_counter() - t0
    return {"build_s": build, "run_s": run, "msgs": model.bus.totals()["sent"]}


def bench_reference(n_users: int, slots: int) -> dict:
    """The world's physics as one plain numpy loop (no Mesa, no bus)."""
    from scipy.spatial import cKDTree
    from scipy.special import ndtr

    from model.config import load_scenario
    from model.roads import build_road_graph, road_arrays
    from model.world import cell_sites

    cfg = load_scenario("campus-video", scenario_overrides(n_users, slots))
    rng = np.random.default_rng(0)
    roads = road_arrays(build_road_graph(cfg.area, rng))
    bs = cell_sites(cfg.base_stations, cfg.area)
    r, b = cfg.radio, cfg.base_stations
    k = min(r.candidate_cells, len(bs))
    fc, hb, hu = b.carrier_ghz, b.height_m, cfg.users.height_m
    dbp = 4 * (hb - 1) * (hu - 1) * fc * 1e9 / 299792458.0
    noise_mw = 10 ** (
        (r.noise_psd_dbm_hz + 10 * np.log10(b.bandwidth_mhz * 1e6) + r.noise_figure_db) / 10
    )
    speed = rng.uniform(2, 40, n_users) / 3.6
    u = rng.integers(0, len(roads.pos), n_users)
    slot = roads.indptr[u] + (rng.random(n_users) * np.diff(roads.indptr)[u]).astype(int)
    v, length = roads.indices[slot], roads.lengths[slot]
    s = rng.random(n_users) * length
    zs, zl = rng.standard_normal((n_users, k)), rng.standard_normal((n_users, k))
    filt = np.zeros((n_users, k))
    serving = np.zeros(n_users, dtype=int)
    cand = np.zeros((n_users, k), dtype=int)
    tree = cKDTree(bs)
    jitter = np.zeros(n_users)
    delay = np.zeros(n_users)
    t0 = time.perf_counter()
    for t in range(slots + 1):
        if t == 1:
            t0 = time.perf_counter()  # first slot is warm-up, as for the model
        s += speed
        over = s >= length
        while over.any():  # move on to a random next road (backtracking allowed here)
            s[over] -= length[over]
            u[over] = v[over]
            uo = u[over]
            sl = roads.indptr[uo] + (rng.random(len(uo)) * np.diff(roads.indptr)[uo]).astype(int)
            v[over], length[over] = roads.indices[sl], roads.lengths[sl]
            over = s >= length
        pos = roads.pos[u] + (s / length)[:, None] * (roads.pos[v] - roads.pos[u])
        if t % 10 == 0:
            cand = np.asarray(tree.query(pos, k=k)[1]).reshape(n_users, k)
        rho = np.exp(-speed / r.decorrelation_m)[:, None]
        zs = rho * zs + np.sqrt(1 - rho**2) * rng.standard_normal(zs.shape)
        zl = rho * zl + np.sqrt(1 - rho**2) * rng.standard_normal(zl.shape)
        d2 = np.maximum(np.linalg.norm(bs[cand] - pos[:, None, :], axis=2), 10.0)
        d3 = np.sqrt(d2**2 + (hb - hu) ** 2)
        los_pl = np.where(
            d2 <= dbp,
            28 + 22 * np.log10(d3) + 20 * np.log10(fc),
            28 + 40 * np.log10(d3) + 20 * np.log10(fc) - 9 * np.log10(dbp**2 + (hb - hu) ** 2),
        )
        nlos_pl = np.maximum(los_pl, 13.54 + 39.08 * np.log10(d3) + 20 * np.log10(fc))
        plos = np.where(d2 <= 18, 1.0, 18 / d2 + np.exp(-d2 / 63) * (1 - 18 / d2))
        los = ndtr(zl) < plos
        rx = b.tx_power_dbm - np.where(los, los_pl + 4 * zs, nlos_pl + 6 * zs)
        filt = 0.5 * filt + 0.5 * rx
        col = np.argmax(filt, axis=1)
        serving = np.where(
            filt[np.arange(n_users), col] > filt.max(axis=1) - r.hysteresis_db,
            cand[np.arange(n_users), col],
            serving,
        )
        mw = 10 ** (rx / 10)
        sig = mw[np.arange(n_users), col]
        sinr = sig / (mw.sum(axis=1) - sig + noise_mw)
        share = b.bandwidth_mhz * 1e6 / np.bincount(serving, minlength=len(bs))[serving]
        rate = share * np.log2(1 + sinr)
        d = 5.0 + 1e3 * 12000 / np.maximum(rate, 1) / (
            1 - np.minimum(5e6 / np.maximum(rate, 1), 0.95)
        )
        jitter += (np.abs(d - delay) - jitter) / 16
        delay = d
    return {"build_s": 0.0, "run_s": time.perf_counter() - t0, "msgs": 0}


def _child(kind: str, n: int, slots: int) -> None:
    fn = bench_model if kind == "model" else bench_reference
    out = fn(n, slots)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _spawn(kind: str, n: int, slots: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n), str(slots)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--slots", type=int, default=50)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    print(
        f"{'users':>8} {'cells':>6} {'model u-slot/s':>15} {'numpy ref u-slot/s':>19} "
        f"{'ratio':>6} {'model peak MB':>14} {'build s':>8} {'msgs/slot':>9}"
    )
    for n in args.users:
        slots = max(5, min(args.slots, int(2e6 // n)))
        m = _spawn("model", n, slots)
        ref = _spawn("reference", n, slots)
        m_rate, r_rate = n * slots / m["run_s"], n * slots / ref["run_s"]
        print(
            f"{n:>8} {max(2, n // USERS_PER_CELL):>6} {m_rate:>15,.0f} {r_rate:>19,.0f} "
            f"{r_rate / m_rate:>6.2f} {m['peak_rss_mb']:>14,.0f} {m['build_s']:>8.2f} "
            f"{m['msgs'] / (slots + 1):>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
