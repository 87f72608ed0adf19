"""Twin learning steps and the edge twin's core, without Mesa (seed 003 Sec. II, III.C)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

from policies.meta import MetaParams
from policies.rl.cav_env import cav_reward, greedy_action, initial_state, observe
from policies.rl.cav_params import CavParams
from policies.rl.ppo import PPOParams, compute_gae, make_policy
from policies.rl.ppo_net import gaussian_log_prob, params_of
from policies.twins.params import TwinParams
from policies.twins.twin_edge import EdgeTwinCore, TwinSettings
from policies.twins.twin_learning import (
    actor_params,
    estimate_mu_pattern,
    gae_bootstrap,
    mean_regret,
    meta_task_update,
    true_batch,
)
from policies.twins.twin_params import TwinOpsParams
from policies.twins.twin_payloads import ModelShipment, Trajectory, TwinReport

torch.set_num_threads(1)
CAV = CavParams()
HP = PPOParams(update_epochs=1, num_minibatches=1)


def _module() -> torch.nn.Module:
    return make_policy(18, 3, HP, torch.Generator().manual_seed(0))


def _trajectory(module: torch.nn.Module, params: dict, version: np.ndarray, seed: int = 1,
                greedy: bool = False, reward_shift: float = 0.0) -> Trajectory:
    """T slots as the PLVN records them: states, Gaussian actions, log-probs, rewards."""
    rng = np.random.default_rng(seed)
    t = len(version)
    state = initial_state(np.full((t, CAV.slots_per_episode), 6.0), CAV, rng)
    obs = torch.from_numpy(observe(state, CAV))
    with torch.no_grad():
        mean, log_std, _ = functional_call(module, params, (obs,))
        x = mean + torch.exp(log_std) * torch.randn(mean.shape, generator=torch.Generator())
        logp = gaussian_log_prob(x, mean, log_std)
    cp = greedy_action(state, CAV) if greedy else x.numpy() > 0
    reward, _ = cav_reward(state, cp, CAV)
    return Trajectory(state.bandwidth_mhz, state.object_level, state.distance_level,
                      state.prev_mode, x.numpy(), logp.numpy(), reward + reward_shift,
                      np.asarray(version, dtype=np.int64), 6.0, state.object_level[-1],
                      state.distance_level[-1], state.prev_mode[-1])


def test_gae_bootstrap_is_terminal_gae_when_nothing_follows() -> None:
    g = torch.Generator().manual_seed(0)
    rewards, values = torch.rand(7, generator=g), torch.rand(7, generator=g)
    adv, ret = gae_bootstrap(rewards, values, 0.0, 0.9, 0.8)
    ref_adv, ref_ret = compute_gae(rewards[:, None], values[:, None], 0.9, 0.8)
    assert torch.allclose(adv, ref_adv[:, 0]) and torch.allclose(ret, ref_ret[:, 0])
    adv_b, _ = gae_bootstrap(rewards, values, 2.0, 0.9, 0.8)
    assert adv_b[-1] == pytest.approx(float(rewards[-1] + 0.9 * 2.0 - values[-1]))


def test_true_batch_rebuilds_what_the_policy_saw() -> None:
    module = _module()
    params = params_of(module)
    traj = _trajectory(module, params, np.array([1, 1, 2, 2, 2]))
    batch = true_batch(module, params, traj, 2, CAV, HP)
    assert batch is not None and len(batch) == 3
    mean, log_std, _ = functional_call(module, params, (batch.obs,))
    assert torch.allclose(gaussian_log_prob(batch.actions, mean, log_std), batch.logprobs,
                          atol=1e-5)  # PPO ratio 1 at the behaviour policy
    assert true_batch(module, params, traj, 7, CAV, HP) is None


def test_regret_is_zero_for_myopic_best_decisions_and_positive_otherwise() -> None:
    module = _module()
    params = params_of(module)
    best = _trajectory(module, params, np.zeros(20, int), greedy=True)
    assert mean_regret(best, 0, CAV) == pytest.approx(0.0, abs=1e-9)
    other = _trajectory(module, params, np.zeros(20, int))
    assert mean_regret(other, 0, CAV) >= 0.0
    assert mean_regret(other, 3, CAV) is None


def test_mu_pattern_snaps_orders_and_tiles_the_reported_radio() -> None:
    levels = (5.0, 6.0, 7.0)
    assert list(estimate_mu_pattern([5.1, 6.8, 5.9], levels, 5)) == [5.0, 7.0, 6.0, 5.0, 7.0]
    assert list(estimate_mu_pattern([1.0, 5.0, 7.2, 6.9], levels, 2)) == [7.0, 7.0]
    assert list(estimate_mu_pattern([], levels, 3)) == [6.0, 6.0, 6.0]


@pytest.mark.parametrize("algorithm", ["reptile", "fomaml", "maml"])
def test_meta_task_update_has_the_meta_model_shape(algorithm: str) -> None:
    module = _module()
    meta = params_of(module)
    calls: list[int] = []

    def sample(params: dict):  # noqa: ANN202 - a RolloutBatch
        calls.append(1)
        traj = _trajectory(module, params, np.zeros(12, int), seed=len(calls))
        return true_batch(module, params, traj, 0, CAV, HP)

    mp = MetaParams(algorithm=algorithm)
    update, loss = meta_task_update(module, meta, mp, sample, HP)
    assert set(update) == set(meta) and np.isfinite(loss)
    assert all(update[k].shape == meta[k].shape for k in meta)
    assert any(float(update[k].abs().sum()) > 0 for k in meta)
    assert len(calls) == 2  # first- and second-round data


def _core(steps: int = 2) -> tuple[EdgeTwinCore, torch.nn.Module]:
    module = _module()
    settings = TwinSettings(TwinParams(attribute_order=("hour",)),
                            MetaParams(online_adaptation_steps=steps),
                            TwinOpsParams(emulation_slots=4, emulation_episodes=2), CAV, HP)
    core = EdgeTwinCore(0, module, settings, np.random.default_rng(0),
                        torch.Generator().manual_seed(0))
    return core, module


def _report(traj: Trajectory, hour: float = 12.0) -> TwinReport:
    return TwinReport(0, 0.0, 0, 0.0, hour, "waterloo", "highway", 10, 16.0, traj)


def test_edge_core_adapts_on_hybrid_data_then_monitors_and_retrains_on_a_regret_rise() -> None:
    core, module = _core(steps=2)
    meta = params_of(module)
    out = core.on_report(_report(_trajectory(module, meta, np.full(5, -1))))
    assert [o.kind for o in out] == ["attributes", "model_request"]  # unknown "day": fetch *
    out = core.on_shipment(ModelShipment("serve", (), 1, meta, -1, (((), 1),)))
    assert [o.kind for o in out] == ["individual"] and out[0].payload.version == 1
    assert set(out[0].payload.params) == set(actor_params(meta))
    assert core.on_report(_report(_trajectory(module, meta, np.full(5, 0)))) == []  # old model
    out = core.on_report(_report(_trajectory(module, meta, np.array([0, 1, 1, 1, 1]))))
    assert [o.kind for o in out] == ["individual"] and core.monitoring
    kinds = [e.event for e in core.drain_events()]
    assert kinds.count("adaptation") == 2 and "model_trained" in kinds
    for seed in range(3):  # baseline: the myopic best, regret 0
        core.on_report(_report(_trajectory(module, meta, np.full(6, 2), seed, greedy=True)))
    assert core.monitoring
    out = []
    for seed in range(3):  # 2 below the best in every slot: (2 + 0.5) / 0.5 - 1 = 400 %
        out += core.on_report(_report(_trajectory(module, meta, np.full(6, 2), seed, True, -2.0)))
    events = core.drain_events()
    assert [e.event for e in events][:3] == ["drift_signal", "transfer", "cache_hit"]
    assert "performance drop" in events[1].details and core.retrainings == 2
    assert [o.kind for o in out] == ["model_request", "individual"]  # ask for a "day" model
