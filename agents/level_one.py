"""Level-one digital agents: one per user, hosted on an edge server (seed 000 Sec. III.B-C).

A thin Mesa shell around :class:`policies.qoe.agent_core.LevelOneCore`, which holds the
history, factor selection and fit, emulation and demand prediction. The shell

* announces itself to the level-two slicing controller (``REGISTER``: its user's row, cell and
  home edge) when it starts and again when its user's home edge changes;
* hands each QoS report of its user (MOS feedback, behaviour/environment context) to the core,
  logs the fits it triggers and shares the current model with the edge orchestrator of the
  user's cell (``QOE_MODEL``, Fig. 4);
* on a ``WINDOW`` notice of the level-two controller (the only source of the window index and
  length) sends the core's demand and emulated dynamics for that window (``DEMAND``,
  ``DYNAMICS``, Fig. 3).

What it knows came in a message, is its own state, or is wiring handed over at start-up (an
address book): the controller's id, the orchestrator serving each cell, each cell's edge server,
its user's row. Which model family and demand rule it uses is the scheme's (``model.schemes``).
"""

from __future__ import annotations

from typing import Any

import mesa
import numpy as np

from agents.base import NetAgent
from model.messages import (
    DemandReport,
    DynamicsReport,
    Kind,
    QoeModelNotice,
    QosReport,
    Registration,
    WindowNotice,
)
from policies.qoe.agent_core import CoreConfig, LevelOneCore, report_features

__all__ = ["LevelOneDA", "report_features"]


class LevelOneDA(NetAgent):
    """The network-side proxy of one user."""

    role = "level_one"

    def __init__(
        self,
        model: mesa.Model,
        node: str,
        user_id: int,
        ela: float,
        ext: Any,
        *,
        row: int | None = None,
    ) -> None:
        super().__init__(model, node)
        self.user_id = user_id
        # wiring at construction: the user's row in the world arrays (its address in outputs)
        self.row = int(model.agent(user_id).index) if row is None else int(row)
        self.ela = float(ela)  # the user's experience level agreement (a contract, Sec. III.B)
        self.ext = ext  # configuration, the run's logs and the start-up address book
        self.core = LevelOneCore(
            CoreConfig.from_scenario(ext.cfg, ext.policies), ela, model.streams.get(f"da-{user_id}")
        )
        self._wiring: tuple[int, tuple[int, ...], tuple[int, ...]] | None = None
        self.home_edge = -1

    # -- read-only views of the core (what the logs and tests inspect) ----------------------
    @property
    def qoe_model(self) -> Any:
        return self.core.qoe_model

    @property
    def selection(self) -> Any:
        return self.core.selection

    @property
    def personalised(self) -> bool:
        return self.core.personalised

    @property
    def fits(self) -> int:
        return self.core.fits

    @property
    def mos(self) -> list[float]:
        return self.core.mos

    # -- wiring ----------------------------------------------------------------------------
    def deploy(
        self, controller: int | None, orchestrator_of_cell: tuple[int, ...],
        cell_edge: tuple[int, ...], cell: int,
    ) -> None:
        """Deployment: the address book (the slicing controller, the orchestrator of each
        cell, each cell's edge server) given once, then REGISTER from the user's current cell.

        The address book is this DA's own state from then on; it is never consulted to decide
        anything but where a message goes.
        """
        self._wiring = (controller, tuple(orchestrator_of_cell), tuple(cell_edge))
        self._register(int(cell))

    def _wire(self) -> tuple[int | None, tuple[int, ...], tuple[int, ...]]:
        if self._wiring is None:
            raise RuntimeError(f"level-one DA {self.unique_id} was never deployed")
        return self._wiring

    def _register(self, cell: int) -> None:
        controller, _, cell_edge = self._wire()
        edge = cell_edge[cell] if cell >= 0 else -1
        if edge == self.home_edge or controller is None:
            return
        self.home_edge = edge
        self.send(
            controller,
            Kind.REGISTER,
            Registration(
                role="level-one",
                agent=self.unique_id,
                node=self.node,
                users=(self.row,),
                cells=(cell,),
                edge=edge,
            ),
        )

    # -- inbox -----------------------------------------------------------------------------
    def act(self) -> None:
        for msg in self.take_inbox():
            if msg.kind is Kind.QOS_REPORT:
                self._observe(msg.payload)
            elif msg.kind is Kind.WINDOW:
                self._plan_window(msg.payload)

    def _observe(self, r: QosReport) -> None:
        self._register(int(r.cell))
        event = self.core.observe(r)
        if event is not None:
            self._log_fit(event)
        self._notify_orchestrator(r)

    def _log_fit(self, event: Any) -> None:
        m = self.core.qoe_model
        reason = event.reason
        if event.kept_previous:
            kept = "previous personal" if self.core.personalised else "generic"
            reason = f"{reason}: no factor significant, kept the {kept} model"
        extra = {
            "rule": event.rule,
            "prior_weight": event.prior_weight,
            "factors": ",".join(m.factors),
            "params": ",".join(
                f"{k}={v:.6g}" for k, v in zip(m.param_names, m.params, strict=True)
            ),
            **event.tracking,
        }
        self.ext.log_fit(self, reason, **extra)

    def _plan_window(self, notice: WindowNotice) -> None:
        """Report this user's demand and emulated dynamics for the coming window (Fig. 3)."""
        controller, _, _ = self._wire()
        plan = self.core.plan_window(notice.length_s)
        est, forecast = plan.estimate, plan.forecast
        cell = self.core.last.cell if self.core.last is not None else -1
        self.send(
            controller,
            Kind.DEMAND,
            DemandReport(
                user=self.user_id,
                cell=cell,
                service="video",
                window=notice.window,
                window_s=notice.length_s,
                comm_hz=est.bandwidth_hz,
                cpu_hz=est.cpu_hz,
                predicted_qoe=est.predicted_qoe,
                ela=self.ela,
                attainable=est.attainable,
                gain_per_hz=plan.gain_per_hz,
                structure=plan.structure,
            ),
        )
        self.send(
            controller,
            Kind.DYNAMICS,
            DynamicsReport(
                user=self.user_id,
                window=notice.window,
                b_mean=float(np.mean(forecast.b_samples)),
                b_std=float(np.std(forecast.b_samples)),
                c_mean=float(np.mean(forecast.c_samples)),
                c_std=float(np.std(forecast.c_samples)),
                handovers=self.core.take_handovers(),
                ela_ratio=self.core.recent_ela_ratio(),
            ),
        )
        self.ext.log_demand(self, notice, est, plan.structure)

    def _notify_orchestrator(self, r: QosReport) -> None:
        _, orchestrator_of_cell, _ = self._wire()
        notice = QoeModelNotice(
            user=self.user_id,
            row=self.row,
            cell=r.cell,
            structure=self.core.qoe_model.structure_id,
            model=self.core.qoe_model,
            ela=self.ela,
            context=self.core.model_context(r),
            spectral_eff=self.core.spectral_efficiency(),
        )
        self.send(orchestrator_of_cell[int(r.cell)], Kind.QOE_MODEL, notice)
