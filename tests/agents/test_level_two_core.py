"""The slicing controller's core driven through messages, without Mesa (seed 000 Sec. III.D).

The dynamics the agents play over STRATEGY messages are the dynamics of ``policies.slicing``:
same game, same start -> same rounds, same profile, same certificate. What the controller knows
comes from messages: REGISTER says who is out there, DEMAND reports from the registered DAs
close the collection, SLICE goes to every registered orchestrator and cell. Under HSLA-L2
(demand "sla") the game depends on QoS and SLA only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from model.messages import Kind, Registration, SliceGrant, WindowNotice
from policies.slicing import SlicingParams, conclude, play
from policies.slicing.controller_core import ControllerConfig
from tests.agents.level_two_harness import CTRL, ORCH, Harness, report

CELLS = {0: 0, 1: 0}
CAPACITY = {"comm@bs0": 10e6, "comm@bs1": 10e6, "compute@edge0": 10e9}


def _config(demand: str = "qoe", **params: object) -> ControllerConfig:
    return ControllerConfig(
        params=SlicingParams(**params),
        first_window_s=300.0,
        fixed_window_s=300.0,
        adaptive=False,
        demand=demand,
        ela_low=3.0,
        ela_high=5.0,
        ela_tiers=2,
        first_open_s=5.0,
        round_budget=1.0,
    )


def _demand(n: int, seed: int = 0):
    """Per (window, DA): a demand that changes every window (so every window's game does)."""

    def demand(window: int, k: int):
        rng = np.random.default_rng([seed, window, k])
        return report(
            user=k,
            cell=k % 2,
            ela=float(rng.uniform(3.0, 5.0)),
            comm_hz=float(rng.uniform(0.5e6, 4e6)),
            cpu_hz=float(rng.uniform(0.5e9, 3e9)),
            window=window,
            gain_per_hz=float(rng.uniform(1e-7, 5e-7)),
        )

    return demand


def _harness(config: ControllerConfig, n: int = 8, ticks: int = 1300) -> Harness:
    h = Harness(config, _demand(n), n, CELLS, CAPACITY.__getitem__)
    h.run(ticks)
    return h


CASES = [
    {"mechanism": "game"},
    {"mechanism": "game", "dynamics": "damped-simultaneous"},
    {"mechanism": "game", "game_variant": "capacity-coupled", "price_coefficients": (1e-7,)},
    {"mechanism": "kelly"},
    {"mechanism": "kelly", "dynamics": "sequential", "max_rounds": 12},
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: "-".join(map(str, p.values())))
def test_agents_play_exactly_the_policy_dynamics(params):
    h = _harness(_config(**params))
    outcomes = h.core_outcomes
    assert len(outcomes) >= 3
    for o in outcomes:
        direct = play(o.game, h.core.params, start=o.window.start_profile)
        assert len(direct.rounds) == len(o.trajectory.rounds)
        np.testing.assert_array_equal(direct.final_profile, o.profile)
        for a, b in zip(direct.rounds, o.trajectory.rounds, strict=True):
            np.testing.assert_array_equal(a.regrets, b.regrets)
        assert o.stop_reason == ("converged" if direct.converged else "max-rounds")
        # the certificate is of the game the players were sent, at the profile they reached
        sent = [
            m.payload.game
            for m in h.log
            if m.kind is Kind.STRATEGY
            and hasattr(m.payload, "game")
            and m.payload.window == o.window.index
        ]
        assert all(g is o.game for g in sent)
        assert len(sent) == (o.game.n_players if len(o.trajectory.rounds) > 1 else 0)
        cert, slices = conclude(o.game, o.profile, h.core.params)
        np.testing.assert_array_equal(cert.regrets, o.certificate.regrets)
        np.testing.assert_array_equal(slices, o.slices)


def test_default_dynamics_reach_certified_equilibria():
    for mechanism, dynamics in (("game", "sequential"), ("kelly", "damped-simultaneous")):
        h = _harness(_config(mechanism=mechanism))
        assert h.core.params.dynamics == dynamics
        for o in h.core_outcomes:
            assert o.stop_reason == "converged"
            assert o.certificate.nash_gap <= h.core.params.epsilon


def test_collection_counts_reports_of_registered_das_and_grants_reach_registered_agents():
    h = Harness(_config(), _demand(4), 4, CELLS, CAPACITY.__getitem__)
    h.run(12)
    w = h.core.window
    assert w.expected == tuple(Harness.da(k) for k in range(4))
    windows = [m for m in h.log if isinstance(m.payload, WindowNotice)]
    assert {m.receiver for m in windows} == set(w.expected)
    # a report from an agent that never registered is not counted
    h.core.on_demand(999, report(9, 0, 4.0, 1e6, 1e9, window=w.index))
    assert h.core.unregistered_reports == 1 and 9 not in w.demands
    h.run(600)
    grants = [m for m in h.log if isinstance(m.payload, SliceGrant)]
    assert grants
    first = grants[0].payload
    assert {m.receiver for m in grants if m.payload.window == first.window} == {2000, 2001, ORCH}
    assert (first.start_s, first.length_s) == (w.start_s, w.length_s)


def test_a_late_registered_da_is_waited_for_from_the_next_window():
    h = Harness(_config(), _demand(3), 3, CELLS, CAPACITY.__getitem__)
    h.run(12)
    assert len(h.core.window.expected) == 3
    h.post(1003, CTRL, Kind.REGISTER, Registration("level-one", 1003, "edge:0", users=(3,)))
    h.n_das = 4
    h.run(400)
    assert h.core.window.index >= 1 and len(h.core.window.expected) == 4
    assert 3 in h.core.window.demands


def _game_of(reports, demand: str):
    h = Harness(
        _config(demand),
        lambda w, k: dataclasses.replace(reports[k], window=w),
        len(reports),
        CELLS,
        CAPACITY.__getitem__,
    )
    h.run(20)
    return h.core_outcomes[0].game.to_dict() if h.core_outcomes else h.core.window.game.to_dict()


def test_hsla_game_depends_on_qos_and_sla_only():
    rng = np.random.default_rng(5)
    base = [
        report(
            k,
            k % 2,
            float(rng.uniform(3, 5)),
            float(rng.uniform(1e6, 3e6)),
            float(rng.uniform(1e9, 2e9)),
        )
        for k in range(6)
    ]
    # other users' true QoE models: other structures, predictions and QoE gains per Hz
    other = [
        dataclasses.replace(
            r, structure="M7", predicted_qoe=1.2, gain_per_hz=9e-6 * (k + 1), attainable=False
        )
        for k, r in enumerate(base)
    ]
    assert _game_of(base, "sla") == _game_of(other, "sla")
    assert _game_of(base, "qoe") != _game_of(other, "qoe")  # the QoE schemes do see them
