"""Resource demand distribution abstraction and greedy slicing (seed 000, Sec. III.D.1).

Level-one DAs send one demand record per user and slice window: its service type, serving base
station, demand per resource kind (the resource that lifts the user to its ELA), and the QoE gain
that demand buys. The level-two DA aggregates records with the same (service type, base
station) into user groups, the players of the slicing game.

Group QoE-vs-resource curve. A member u's gain from x units of kind k is a_uk g(x / d_uk), with
g one of the curve families below (g(0) = 0, increasing) and d_uk its demand. If a group splits
its slice among members in proportion to demand (x_u = x d_u / D), the group gain is exactly
A g(x / D) with A = sum_u a_u and D = sum_u d_u, for every family: the group curve is the
same family, and that is what the abstraction passes on.

Slicing from the distribution (seed III.D.1): when resources suffice, each group gets its
demand; otherwise resources go first to the groups with the highest QoE gain per unit of
resource. ``greedy_slices`` does this quantum by quantum by marginal gain. For concave curves
this greedy is optimal for the quantised problem (Gross 1956; Ibaraki & Katoh 1988), so it
approaches the convex optimum the seed's Sec. IV case study solves "by a low-complexity greedy
algorithm". It is also the greedy slicing of the w/o-DA benchmark, fed general QoE models.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from policies.slicing.params import GAIN_CURVES, SlicingParams

FloatArray = np.ndarray


# --- curve families -------------------------------------------------------------------------


def _sigmoid_floor(steepness: float) -> float:
    return float(1.0 / (1.0 + np.exp(steepness)))


def gain_curve(curve: str, u: FloatArray, steepness: float = 6.0) -> FloatArray:
    """Normalised QoE-gain curve g(u), u = resource / demand scale; g(0) = 0, increasing.

    Args:
        curve: "log" (log(1 + u)), "saturating" (1 - exp(-u)) or "sigmoid"
            ((sigma(s(u - 1)) - sigma(-s)) / (1 - sigma(-s)), tends to 1).
        u: normalised resource, >= 0.
        steepness: s of the sigmoid.
    """
    u = np.asarray(u, dtype=float)
    if curve == "log":
        return np.log1p(u)
    if curve == "saturating":
        return -np.expm1(-u)
    if curve == "sigmoid":
        floor = _sigmoid_floor(steepness)
        return (1.0 / (1.0 + np.exp(-steepness * (u - 1.0))) - floor) / (1.0 - floor)
    raise ValueError(f"gain_curve={curve!r} not in {GAIN_CURVES}")


def gain_slope(curve: str, u: FloatArray, steepness: float = 6.0) -> FloatArray:
    """Derivative g'(u) of :func:`gain_curve`."""
    u = np.asarray(u, dtype=float)
    if curve == "log":
        return 1.0 / (1.0 + u)
    if curve == "saturating":
        return np.exp(-u)
    if curve == "sigmoid":
        sig = 1.0 / (1.0 + np.exp(-steepness * (u - 1.0)))
        return steepness * sig * (1.0 - sig) / (1.0 - _sigmoid_floor(steepness))
    raise ValueError(f"gain_curve={curve!r} not in {GAIN_CURVES}")


def gain_slope_sup(curve: str, steepness: float = 6.0) -> float:
    """sup over u >= 0 of g'(u): the Lipschitz constant of g."""
    if curve in ("log", "saturating"):
        return 1.0
    if curve == "sigmoid":
        return steepness / (4.0 * (1.0 - _sigmoid_floor(steepness)))
    raise ValueError(f"gain_curve={curve!r} not in {GAIN_CURVES}")


def is_concave(curve: str) -> bool:
    """Whether the family is concave, so stationarity is optimality."""
    return curve in ("log", "saturating")


# --- records and groups ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandRecord:
    """One level-one DA's demand estimate for one user and slice window (seed III.C.2).

    Attributes:
        user_id: the user.
        service: service type label (seed III.D.1: the first label of a demand).
        base_station: serving base station (the second label: location).
        demand: resource per kind (order of ``SlicingParams.resource_kinds``) that lifts the
            user's predicted QoE to its ELA in the window.
        gain_per_unit: predicted QoE gain per unit of resource of each kind when its demand is
            met (QoE gain at the demand / demand).
        ela: the user's experience level agreement (MOS threshold).
    """

    user_id: int
    service: str
    base_station: int
    demand: tuple[float, ...]
    gain_per_unit: tuple[float, ...]
    ela: float


@dataclass(frozen=True, slots=True, eq=False)
class DemandDistribution:
    """Aggregated demand: one row per user group, one column per resource pool.

    Attributes:
        keys: (service, base station) of each group.
        pools: pool names, e.g. ("comm@bs0", "comm@bs1", "compute").
        n_users: members per group.
        demand: D_ip, summed member demand (0 where group i cannot use pool p).
        gain_scale: A_ip, summed member curve amplitudes, so G_ip(x) = A_ip g(x / D_ip).
        weights: player weights w_i.
        mean_ela: mean ELA of the members.
    """

    keys: tuple[tuple[str, int], ...]
    pools: tuple[str, ...]
    n_users: np.ndarray
    demand: np.ndarray
    gain_scale: np.ndarray
    weights: np.ndarray
    mean_ela: np.ndarray

    @property
    def eligible(self) -> np.ndarray:
        """Boolean (groups, pools): the group demands the pool and gains from it."""
        return (self.demand > 0.0) & (self.gain_scale > 0.0)


def resource_pools(
    kinds: Sequence[str], local_kinds: Sequence[str], stations: Sequence[int]
) -> tuple[tuple[str, ...], tuple[tuple[int, int | None], ...]]:
    """Pool names and, per pool, (kind index, base station or None for a shared pool)."""
    names: list[str] = []
    owners: list[tuple[int, int | None]] = []
    for k, kind in enumerate(kinds):
        if kind in local_kinds:
            for b in sorted(set(stations)):
                names.append(f"{kind}@bs{b}")
                owners.append((k, b))
        else:
            names.append(kind)
            owners.append((k, None))
    return tuple(names), tuple(owners)


def aggregate_demand(records: Sequence[DemandRecord], params: SlicingParams) -> DemandDistribution:
    """Aggregate level-one demand records by (service type, base station) (seed III.D.1).

    Args:
        records: one record per user; demand tuples ordered as ``params.resource_kinds``.
        params: gives the resource kinds, which are local to a base station, the gain curve
            family (to turn gain per unit into curve amplitudes) and the weighting.

    Returns:
        The demand distribution, groups sorted by (service, base station).
    """
    kinds = params.resource_kinds
    for r in records:
        if len(r.demand) != len(kinds) or len(r.gain_per_unit) != len(kinds):
            raise ValueError(f"record of user {r.user_id} does not have {len(kinds)} kinds")
    keys = tuple(sorted({(r.service, r.base_station) for r in records}))
    pools, owners = resource_pools(kinds, params.local_kinds, [b for _, b in keys])
    row = {key: i for i, key in enumerate(keys)}
    n, npool = len(keys), len(pools)
    demand, amplitude = np.zeros((n, npool)), np.zeros((n, npool))
    n_users, ela_sum = np.zeros(n), np.zeros(n)
    g_one = float(gain_curve(params.gain_curve, np.array(1.0), params.sigmoid_steepness))
    for r in records:
        i = row[(r.service, r.base_station)]
        n_users[i] += 1
        ela_sum[i] += r.ela
        for p, (k, station) in enumerate(owners):
            if station is None or station == r.base_station:
                d = max(float(r.demand[k]), 0.0)
                demand[i, p] += d
                # a_u g(1) is the gain at the demand, i.e. gain_per_unit * demand.
                amplitude[i, p] += max(float(r.gain_per_unit[k]), 0.0) * d / g_one
    mean_ela = ela_sum / np.maximum(n_users, 1)
    if params.group_weight == "ela":
        weights = mean_ela / params.ela_reference
    else:
        weights = np.ones(n)
    return DemandDistribution(keys, pools, n_users, demand, amplitude, weights, mean_ela)


def capacity_vector(dist: DemandDistribution, capacities: Mapping[str, float]) -> np.ndarray:
    """Capacities in the distribution's pool order.

    Raises:
        KeyError: naming a pool the mapping lacks.
    """
    missing = [p for p in dist.pools if p not in capacities]
    if missing:
        raise KeyError(f"no capacity given for pools {missing}")
    return np.array([float(capacities[p]) for p in dist.pools])


# --- slicing straight from the distribution ---------------------------------------------------


def feasible_slices(requests: np.ndarray, capacities: np.ndarray) -> np.ndarray:
    """Grant requests, scaling every over-subscribed pool down to its capacity.

    Applied to the demand distribution this is the "proportional-demand" mechanism: demand
    when it fits, otherwise demand shares of the pool. Applied to a game profile, it is the
    operator's admission of the reservations.
    """
    x = np.clip(np.asarray(requests, dtype=float), 0.0, None)
    load = x.sum(axis=0)
    scale = np.where(load > capacities, capacities / np.where(load > 0, load, 1.0), 1.0)
    return x * scale


def greedy_slices(
    weights: np.ndarray,
    gain_scale: np.ndarray,
    demand: np.ndarray,
    capacities: np.ndarray,
    curve: str = "log",
    steepness: float = 6.0,
    quanta: int = 200,
) -> np.ndarray:
    """Slice each pool greedily by marginal QoE gain per unit of resource (seed III.D.1).

    A pool whose total demand fits gets sliced as demanded. Otherwise the pool is cut into
    ``quanta`` equal quanta and each goes to the group whose weighted gain w_i G_ip rises most
    per unit from it, never beyond the group's demand. Ties go to the lower group index.

    Args:
        weights: w_i, shape (n,).
        gain_scale: A_ip, shape (n, P).
        demand: D_ip, shape (n, P); a group with D_ip = 0 gets nothing of pool p.
        capacities: C_p, shape (P,).
        curve: gain curve family; steepness: its sigmoid steepness.
        quanta: number of quanta per pool.

    Returns:
        Slices x_ip with sum_i x_ip <= C_p and x_ip <= D_ip.
    """
    demand = np.asarray(demand, dtype=float)
    slices = np.zeros_like(demand)
    for p in range(demand.shape[1]):
        if demand[:, p].sum() <= capacities[p]:
            slices[:, p] = demand[:, p]
            continue
        slices[:, p] = _greedy_pool(
            weights * gain_scale[:, p], demand[:, p], capacities[p], curve, steepness, quanta
        )
    return slices


def _greedy_pool(
    amp: np.ndarray, demand: np.ndarray, capacity: float, curve: str, steepness: float, quanta: int
) -> np.ndarray:
    quantum = capacity / quanta
    x = np.zeros_like(demand)
    scale = np.where(demand > 0, demand, 1.0)

    def entry(i: int) -> tuple[float, int, float]:
        step = min(quantum, demand[i] - x[i])
        rise = amp[i] * (
            gain_curve(curve, (x[i] + step) / scale[i], steepness)
            - gain_curve(curve, x[i] / scale[i], steepness)
        )
        return (-float(rise) / step, i, step)

    heap = [entry(i) for i in range(len(demand)) if demand[i] > 0]
    heapq.heapify(heap)
    left = float(capacity)
    while heap and left > 1e-12 * max(capacity, 1.0):
        _, i, step = heapq.heappop(heap)
        step = min(step, left)
        x[i] += step
        left -= step
        if demand[i] - x[i] > 1e-12 * demand[i]:
            heapq.heappush(heap, entry(i))
    return x
