"""Benchmark of the simulated world at 10^2 .. 10^5 users (issue "world", item 8).

For each user count N the campus scenario is scaled so that density stays as in seed 000
Sec. IV (20 users per 2 cells on 1200 m x 800 m): N/10 cells... capped so a cell serves at
least 10 users, area grown with the cell count, one edge server per 20 cells. Two timings per N,
each in a fresh single-threaded subprocess (so peak memory is that run's own):

* ``model``: ``NetworkModel.step()`` — vectorised physics, handovers in the topology, QoS
  reports over the message bus, data collection — with no service and no digital agents;
* ``reference``: the same physics (mobility, candidate cells, TR 38.901 path loss with
  shadowing, L3-filtered association with hysteresis, SINR, shares, QoS) with the same
  numerics (float32 link arrays, one log10 per link) as one plain numpy loop with no agents,
  no bus and no bookkeeping.

Each rate is the median of three back-to-back blocks of slots after one warm-up slot.
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

# runs/benchmarks/model.py shares this folder: run as a script, the folder comes first on
# sys.path and its model.py would shadow the project's ``model`` package, so drop it.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _HERE]

import numpy as np

USERS_PER_CELL = 10
REPEATS = 3  # each rate is the median over this many back-to-back blocks of slots
AREA_PER_CELL = 1200.0 * 800.0 / 2


def scenario_overrides(n_users: int, slots: int) -> dict:
    cells = max(2, n_users // USERS_PER_CELL)
    side = math.sqrt(cells * AREA_PER_CELL / 1.5)
    return {
        "scenario.service": "none",
        "scenario.digital_agents": False,
        "scenario.duration_s": float(REPEATS * slots + 1),
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
    blocks = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        for _ in range(slots):
            model.step()
        blocks.append(time.perf_counter() - t0)
    sent = model.bus.totals()["sent"]
    return {"build_s": build, "run_s": float(np.median(blocks)), "msgs": sent / model.steps}


def bench_reference(n_users: int, slots: int) -> dict:
    """The world's physics as one plain numpy loop (no Mesa, no bus, no agents).

    Same numerics as the model, so the ratio measures the framework's overhead rather than
    two different implementations: float32 (users x K) arrays, TR 38.901 UMa path loss with
    one log10 per link, tabulated LOS threshold, links keeping their fading across candidate
    refreshes, L3 filter + A3 hysteresis + TTT, SINR, equal shares, QoS.
    """
    from scipy.spatial import cKDTree
    from scipy.special import ndtri

    from model.channel import breakpoint_distance, los_probability
    from model.config import load_scenario
    from model.roads import build_road_graph, road_arrays
    from model.world import cell_sites

    cfg = load_scenario("campus-video", scenario_overrides(n_users, slots))
    rng = np.random.default_rng(0)
    roads = road_arrays(build_road_graph(cfg.area, rng))
    bs = cell_sites(cfg.base_stations, cfg.area)
    r, b = cfg.radio, cfg.base_stations
    k = min(r.candidate_cells, len(bs))
    f32 = np.float32
    fc, hb, hu = b.carrier_ghz, b.height_m, cfg.users.height_m
    dbp = breakpoint_distance(hb, hu, fc)
    dh2 = (hb - hu) ** 2
    a_near = 28 + 20 * np.log10(fc)
    a_far = a_near - 9 * np.log10(dbp**2 + dh2)
    a_nlos = 13.54 + 20 * np.log10(fc) - 0.6 * (hu - 1.5)
    d_table = np.arange(int(np.hypot(cfg.area.width_m, cfg.area.height_m) / 0.5) + 2) * 0.5
    with np.errstate(divide="ignore"):
        los_thr = ndtri(los_probability("uma", d_table)).astype(f32)
    noise_mw = 10 ** (
        (r.noise_psd_dbm_hz + 10 * np.log10(b.bandwidth_mhz * 1e6) + r.noise_figure_db) / 10
    )
    alpha = f32(1 / 2 ** (r.l3_filter_k / 4))
    ttt = max(1, int(np.ceil(r.time_to_trigger_s - 1e-9)))
    speed = rng.uniform(2, 40, n_users) / 3.6
    rho = np.exp(-speed / r.decorrelation_m).astype(f32)[:, None]
    wgt = np.sqrt(1 - rho * rho)
    rho_l = np.exp(-speed / r.los_decorrelation_m).astype(f32)[:, None]
    wgt_l = np.sqrt(1 - rho_l * rho_l)
    w_user, w_link = (
        f32(np.sqrt(r.shadow_site_correlation)),
        f32(np.sqrt(1 - r.shadow_site_correlation)),
    )
    u = rng.integers(0, len(roads.pos), n_users)
    e = roads.indptr[u] + (rng.random(n_users) * roads.degree[u]).astype(np.int64)
    v, length = roads.indices[e], roads.lengths[e]
    s = rng.random(n_users) * length
    origin = roads.pos[u]
    direction = (roads.pos[v] - origin) / length[:, None]
    zs = rng.standard_normal((n_users, k), dtype=f32)
    zl = rng.standard_normal((n_users, k), dtype=f32)
    zu = rng.standard_normal((n_users, 1), dtype=f32)
    filt = np.zeros((n_users, k), dtype=f32)
    cand = np.full((n_users, k), -1, dtype=np.int32)
    bx = by = np.zeros((n_users, k), dtype=f32)
    serving = np.full(n_users, -1)
    serv_col = np.zeros(n_users, dtype=np.int64)
    a3 = np.zeros(n_users, dtype=np.int64)
    rows = np.arange(n_users)
    tree = cKDTree(bs)
    jitter = np.zeros(n_users)
    delay = np.zeros(n_users)
    marks = []
    for t in range(REPEATS * slots + 1):
        if (t - 1) % slots == 0:  # slot 0 is warm-up, as for the model; then timed blocks
            marks.append(time.perf_counter())
        s += speed
        over = np.flatnonzero(s >= length)
        while over.size:  # turn onto a random next road, never straight back unless a dead end
            s[over] -= length[over]
            came = roads.back[e[over]]
            u[over] = v[over]
            deg = roads.degree[u[over]]
            pick = (rng.random(len(over)) * np.maximum(deg - 1, 1)).astype(np.int64)
            pick += (deg > 1) & (pick >= came)
            e[over] = roads.indptr[u[over]] + pick
            v[over], length[over] = roads.indices[e[over]], roads.lengths[e[over]]
            origin[over] = roads.pos[u[over]]
            direction[over] = (roads.pos[v[over]] - origin[over]) / length[over, None]
            over = over[s[over] >= length[over]]
        pos = origin + s[:, None] * direction
        fresh = None
        if t % 10 == 0:
            new = np.asarray(tree.query(pos, k=k)[1], dtype=np.int32).reshape(n_users, k)
            same = new[:, :, None] == cand[:, None, :]
            kept, src = same.any(2), same.argmax(2)
            fresh = ~kept
            zs, zl, filt = zs[rows[:, None], src], zl[rows[:, None], src], filt[rows[:, None], src]
            zs[fresh] = rng.standard_normal(int(fresh.sum()), dtype=f32)
            zl[fresh] = rng.standard_normal(int(fresh.sum()), dtype=f32)
            cand = new
            bx, by = bs[cand, 0].astype(f32), bs[cand, 1].astype(f32)
            is_serv = cand == serving[:, None]
            has_serv, serv_col = is_serv.any(1), is_serv.argmax(1)
        zs = rho * zs + wgt * rng.standard_normal(zs.shape, dtype=f32)
        zl = rho_l * zl + wgt_l * rng.standard_normal(zl.shape, dtype=f32)
        zu = rho * zu + wgt * rng.standard_normal(zu.shape, dtype=f32)
        z = w_link * zs + w_user * zu
        p32 = pos.astype(f32)
        d2sq = np.maximum((bx - p32[:, :1]) ** 2 + (by - p32[:, 1:]) ** 2, f32(100))
        lg = f32(0.5) * np.log10(d2sq + f32(dh2))
        pl_los = np.where(
            d2sq <= f32(dbp**2), f32(a_near) + f32(22) * lg, f32(a_far) + f32(40) * lg
        )
        pl_nlos = np.maximum(pl_los, f32(a_nlos) + f32(39.08) * lg)
        idx = np.minimum((np.sqrt(d2sq) * f32(2) + f32(0.5)).astype(np.int32), len(los_thr) - 1)
        los = zl < los_thr[idx]
        rx = f32(b.tx_power_dbm) - np.where(los, pl_los + f32(4) * z, pl_nlos + f32(6) * z)
        filt = (1 - alpha) * filt + alpha * rx
        if fresh is not None:
            filt[fresh] = rx[fresh]
        best = filt.argmax(1)
        col = np.where(has_serv, serv_col, best)
        a3 = np.where(filt[rows, best] > filt[rows, col] + f32(r.hysteresis_db), a3 + 1, 0)
        switch = ~has_serv | (a3 >= ttt)
        col = np.where(switch, best, col)
        a3[switch] = 0
        serving, serv_col, has_serv = cand[rows, col], col, np.ones(n_users, dtype=bool)
        mw = np.exp(rx * f32(np.log(10) / 10))
        sig = mw[rows, col].astype(float)
        sinr = sig / (mw.sum(1, dtype=float) - sig + noise_mw)
        share = b.bandwidth_mhz * 1e6 / np.bincount(serving, minlength=len(bs))[serving]
        rate = np.maximum(share * np.log2(1 + sinr), 1.0)
        d = 5.0 + 1e3 * 12000 / rate / (1 - np.minimum(5e6 / rate, 0.95))
        jitter += (np.abs(d - delay) - jitter) / 16
        delay = d
        loss = 1 / (1 + np.exp(10 * np.log10(sinr) + 7.0))
    del loss
    marks.append(time.perf_counter())
    return {"build_s": 0.0, "run_s": float(np.median(np.diff(marks))), "msgs": 0}


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
        check=False,
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        sys.exit(f"error: the {kind} run with {n} users failed: {lines[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--slots", type=int, default=50)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    bad = [n for n in args.users if not 1 <= n <= 1_000_000]
    if bad or args.slots < 1:
        what = f"--users {bad[0]}" if bad else f"--slots {args.slots}"
        print(f"error: {what}: users must be 1..1000000 and slots at least 1", file=sys.stderr)
        sys.exit(2)
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
            f"{m['msgs']:>9.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
