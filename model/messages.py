"""Typed messages exchanged by agents over the topology (DESIGN.md "One step of the world").

A :class:`Message` says who sends it to whom, its :class:`Kind`, a typed payload (one payload
class per kind, checked at send time), its size in bytes (which, with the path, sets its
delivery time) and the times it was sent and is due. Agents never call each other's methods;
they send these.

Immutability and typing as STYLE.md asks, with one measured deviation: the envelope and the
high-volume :class:`QosReport` are ``typing.NamedTuple`` rather than frozen dataclasses. A
frozen slotted dataclass pays ``object.__setattr__`` per field on construction (2.9 us for 8
fields here, against 0.7 us for a NamedTuple), and at 10^4 users a thousand reports are built
every slot. Low-volume payloads stay frozen dataclasses.

At 10^4 users and more even a NamedTuple per report is too much, so high-volume kinds can also
travel as a :class:`MessageBatch`: one object holding many rows column-wise, each row exactly
the :class:`Message` it stands for (``MessageBatch.messages()`` builds them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np


class Kind(StrEnum):
    """What a message is about. The value names it in metrics and outputs."""

    QOS_REPORT = "qos_report"  # user -> edge server / its level-one DA (seed 000 III.B)
    DEMAND = "demand"  # level-one DA -> level-two DA (III.C.2)
    DYNAMICS = "dynamics"  # level-one DA -> level-two DA: emulated B/C (III.D.2)
    WINDOW = "window"  # level-two DA -> level-one DAs: slice window length (III.D.2)
    STRATEGY = "strategy"  # level-two DA <-> level-two DA: best responses (III.D.2)
    SLICE = "slice"  # slicing controller -> edge/BS: slice reservations
    ALLOCATION = "allocation"  # edge orchestrator -> BS: per-user shares (III.C.3)
    TWIN_REPORT = "twin_report"  # vehicle cluster -> edge twin (seed 003 III.B)
    ATTRIBUTES = "attributes"  # edge twin -> cloud twin: PLVN attributes/categories
    META_MODEL = "meta_model"  # cloud twin -> edge twin (Fig. 5)
    META_UPDATE = "meta_update"  # edge twin -> cloud twin: adaptation-loss gradients
    MODEL_REQUEST = "model_request"  # edge twin -> cloud twin: fetch a meta model
    MIGRATION = "migration"  # edge twin state moving between edge servers
    QOE_MODEL = "qoe_model"  # level-one DA -> edge orchestrator: the user's fitted QoE model
    REGISTER = "register"  # any agent -> level-two controller: "I exist, here is what I serve"
    RRM_POLICY = "rrm_policy"  # a pool owner's slice policy as applied (TS 28.541 RRMPolicyRatio)
    COMPUTE = "compute"  # edge orchestrator -> edge server: per-user cycles/s inside a slice


# Default sizes in bytes when a sender does not give one (headers + a few floats; meta models
# and gradients carry their real tensor size).
DEFAULT_SIZE: dict[Kind, int] = {
    Kind.QOS_REPORT: 256,
    Kind.DEMAND: 192,
    Kind.DYNAMICS: 128,
    Kind.WINDOW: 64,
    Kind.STRATEGY: 96,
    Kind.SLICE: 128,
    Kind.ALLOCATION: 128,
    Kind.TWIN_REPORT: 512,
    Kind.ATTRIBUTES: 256,
    Kind.META_MODEL: 4096,
    Kind.META_UPDATE: 4096,
    Kind.MODEL_REQUEST: 128,
    Kind.MIGRATION: 8192,
    Kind.QOE_MODEL: 512,
    Kind.REGISTER: 96,
    Kind.RRM_POLICY: 256,
    Kind.COMPUTE: 128,
}


class QosReport(NamedTuple):
    """One user's measurements over its last reporting period (seed 000 III.B, Table I).

    ``mos`` is the user's feedback score when it gave one this period (NaN otherwise).
    """

    user: int
    cell: int
    throughput_mbps: float
    delay_ms: float
    jitter_ms: float
    loss: float
    sinr_db: float
    speed_mps: float
    rebuffer: float = 0.0  # stall seconds per minute of the period (video)
    quality: float = float("nan")  # Q in [0, 1] (video)
    behaviour: float = float("nan")  # B in [1, 2]
    environment: float = float("nan")  # C in [1, 2]
    mos: float = float("nan")  # the user's feedback score
    swipes: float = 0.0  # video requests (swipes) per minute
    buffer_s: float = 0.0  # playback buffer at the end of the period


@dataclass(frozen=True, slots=True)
class Allocation:
    """Per-user bandwidth (Hz) for users of one cell, set by an edge orchestrator (III.C.3).

    ``users`` are row indices into the world's user arrays; the cell hands out its bandwidth in
    proportion to ``weights`` (the allocated Hz), so an allocation is work-conserving.
    """

    users: tuple[int, ...]
    weights: tuple[float, ...]
    slice: str = ""  # the slice (group key) these users belong to; "" = no slice policy
    window: int = -1  # the slicing window the allocation was made in


@dataclass(frozen=True, slots=True)
class DemandReport:
    """A level-one DA's QoE-based demand for the next slice window (seed 000 III.C.2, Fig. 3).

    ``comm_hz``/``cpu_hz`` are the least resources for which the DA's QoE model predicts the
    user meets its ELA (capped at the DA's limits when ``attainable`` is False).
    ``gain_per_hz`` is the predicted QoE gain per Hz at that demand (for greedy abstraction).
    """

    user: int
    cell: int
    service: str
    window: int
    window_s: float
    comm_hz: float
    cpu_hz: float
    predicted_qoe: float
    ela: float
    attainable: bool
    gain_per_hz: float
    structure: str


@dataclass(frozen=True, slots=True)
class DynamicsReport:
    """A level-one DA's emulated behaviour/environment over the coming window (III.D.2)."""

    user: int
    window: int
    b_mean: float
    b_std: float
    c_mean: float
    c_std: float
    handovers: int
    ela_ratio: float


@dataclass(frozen=True, slots=True)
class WindowNotice:
    """Level-two DAs tell level-one DAs the next slice window (III.D.2, adaptive window)."""

    window: int
    start_s: float
    length_s: float


@dataclass(frozen=True, slots=True)
class QoeModelNotice:
    """A level-one DA's current QoE model, for the edge orchestrator's grouping and scheduling.

    ``model`` is a ``policies.qoe.QoeModel`` (immutable); ``context`` the latest B, C and QoS
    the DA observed, used to evaluate QoE against bandwidth.
    """

    user: int
    row: int  # the user's row in the world's arrays (its address at the cells and servers)
    cell: int
    structure: str
    model: Any
    ela: float
    context: dict[str, float]
    spectral_eff: float


@dataclass(frozen=True, slots=True)
class SliceGrant:
    """The slicing controller's reservations for one window: per group and pool, in units
    of the pool (Hz for ``comm@bs<j>``, cycles/s for ``compute``)."""

    window: int
    groups: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]
    pools: tuple[str, ...]
    slices: tuple[tuple[float, ...], ...]
    start_s: float = float("nan")  # when the window opened
    length_s: float = float("nan")  # the window's length (the adaptive slice window, III.D.2)


@dataclass(frozen=True, slots=True)
class Registration:
    """An agent announces itself to the level-two controller when it starts or migrates.

    ``role`` is "level-one", "orchestrator", "cell" or "edge-server"; ``agent`` its id (the
    address replies go to); ``node`` the topology node it lives on; ``users`` the user rows it
    acts for (a level-one DA: its user); ``cells`` the cells it serves or is (an orchestrator:
    the cells of its edge server; a cell: itself); ``edge`` its edge server's index (-1: none).
    """

    role: str
    agent: int
    node: str
    users: tuple[int, ...] = ()
    cells: tuple[int, ...] = ()
    edge: int = -1


@dataclass(frozen=True, slots=True)
class RrmPolicyNotice:
    """The RRM policy of one resource pool for one window (3GPP TS 28.541 ``RRMPolicyRatio``).

    One row per slice: ``dedicated``, ``minimum`` and ``maximum`` are shares of the pool in
    [0, 1] (dedicated <= minimum <= maximum); ``members`` the user rows of each slice.
    """

    window: int
    pool: str  # "comm@bs<j>" or "compute@edge<e>"
    slices: tuple[str, ...]
    dedicated: tuple[float, ...]
    minimum: tuple[float, ...]
    maximum: tuple[float, ...]
    members: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class ComputeAllocation:
    """An edge orchestrator's per-user computing (cycles/s) inside one slice of its edge server.

    The edge-server agent applies it (within the slice's RRM policy); the orchestrator never
    writes the world's arrays itself.
    """

    window: int
    slice: str
    users: tuple[int, ...]
    cycles_per_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Strategy:
    """A player's announced reservation vector in a best-response round (III.D.2)."""

    window: int
    round: int
    player: int
    profile: tuple[tuple[float, ...], ...]
    improvement: float
    route: tuple[int, ...] = ()  # agents still to visit this round (sequential token passing)


@dataclass(frozen=True, slots=True, eq=False)
class GameNotice:
    """The slicing controller tells a level-two player the window's game (III.D.2).

    ``game`` is a ``policies.slicing.SlicingGame`` (prices, capacities and every group's gain
    curve); ``player`` the receiver's row in it; ``players`` the agent ids by row; ``mechanism``
    "game" (reservations) or "kelly" (bids); ``dynamics`` "sequential" (the profile travels as
    a token) or "damped-simultaneous" (each player replies its best response to the controller).
    """

    window: int
    player: int
    players: tuple[int, ...]
    game: Any
    mechanism: str
    dynamics: str
    reserve_bid: float


@dataclass(frozen=True, slots=True)
class Generic:
    """A payload for kinds whose content is a small mapping (used by tests and extensions)."""

    data: dict[str, Any] = field(default_factory=dict)


# Payload class each kind must carry; kinds registered later (DAs, twins) extend this mapping.
PAYLOAD_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.QOS_REPORT: (QosReport,),
    Kind.ALLOCATION: (Allocation,),
    Kind.DEMAND: (DemandReport,),
    Kind.DYNAMICS: (DynamicsReport,),
    Kind.WINDOW: (WindowNotice,),
    Kind.QOE_MODEL: (QoeModelNotice,),
    Kind.SLICE: (SliceGrant,),
    Kind.STRATEGY: (Strategy, GameNotice),
    Kind.REGISTER: (Registration,),
    Kind.RRM_POLICY: (RrmPolicyNotice,),
    Kind.COMPUTE: (ComputeAllocation,),
}


def register_payload(kind: Kind, *types: type) -> None:
    """Declare the payload type(s) allowed for ``kind`` (called by the modules defining them)."""
    PAYLOAD_TYPES[kind] = tuple(dict.fromkeys((*PAYLOAD_TYPES.get(kind, ()), *types)))


class Message(NamedTuple):
    """A message in flight or delivered (immutable)."""

    kind: Kind
    sender: int
    receiver: int
    payload: Any
    size_bytes: int
    sent_at: float
    deliver_at: float
    seq: int


@dataclass(frozen=True, slots=True, eq=False)
class MessageBatch:
    """Many messages of one kind sent in the same slot, held column-wise (struct of arrays).

    Row ``i`` is exactly the :class:`Message` ``message(i)`` would build: same sender, receiver,
    payload (``payload_type`` made from row ``i`` of ``columns``), size, times and sequence
    number. The bus keeps rows in (``deliver_at``, ``seq``) order, counts every row as one
    message, and hands batches whole to receivers that set ``accepts_batches`` (edge servers
    taking thousands of reports per slot) and as single messages to everyone else.
    """

    kind: Kind
    payload_type: type
    size_bytes: int
    seq: np.ndarray  # int64
    sent_at: np.ndarray  # float64, seconds
    deliver_at: np.ndarray  # float64, seconds
    sender: np.ndarray  # int64 agent ids
    receiver: np.ndarray  # int64 agent ids
    columns: dict[str, np.ndarray]  # payload fields, one array each

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def key(self) -> tuple[float, int]:
        """(time, seq) of the first row: where the batch sits among single messages."""
        return float(self.deliver_at[0]), int(self.seq[0])

    def take(self, rows: np.ndarray | slice) -> MessageBatch:
        """The rows ``rows`` as a batch of their own (views where numpy allows)."""
        return MessageBatch(
            self.kind,
            self.payload_type,
            self.size_bytes,
            self.seq[rows],
            self.sent_at[rows],
            self.deliver_at[rows],
            self.sender[rows],
            self.receiver[rows],
            {k: v[rows] for k, v in self.columns.items()},
        )

    def payloads(self) -> list[Any]:
        """Every row's payload object, in row order."""
        names = list(self.columns)
        cols = [self.columns[k].tolist() for k in names]
        make = self.payload_type
        return [make(**dict(zip(names, row, strict=True))) for row in zip(*cols, strict=True)]

    def messages(self) -> list[Message]:
        """Every row as a :class:`Message`, in row order."""
        return [
            Message(self.kind, s, r, p, self.size_bytes, t0, t, q)
            for s, r, p, t0, t, q in zip(
                self.sender.tolist(),
                self.receiver.tolist(),
                self.payloads(),
                self.sent_at.tolist(),
                self.deliver_at.tolist(),
                self.seq.tolist(),
                strict=True,
            )
        ]

    @staticmethod
    def from_messages(msgs: list[Message]) -> MessageBatch:
        """A batch of single messages of one kind and NamedTuple payload type, in order."""
        first = msgs[0]
        ptype = type(first.payload)
        return MessageBatch(
            first.kind,
            ptype,
            first.size_bytes,
            np.array([m.seq for m in msgs], dtype=np.int64),
            np.array([m.sent_at for m in msgs], dtype=float),
            np.array([m.deliver_at for m in msgs], dtype=float),
            np.array([m.sender for m in msgs], dtype=np.int64),
            np.array([m.receiver for m in msgs], dtype=np.int64),
            {k: np.array([getattr(m.payload, k) for m in msgs]) for k in ptype._fields},
        )

    @staticmethod
    def concat(parts: list[MessageBatch]) -> MessageBatch:
        """One batch of the rows of ``parts`` (all of one kind and payload type), in order."""
        first = parts[0]
        if len(parts) == 1:
            return first
        return MessageBatch(
            first.kind,
            first.payload_type,
            first.size_bytes,
            np.concatenate([p.seq for p in parts]),
            np.concatenate([p.sent_at for p in parts]),
            np.concatenate([p.deliver_at for p in parts]),
            np.concatenate([p.sender for p in parts]),
            np.concatenate([p.receiver for p in parts]),
            {k: np.concatenate([p.columns[k] for p in parts]) for k in first.columns},
        )


def payload_fields(payload_type: type) -> tuple[tuple[str, ...], frozenset[str]]:
    """(all field names, names with a default) of a NamedTuple or dataclass payload type."""
    if hasattr(payload_type, "_fields"):
        return payload_type._fields, frozenset(payload_type._field_defaults)
    from dataclasses import MISSING, fields

    fs = fields(payload_type)
    return tuple(f.name for f in fs), frozenset(
        f.name for f in fs if f.default is not MISSING or f.default_factory is not MISSING
    )
