"""Vehicle clusters: the physical local vehicular networks (PLVNs) of seed 003 (Sec. III.B, IV).

A :class:`VehicleCluster` is a thin handle on one row of the vehicular extension's arrays
(position, RSU, HDVs, CAV perception state), as a user is a row of the world's arrays. It acts
on events only:

* every ``report_period_s`` it sends its edge twin a ``twin_report``: the raw attribute data
  (RSU, position, local hour, city, road type, vehicles) and the trajectory of the slots since
  its last report (states, actions, rewards; seed III.B: "the data of the PLVN ... are
  periodically updated to the edge DT");
* a ``meta_model`` message with purpose "individual" is an individual model dispatched by its
  edge twin (seed III.C.2); from the next slot its CAV pairs decide with it. (The message kinds
  have no separate "model" kind; the payload's purpose says what it is.)
"""

from __future__ import annotations

from typing import Any

import mesa

from agents.base import NetAgent
from agents.twins import register_twin_payloads
from model.messages import Kind

register_twin_payloads()


class VehicleCluster(NetAgent):
    """A moving cluster of CAV pairs and HDVs (one PLVN); ``index`` is its row in the fleet."""

    role = "vehicle"

    def __init__(self, model: mesa.Model, index: int, fleet: Any, first_report_s: float) -> None:
        super().__init__(model, f"veh:{index}")
        self.index = index
        self.plvn = index
        self.fleet = fleet
        self.twin_id: int | None = None
        self.reports_sent = 0
        self.models_received = 0
        self.next_report_s = first_report_s
        model.wake(self, first_report_s)

    def act(self) -> None:
        for msg in self.take_inbox():
            if msg.kind is Kind.META_MODEL and msg.payload.purpose == "individual":
                self.fleet.install_policy(self.index, msg.payload.params, msg.payload.version)
                self.models_received += 1
        now = self.model.now_s
        if now + 1e-9 >= self.next_report_s and self.twin_id is not None:
            report = self.fleet.take_report(self.index, now)
            self.send(self.twin_id, Kind.TWIN_REPORT, report, report.nbytes)
            self.reports_sent += 1
            period = self.fleet.ops.report_period_s
            while self.next_report_s <= now + 1e-9:
                self.next_report_s += period
            self.model.wake(self, self.next_report_s)
