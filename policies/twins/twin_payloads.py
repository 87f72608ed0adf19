"""Payloads of the messages between PLVNs, edge twins and the cloud twin (seed 003, Fig. 5).

One frozen dataclass per message kind of the twin protocol; the agents register them with the
message bus (``model.messages.register_payload``) and give every message its size in bytes:
trajectories by their arrays, meta models and gradients by their real tensor size.

=====================  ===============================  =======================================
message kind           payload                          seed 003
=====================  ===============================  =======================================
``twin_report``        :class:`TwinReport`              III.B: PLVN data "periodically updated
                                                        to the edge DT"
``attributes``         :class:`AttributeReport`         III.C.2: edge DT "extracts and sends
                                                        high-level data such as attributes"
``model_request``      :class:`ModelRequest`            III.B: the least-general meta model "is
                                                        fetched"
``meta_model``         :class:`ModelShipment`           Fig. 5a (purpose "train"), Fig. 5b
                                                        ("serve"), dispatch to the PLVN
                                                        ("individual")
``meta_update``        :class:`MetaUpdate`              Fig. 5a: adaptation-loss gradients
``transfer_request``   :class:`TransferRequest`         III.C.1 / Fig. 6 PPO-TL: an individual
                                                        model of a source task (edge to edge)
``migration``          :class:`MigrationNotice`         III.B: the edge DT "migrates among edge
                                                        servers to follow the vehicle cluster"
=====================  ===============================  =======================================

There is no message kind for an individual model: it travels as ``meta_model`` with
``purpose="individual"`` (same tensor format, same size accounting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from torch import Tensor

from policies.meta.functional import params_nbytes
from policies.twins.attributes import CategoryKey, PLVNAttributes

Params = dict[str, Tensor]
HEADER_BYTES = 128
PURPOSES = ("train", "serve", "individual", "transfer")


@dataclass(frozen=True, slots=True, eq=False)
class Trajectory:
    """What a PLVN experienced over T slots: states, actions, rewards (seed III.B "data").

    States are raw (radio B(k), object and distance levels, previous modes), so the twin can
    both observe them like the policy does and re-evaluate them with its reward model.
    ``action`` is the policy's continuous Gaussian sample (NaN in slots without a model, when
    every pair ran the default stand-alone mode) and ``logprob`` its log density;
    ``model_version`` names the individual model that acted (-1: none).
    ``final_*`` is the state after the last slot (to bootstrap values).
    """

    bandwidth_mhz: NDArray[np.float64]  # (T,)
    object_level: NDArray[np.int64]  # (T, N)
    distance_level: NDArray[np.int64]  # (T, N)
    prev_mode: NDArray[np.bool_]  # (T, N)
    action: NDArray[np.float32]  # (T, N)
    logprob: NDArray[np.float32]  # (T,)
    reward: NDArray[np.float64]  # (T,)
    model_version: NDArray[np.int64]  # (T,)
    final_bandwidth_mhz: float
    final_object_level: NDArray[np.int64]  # (N,)
    final_distance_level: NDArray[np.int64]  # (N,)
    final_prev_mode: NDArray[np.bool_]  # (N,)
    slot: NDArray[np.int64] | None = None  # (T,) k within the PLVN's episode, if it has one
    done: NDArray[np.bool_] | None = None  # (T,) the episode ended after this slot

    def __len__(self) -> int:
        return int(self.reward.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays as sent."""
        arrays = (self.bandwidth_mhz, self.object_level, self.distance_level, self.prev_mode,
                  self.action, self.logprob, self.reward, self.model_version,
                  self.final_object_level, self.final_distance_level, self.final_prev_mode,
                  *(a for a in (self.slot, self.done) if a is not None))
        return int(sum(a.nbytes for a in arrays)) + 8


@dataclass(frozen=True, slots=True, eq=False)
class TwinReport:
    """Periodic PLVN -> edge twin update: raw attribute data and the trajectory."""

    plvn: int
    time_s: float
    rsu: int
    x_m: float
    hour: float
    city: str
    road_type: str
    hdvs: int
    vehicle_count: float
    trajectory: Trajectory

    @property
    def nbytes(self) -> int:
        return HEADER_BYTES + self.trajectory.nbytes


@dataclass(frozen=True, slots=True)
class AttributeReport:
    """Edge twin -> cloud twin: a PLVN's attributes and category path changed."""

    plvn: int
    path: CategoryKey
    attributes: PLVNAttributes


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """Edge twin -> cloud twin: fetch the least-general meta model matching ``path``.

    ``want`` is the category the edge twin asks for (None: no model wanted, only training);
    the cloud twin answers with its least-general available match of ``path``.
    ``request_training`` asks the cloud twin to train a meta model for the PLVN's (unknown)
    category (seed III.C.2).
    """

    plvn: int
    path: CategoryKey
    want: CategoryKey | None
    request_training: bool


@dataclass(frozen=True, slots=True, eq=False)
class ModelShipment:
    """A model in transit: a meta model for training or serving, or an individual model.

    Attributes:
        purpose: "train" (a meta-training round, Fig. 5a), "serve" (reply to a fetch or a push
            of a newly trained category model) or "individual" (edge twin -> PLVN dispatch).
        key: category of the meta model (of the meta model an individual model came from).
        version: meta model version, or individual model version for "individual".
        params: the tensors.
        round_id: meta-training round (purpose "train"), else -1.
        catalogue: categories with a trained meta model at the cloud twin and their versions,
            as the cloud twin knew them when sending.
    """

    purpose: str
    key: CategoryKey
    version: int
    params: Params
    round_id: int = -1
    catalogue: tuple[tuple[CategoryKey, int], ...] = ()


@dataclass(frozen=True, slots=True, eq=False)
class MetaUpdate:
    """Edge twin -> cloud twin: one task's meta update (gradient or Reptile direction)."""

    round_id: int
    plvn: int
    key: CategoryKey
    update: Params
    adaptation_loss: float


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """Edge twin -> the edge twin of a source task: send me your trained individual model.

    ``meta.init = "transfer"`` (seed 003 Sec. III.C.1 discusses it, Fig. 6 PPO-TL uses it).
    The answer is a :class:`ModelShipment` with purpose "transfer".
    """

    plvn: int
    source: str


@dataclass(frozen=True, slots=True)
class MigrationNotice:
    """An edge twin's state moving from ``source`` to ``target`` edge server."""

    plvn: int
    source: str
    target: str
    state_bytes: int


def tensor_bytes(params: Params) -> int:
    """Size of a tensor dict as sent (header + raw tensor bytes)."""
    return HEADER_BYTES + params_nbytes(params)
