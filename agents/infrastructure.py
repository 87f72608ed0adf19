"""Infrastructure agents: base stations / RSUs, edge servers and the cloud.

They own the node's resource capacities in the model's ledger and are the endpoints that
users report to when no digital agent sits between them (seed 000 Fig. 1, seed 003 Fig. 1).
"""

from __future__ import annotations

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import Kind, MessageBatch, Registration, SliceGrant
from model.resources import Kind as Res
from model.rrm import RrmPolicy


def slice_class_of(group: str) -> int | None:
    """Slice class of a slicing group key ``<service>/t<k>@<pool>`` (its tier k), or None."""
    head = group.split("@", 1)[0]
    tier = head.rsplit("/", 1)[-1]
    return int(tier[1:]) if tier[:1] == "t" and tier[1:].isdigit() else None


def grant_shares(grant: SliceGrant, pool: str, capacity: float, classes: int, column) -> np.ndarray:  # noqa: ANN001
    """(classes,) share of ``pool`` each slice class was granted (NaN: no slice there)."""
    out = np.full(classes, np.nan)
    if pool not in grant.pools:
        return out
    p = grant.pools.index(pool)
    for g, key in enumerate(grant.groups):
        col = column(key)
        if col is not None and 0 <= col < classes:
            out[col] = np.nan_to_num(out[col]) + grant.slices[g][p] / max(capacity, 1e-300)
    return out


def apply_policy_row(current: RrmPolicy | None, row: int, shape: tuple[int, int], new: RrmPolicy):  # noqa: ANN201
    """``current`` with row ``row`` replaced by the one-row policy ``new``."""
    pol = current if current is not None else RrmPolicy.best_effort(*shape)
    for name in ("dedicated", "minimum", "maximum"):
        getattr(pol, name)[row] = getattr(new, name)[0]
    return pol


class BaseStation(NetAgent):
    """A BS (campus) or RSU (highway): communication bandwidth and sensing at one cell."""

    role = "infrastructure"

    def __init__(
        self, model: mesa.Model, node: str, cell: int, bandwidth_hz: float, sensing: float
    ):
        super().__init__(model, node)
        self.cell = cell
        self.policy: RrmPolicy | None = None  # this cell's RRM policy row (after a grant)
        self.policy_window = -1  # the window whose grant set the policy (-1: none yet)
        self.usage_log: list[dict] = []
        model.ledger.add_capacity(node, Res.COMM, bandwidth_hz)
        model.ledger.add_capacity(node, Res.SENSING, sensing)

    @property
    def xy(self) -> tuple[float, float]:
        return tuple(self.model.world.bs_pos[self.cell])

    def announce(self, controller: int, edge: int) -> None:
        """REGISTER with the slicing controller: this cell and the edge server behind it."""
        reg = Registration("cell", self.unique_id, self.node, (), (self.cell,), int(edge))
        self.send(controller, Kind.REGISTER, reg)

    def act(self) -> None:
        """Enforce the slices: a SLICE grant becomes this cell's RRM policy (TS 28.541
        RRMPolicyRatio, ``policies.slicing.rrm``), and ALLOCATION messages of the edge
        orchestrator set the users' weights inside their slices."""
        world = self.model.world
        for msg in self.take_inbox():
            if msg.kind is Kind.ALLOCATION:
                users, weights = msg.payload.users, msg.payload.weights
                world.weight[list(users)] = weights
                world.weight_cell[list(users)] = self.cell  # allocated for this cell
            elif msg.kind is Kind.SLICE and world.slice_classes > 0:
                self._enforce(msg.payload)

    def _enforce(self, grant: SliceGrant) -> None:
        from policies.slicing.rrm import policy_from_grants

        world = self.model.world
        k, cell = world.slice_classes, self.cell
        shares = grant_shares(
            grant,
            f"comm@bs{cell}",
            float(world.cell_hz[cell]),
            k,
            lambda key: slice_class_of(key) if key.endswith(f"@bs{cell}") else None,
        )
        new = policy_from_grants(shares[None, :], self.model.cfg.slicing)
        self.usage_log.extend(self._usage(world.take_slice_usage(cell)))
        world.comm_policy = apply_policy_row(world.comm_policy, cell, (world.n_cells, k), new)
        self.policy, self.policy_window = new, grant.window

    def usage_rows(self, final: bool = False) -> list[dict]:
        """The ``slice_usage`` rows of this cell: one per (policy period, slice), and with
        ``final`` the period still running (not reset)."""
        rows = list(self.usage_log)
        if final:
            rows += self._usage(self.model.world.take_slice_usage(self.cell, reset=False))
        return rows

    def _usage(self, use: dict | None) -> list[dict]:
        """Rows for the policy period now ending: per slice class, the RRM policy in force
        throughout it (the grant of ``policy_window``), what its users received (sum and per
        active user) and the cell's unused share."""
        if use is None:
            return []
        world, pol = self.model.world, self.policy
        k = world.slice_classes
        hz = float(world.cell_hz[self.cell])
        unused = max(0.0, 1.0 - float(use["hz"].sum()) / hz)
        rows = []
        for c in range(k + 1):
            sliced = c < k and pol is not None
            users = float(use["users"][c])
            rows.append(
                {
                    "window": self.policy_window,
                    "cell": self.cell,
                    "slice": f"t{c}" if c < k else "best-effort",
                    "dedicated": float(pol.dedicated[0, c]) if sliced else 0.0,
                    "minimum": float(pol.minimum[0, c]) if sliced else 0.0,
                    "maximum": float(pol.maximum[0, c]) if sliced else 1.0,
                    "received_mhz": float(use["hz"][c]) / 1e6,
                    "received_per_user_mhz": float(use["hz"][c]) / 1e6 / users
                    if users > 0
                    else float("nan"),
                    "cpu_gcycles": float(use["cpu"][c]) / 1e9,
                    "active_users": users,
                    "cell_unused_share": unused,
                }
            )
        return rows


class LatestReports:
    """The newest QoS report of every user that reported, kept column-wise.

    Batches are stored as they arrive and compacted (last row per user wins) once they hold
    four times as many rows as there are users, so the cost per report is a few array
    operations.
    """

    def __init__(self) -> None:
        self._parts: list[MessageBatch] = []
        self._rows = 0
        self._users = 0

    def add(self, batch: MessageBatch) -> None:
        self._parts.append(batch)
        self._rows += len(batch)
        if self._rows > 4 * max(self._users, 1024):
            self._compact()

    def _compact(self) -> MessageBatch | None:
        if not self._parts:
            return None
        merged = MessageBatch.concat(self._parts)
        users = merged.columns["user"]
        _, last_rev = np.unique(users[::-1], return_index=True)
        merged = merged.take(np.sort(len(users) - 1 - last_rev))
        self._parts, self._rows, self._users = [merged], len(merged), len(merged)
        return merged

    def as_dict(self) -> dict[int, object]:
        """user id -> its newest :class:`model.messages.QosReport`."""
        merged = self._compact()
        if merged is None:
            return {}
        return dict(zip(merged.columns["user"].tolist(), merged.payloads(), strict=True))


class EdgeServer(NetAgent):
    """An edge server: computing and caching; hosts level-one DAs and edge twins.

    Users without a digital agent report here; the server takes their reports as batches
    (``accepts_batches``), thousands per slot at 10^5 users.
    """

    role = "infrastructure"
    accepts_batches = True

    def __init__(
        self,
        model: mesa.Model,
        node: str,
        index: int,
        cpu_hz: float,
        cache_b: float,
        sensing: float,
    ):
        super().__init__(model, node)
        self.index = index
        model.ledger.add_capacity(node, Res.COMPUTE, cpu_hz)
        model.ledger.add_capacity(node, Res.CACHE, cache_b)
        model.ledger.add_capacity(node, Res.SENSING, sensing)
        self.reports_received = 0
        self._latest = LatestReports()
        self.cpu_hz = cpu_hz
        self.policy: RrmPolicy | None = None

    def announce(self, controller: int, cells: tuple[int, ...]) -> None:
        """REGISTER with the slicing controller: this server and the cells it serves."""
        reg = Registration("edge-server", self.unique_id, self.node, (), tuple(cells), self.index)
        self.send(controller, Kind.REGISTER, reg)

    @property
    def latest(self) -> dict[int, object]:
        """user id -> the newest QoS report it sent here."""
        return self._latest.as_dict()

    def act(self) -> None:
        """Keep the latest QoS report of every user that reports here directly; enforce the
        compute slices (SLICE grants as RRM policies) and apply the orchestrator's per-user
        COMPUTE allocations inside them."""
        world = self.model.world
        for item in self.take_inbox():
            if item.kind is Kind.COMPUTE:
                p = item.payload
                world.cpu_weight[list(p.users)] = p.cycles_per_s
                cell = p.slice.rsplit("@bs", 1)[-1]  # the unit's cell: allocated for it
                if cell.isdigit():
                    world.cpu_weight_cell[list(p.users)] = int(cell)
                continue
            if item.kind is Kind.SLICE:
                if world.slice_classes > 0 and world.edge_cpu_hz is not None:
                    self._enforce(item.payload)
                continue
            if item.kind is not Kind.QOS_REPORT:
                continue
            batch = item if isinstance(item, MessageBatch) else MessageBatch.from_messages([item])
            self.reports_received += len(batch)
            self._latest.add(batch)

    def _enforce(self, grant: SliceGrant) -> None:
        from policies.slicing.rrm import policy_from_grants

        world = self.model.world
        k = world.slice_classes
        width = world.n_cells * k

        def column(key: str) -> int | None:
            klass, cell = slice_class_of(key), key.rsplit("@bs", 1)
            if klass is None or len(cell) != 2 or not cell[1].isdigit():
                return None
            return int(cell[1]) * k + klass

        shares = grant_shares(grant, f"compute@edge{self.index}", self.cpu_hz, width, column)
        new = policy_from_grants(shares[None, :], self.model.cfg.slicing)
        shape = (len(world.edge_cpu_hz), width)
        world.compute_policy = apply_policy_row(world.compute_policy, self.index, shape, new)
        self.policy = new


class Cloud(NetAgent):
    """The cloud: hosts level-two DAs and the cloud twin."""

    role = "infrastructure"

    def __init__(self, model: mesa.Model, node: str, cpu_hz: float, storage_b: float):
        super().__init__(model, node)
        model.ledger.add_capacity(node, Res.COMPUTE, cpu_hz)
        model.ledger.add_capacity(node, Res.CACHE, storage_b)

    def act(self) -> None:
        self.take_inbox()
