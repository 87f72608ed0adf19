"""The digital-twin protocol of seed 003 Sec. III, observed through the agents and messages.

Small, fast settings: short emulated episodes, two adaptation steps, one PPO pass.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
import torch

from agents.twins import CloudTwin, EdgeTwin
from model.messages import Kind
from model.network_model import NetworkModel
from model.vehicular_ext import VehicularExtension
from policies.meta import params_nbytes
from policies.twins.twin_payloads import ModelShipment, tensor_bytes

torch.set_num_threads(1)

FAST: dict[str, Any] = {
    "scenario.duration_s": 60.0,
    "vehicles.clusters": 4,
    "vehicles.speed_min_kmh": 150.0,
    "vehicles.speed_max_kmh": 200.0,
    "plvn.start_hour": 17.7,
    "plvn.time_acceleration": 60.0,  # 18:00, day -> night, at t = 18 s
    "twin_ops.report_period_s": 3.0,
    "twin_ops.emulation_slots": 5,
    "twin_ops.emulation_episodes": 2,
    "twin_ops.epochs_per_step": 1,
    "twin_ops.meta_round_start_s": 5.0,
    "twin_ops.meta_round_period_s": 8.0,
    "meta.online_adaptation_steps": 2,
    "meta.tasks_per_round": 2,
    "ppo.update_epochs": 1,
    "ppo.num_minibatches": 1,
    "twins.min_category_size": 2,
}


def build(**overrides: Any) -> NetworkModel:
    """highway-cav with the fast settings and ``section__key`` overrides."""
    flat = {k.replace(".", "__"): v for k, v in {**FAST, **overrides}.items()}
    return NetworkModel("highway-cav", **flat)


def record_sends(model: NetworkModel) -> list[tuple[Kind, Any, Any]]:
    """Every message sent from now on: (kind, payload, message or None)."""
    log: list[tuple[Kind, Any, Any]] = []
    send = model.bus.send

    def spy(now, sender, receiver, kind, payload, size_bytes=None):  # noqa: ANN001, ANN202
        msg = send(now, sender, receiver, kind, payload, size_bytes)
        log.append((kind, payload, msg))
        return msg

    model.bus.send = spy  # type: ignore[method-assign]
    return log


def step_until(model: NetworkModel, done: Any, max_steps: int = 200) -> None:
    for _ in range(max_steps):
        if done():
            return
        model.step()
    raise AssertionError("condition not reached")


def ext_of(model: NetworkModel) -> VehicularExtension:
    return model.extensions.get(VehicularExtension)


def events(model: NetworkModel, plvn: int | None = None) -> pd.DataFrame:
    frame = ext_of(model).log.frame()
    return frame if plvn is None else frame[frame.plvn == plvn].reset_index(drop=True)


def test_meta_round_sends_I_models_and_updates_once_all_arrived() -> None:
    model = build(**{"twin_ops.compute_jitter": 0.0, "twin_ops.round_timeout_s": 30.0,
                     "meta.tasks_per_round": 3})
    sent = record_sends(model)
    cloud = ext_of(model).cloud.core
    assert cloud.tree.root.version == 1
    step_until(model, lambda: cloud.rounds_closed >= 1)
    rnd = cloud.round_log[0]
    train = [(p, m) for k, p, m in sent if k is Kind.META_MODEL and p.purpose == "train"
             and p.round_id == 1]
    updates = [(p, m) for k, p, m in sent if k is Kind.META_UPDATE and p.round_id == 1]
    assert len(train) == len(updates) == rnd["sampled"] == rnd["received"] == 3
    twins = {t.unique_id: t.plvn for t in model.agents_by_type[EdgeTwin]}
    assert sorted(twins[m.receiver] for _, m in train) == sorted(p.plvn for p, _ in updates)
    assert all(m.size_bytes == tensor_bytes(p.params) > params_nbytes(p.params) for p, m in train)
    assert all(m.size_bytes == tensor_bytes(p.update) for p, m in updates)
    assert not rnd["timed_out"]
    assert rnd["closed_s"] >= max(m.deliver_at for _, m in updates)
    assert cloud.tree.root.version == 2 and cloud.tree.root.stats.iterations == 1
    assert cloud.late_updates == 0


def test_round_times_out_and_late_updates_are_dropped() -> None:
    model = build(**{"twin_ops.round_timeout_s": 0.0, "meta.tasks_per_round": 3})
    cloud = ext_of(model).cloud.core
    step_until(model, lambda: cloud.rounds_closed >= 1)
    rnd = cloud.round_log[0]
    assert rnd["timed_out"] and rnd["received"] == 0
    assert cloud.tree.root.version == 1  # nothing arrived: the meta model is unchanged
    step_until(model, lambda: cloud.late_updates >= 3, max_steps=20)
    late = events(model).query("event == 'late_update'")
    assert len(late) == 3 and set(late.details) == {"round 1 dropped"}
    assert cloud.tree.root.stats.iterations == 0


def test_twin_migrates_when_its_cluster_reaches_another_edge_server() -> None:
    model = build(**{"vehicles.clusters": 1, "vehicles.speed_min_kmh": 200.0,
                     "vehicles.speed_max_kmh": 200.0})
    sent = record_sends(model)
    twin = model.agents_by_type[EdgeTwin][0]
    source = twin.node
    step_until(model, lambda: twin.migrating_to is not None, max_steps=120)
    assert twin.node == source  # the state is still in transit
    target = twin.migrating_to
    step_until(model, lambda: twin.migrating_to is None, max_steps=3)
    assert twin.node == target != source and twin.migrations == 1
    cluster_rsu = model.topology.serving_cell("veh:0")
    assert target == f"edge:{model.topology.cell_edge[cluster_rsu]}"
    (kind, notice, msg), = [s for s in sent if s[0] is Kind.MIGRATION]
    assert (notice.source, notice.target) == (source, target)
    assert msg.size_bytes == notice.state_bytes > 0
    assert msg.deliver_at > msg.sent_at
    assert model.bus.sent["migration"] == 1


@pytest.mark.parametrize(("policy", "victim"), [("lfu", "night"), ("lru", "day")])
def test_cache_eviction_order_follows_the_replacement_policy(policy: str, victim: str) -> None:
    model = build(**{"vehicles.clusters": 1, "twins.attribute_order": ["hour"],
                     "twins.cache_capacity_models": 2, "twins.cache_policy": policy,
                     "plvn.time_acceleration": 0.0, "twin_ops.meta_round_start_s": 1000.0})
    ext = ext_of(model)
    cloud, twin = ext.cloud, ext.twins[0]
    catalogue = (((), 1), (("day",), 1), (("night",), 1))

    def serve(key: tuple[str, ...]) -> None:
        ship = ModelShipment("serve", key, 1, ext.super_params, -1, catalogue)
        cloud.send(twin.unique_id, Kind.META_MODEL, ship, tensor_bytes(ship.params))

    serve(("day",))
    serve(("night",))
    step_until(model, lambda: (events(model, 0).event == "cache_hit").any())  # day: 2 uses
    serve(("night",))  # refreshed: the most recently used, still one use
    model.step()
    serve(())
    model.step()
    model.step()
    log = events(model, 0)
    hit = log[log.event == "cache_hit"]
    assert list(hit.category) == ["day"]
    evicted = log[log.event == "cache_evict"]
    assert list(evicted.category) == [victim]
    assert twin.core.cache.evictions == 1 and len(twin.core.cache) == 2


@pytest.mark.parametrize("night_model", [False, True])
def test_category_change_applies_the_transfer_rule(night_model: bool) -> None:
    model = build(**{"vehicles.clusters": 1, "twins.attribute_order": ["hour"],
                     "plvn.start_hour": 17.9, "twin_ops.report_period_s": 2.0,
                     "twin_ops.meta_round_start_s": 1000.0})
    ext = ext_of(model)
    if night_model:  # e.g. from the offline planning stage
        ext.cloud.core.tree.set_model(("night",), ext.super_params)
    sent = record_sends(model)
    twin = ext.twins[0]
    step_until(model, lambda: twin.core.path == ("night",))
    model.step()
    model.step()
    log = events(model, 0)
    changes = log[log.event == "category_change"]
    assert list(changes.category) == ["day", "night"]
    after = log.loc[changes.index[1]:]
    transfer = after[after.event == "transfer"].iloc[0]
    requests = [p for k, p, _ in sent if k is Kind.MODEL_REQUEST and p.path == ("night",)]
    if night_model:  # known at the cloud twin, not cached: fetch it
        assert transfer.details.startswith("fetch_meta_model")
        assert [(r.want, r.request_training) for r in requests] == [(("night",), False)]
        assert "night" in set(after[after.event == "fetch"].category)
        assert twin.core.base_key == ("night",)
    else:  # unknown: retrain from the cached super model, ask for a night model
        assert transfer.details.startswith("fallback_and_request_new")
        assert list(after[after.event == "cache_hit"].category) == ["*"]
        assert [(r.want, r.request_training) for r in requests] == [(None, True)]
    assert ext.cloud.core.registry.path_of(0) == ("night",)
    assert [p.path for k, p, _ in sent if k is Kind.ATTRIBUTES] == [("day",), ("night",)]


def test_highway_smoke_run_shows_the_twin_lifecycle(tmp_path) -> None:  # noqa: ANN001
    from runs.simulate import write_outputs

    model = build(**{"scenario.duration_s": 90.0})
    while model.running:
        model.step()
    summary = write_outputs(model, tmp_path)
    twins = pd.read_parquet(tmp_path / "twins.parquet")
    assert list(twins.columns) == ["time_s", "twin", "plvn", "event", "category", "details"]
    kinds = set(twins.event)
    assert {"category_change", "transfer", "fetch", "adaptation", "model_trained", "meta_round",
            "migration", "drift_signal", "register"} <= kinds
    assert len(summary["categories_seen"]) >= 2  # day and night at least
    assert summary["twin_events"]["meta_round"] == summary["meta_rounds"] >= 1
    assert summary["migrations"] == model.bus.sent["migration"] >= 1
    frame = model.datacollector.get_model_vars_dataframe()
    for column in ("meta_reward", "migrations", "meta_rounds", "cache_hit_ratio", "categories",
                   "retrainings"):
        assert column in frame
    assert frame["retrainings"].iloc[-1] >= 4 and frame["plvns_with_model"].iloc[-1] == 4
    assert (tmp_path / "plvns.parquet").exists() and (tmp_path / "meta_rounds.parquet").exists()
    totals = model.bus.totals()
    assert totals["sent"] == totals["delivered"] + totals["in_flight"] + totals["undeliverable"]
    assert isinstance(model.agents_by_type[CloudTwin][0].node, str)


def test_same_seed_same_twins_table_and_other_seed_differs() -> None:
    def run(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        model = build(**{"scenario.duration_s": 30.0, "scenario.seed": seed})
        while model.running:
            model.step()
        return ext_of(model).log.frame(), model.datacollector.get_model_vars_dataframe()

    (t1, m1), (t2, m2), (t3, _) = run(5), run(5), run(6)
    pd.testing.assert_frame_equal(t1, t2)
    pd.testing.assert_frame_equal(m1, m2)
    assert not t1.equals(t3)
