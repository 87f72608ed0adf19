"""Every decision of the level-two agents is explained by messages they had received (issue 11,
item 3: no side channels).

The test records every message of a campus-video run with its payload and delivery time, then
walks the log: each WINDOW, game notice, STRATEGY and SLICE message the slicing controller or a
level-two DA sent must follow from what had been delivered to that sender before it was sent —
registrations for the addressees, DEMAND reports for the groups and members of a grant, the
game notice for a player's moves. Nothing the level-two agents decide may come from elsewhere.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest

from model.bus import MessageBus
from model.config import load_scenario
from model.messages import DemandReport, GameNotice, Kind, SliceGrant, Strategy, WindowNotice
from model.network_model import NetworkModel
from model.video_ext import VideoExtension
from policies.slicing.reports import ela_tier, group_key

SMALL = {"users.count": 8, "scheduler.train_steps": 800, "scheduler.target_update_every": 100}


@dataclass(frozen=True)
class Logged:
    kind: Kind
    sender: int
    receiver: int
    payload: Any
    sent_s: float
    deliver_s: float


def _run_logged(scheme: str, **extra: object) -> tuple[NetworkModel, list[Logged]]:
    cfg = load_scenario(
        "campus-video",
        {**SMALL, "scenario.scheme": scheme, "scenario.duration_s": 420.0, **extra},
    )
    log: list[Logged] = []
    send = MessageBus.send

    def recording(bus, now, sender, receiver, kind, payload, size_bytes=None):  # noqa: ANN001, ANN202
        msg = send(bus, now, sender, receiver, kind, payload, size_bytes)
        if msg is not None:
            log.append(Logged(kind, sender, receiver, payload, now, msg.deliver_at))
        return msg

    with pytest.MonkeyPatch.context() as mp:  # from construction on: start-up REGISTERs too
        mp.setattr(MessageBus, "send", recording)
        model = NetworkModel(cfg)
        while model.running:
            model.step()
    return model, log


def _received_before(log: list[Logged], agent: int, t: float) -> list[Logged]:
    return [m for m in log if m.receiver == agent and m.deliver_s <= t + 1e-9]


@pytest.fixture(scope="module", params=["proposed", "hsla-l2"])
def logged(request):  # noqa: ANN001, ANN201
    return _run_logged(request.param)


def test_every_level_two_decision_follows_from_received_messages(logged) -> None:  # noqa: ANN001
    model, log = logged
    ext = model.extensions.get(VideoExtension)
    controller = ext.controller_id
    cfg = model.cfg
    sent = [m for m in log if m.sender == controller]
    assert any(m.kind is Kind.SLICE for m in sent), "the run granted no slices"
    windows: dict[int, WindowNotice] = {}
    checked = defaultdict(int)
    for m in sent:
        inbox = _received_before(log, controller, m.sent_s)
        regs = {r.payload.agent: r.payload for r in inbox if r.kind is Kind.REGISTER}
        if isinstance(m.payload, WindowNotice):
            # a window goes only to level-one DAs that announced themselves
            assert regs.get(m.receiver) is not None and regs[m.receiver].role == "level-one"
            windows[m.payload.window] = m.payload
            checked["window"] += 1
        elif isinstance(m.payload, SliceGrant):
            g = m.payload
            assert m.receiver in regs, "a grant went to an agent that never registered"
            # the window and its length are those the controller itself announced
            assert g.window in windows and g.length_s == windows[g.window].length_s
            demands = [
                r.payload for r in inbox
                if r.kind is Kind.DEMAND and isinstance(r.payload, DemandReport)
                and r.payload.window == g.window and r.sender in regs
            ]
            keyed = defaultdict(set)
            for d in demands:
                tier = ela_tier(d.ela, cfg.behaviour.ela_low, cfg.behaviour.ela_high,
                                cfg.das.ela_tiers)
                keyed[group_key(d.service, d.cell, tier)].add(d.user)
            for key, members in zip(g.groups, g.members, strict=True):
                # every group is one the DEMAND reports of this window formed, every member a
                # user whose DA reported into it
                assert key in keyed, f"group {key} of window {g.window} came from no report"
                assert set(members) <= keyed[key], (key, members)
            # every pool is one a registered cell or edge server offers
            offered = {f"comm@bs{c}" for r in regs.values() if r.role == "cell" for c in r.cells}
            offered |= {f"compute@edge{r.edge}" for r in regs.values() if r.role == "edge-server"}
            assert set(g.pools) <= offered | {"compute"}, g.pools
            checked["slice"] += 1
        elif isinstance(m.payload, (GameNotice, Strategy)):
            checked["game"] += 1
    # level-two DAs (the players) move only after the controller told them of their game
    players = {m.receiver for m in sent if isinstance(m.payload, GameNotice)}
    for m in log:
        if m.sender in players and isinstance(m.payload, Strategy):
            inbox = _received_before(log, m.sender, m.sent_s)
            notices = [r for r in inbox if isinstance(r.payload, GameNotice)
                       and r.payload.window == m.payload.window]
            assert notices, "a player moved in a game it was never told of"
            checked["move"] += 1
    assert checked["window"] and checked["slice"] and checked["move"], dict(checked)

