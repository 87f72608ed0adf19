"""Branching dueling Q-network (Tavakoli et al. 2018; seed 000 Sec. IV four-/five-layer BDQN)."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.scheduling.bdqn import (
    BDQNAgent,
    BDQNConfig,
    BranchingDuelingQNetwork,
    Transitions,
    epsilon_at,
    load_network,
    q_values,
    save_network,
    train_bdqn,
)
from policies.scheduling.params import SchedulerParams


def net(config: BDQNConfig, seed: int = 0) -> BranchingDuelingQNetwork:
    return BranchingDuelingQNetwork(config, torch.Generator().manual_seed(seed))


configs = st.builds(
    BDQNConfig,
    state_dim=st.integers(1, 6),
    n_branches=st.integers(1, 5),
    n_actions=st.integers(1, 6),
    n_layers=st.integers(3, 6),
    hidden_width=st.integers(1, 8),
    branch_width=st.integers(1, 8),
)


@settings(max_examples=30, deadline=None)
@given(configs, st.integers(0, 1000))
def test_dueling_aggregation_has_zero_mean_advantage_per_branch(config, seed):
    network = net(config, seed)
    x = torch.randn(4, config.state_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        q = network(x)
        v, adv = network.value_and_advantages(x)
    centred = q - v[:, :, None]
    assert q.shape == (4, config.n_branches, config.n_actions)
    assert torch.allclose(centred.mean(dim=2), torch.zeros(4, config.n_branches), atol=1e-5)
    assert torch.allclose(centred, adv - adv.mean(dim=2, keepdim=True), atol=1e-5)


@pytest.mark.parametrize("layers", [3, 4, 5])
def test_layer_count_along_an_input_to_q_path(layers):
    network = net(BDQNConfig(4, 3, 5, n_layers=layers))
    trunk = [m for m in network.trunk if isinstance(m, torch.nn.Linear)]
    # Trunk layers + the branch hidden layer + the branch output layer.
    assert len(trunk) + 2 == layers
    assert network.advantages.w1.shape[0] == 3 and network.value.w1.shape[0] == 1


def test_init_is_seeded_and_leaves_global_rng_alone():
    before = torch.get_rng_state()
    a, b, c = (net(BDQNConfig(3, 2, 4), s) for s in (7, 7, 8))
    assert torch.equal(torch.get_rng_state(), before)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_td_target_is_reward_at_terminals_and_max_q_when_target_equals_online():
    config = BDQNConfig(3, 2, 4, hidden_width=8, branch_width=8)
    agent = BDQNAgent(config, SchedulerParams(gamma=0.7), torch.Generator().manual_seed(1))
    rng = np.random.default_rng(0)
    s2 = torch.as_tensor(rng.normal(size=(5, 3)), dtype=torch.float32)
    r = torch.as_tensor(rng.normal(size=5), dtype=torch.float32)
    term = torch.tensor([True, False, True, False, False])
    batch = Transitions(s2, torch.zeros(5, 2, dtype=torch.int64), r, s2, term)
    y = agent.td_targets(batch)
    # Target and online networks start equal, so double-Q selection reduces to the max.
    with torch.no_grad():
        max_q = agent.online(s2).max(dim=2).values.mean(dim=1)
    expected = r + 0.7 * (~term).float() * max_q
    assert torch.allclose(y, expected, atol=1e-6)
    assert torch.equal(y[term], r[term])


def test_bandit_converges_to_the_closed_form_branch_values():
    # One-step problem (gamma = 0) with reward mean_d f_d(a_d) over all 4^3 joint actions once:
    # the mean-of-branches loss is minimised exactly by Q_d(a) = f_d(a)/D + sum_{d' != d}
    # mean(f_d')/D, i.e. V = mean of all rewards and centred advantages (f_d - mean f_d)/D.
    f = np.array([[0.0, 1.0, 0.2, 0.5], [0.9, 0.1, 0.3, 0.0], [0.2, 0.3, 0.4, 1.2]])
    params = SchedulerParams(gamma=0.0, learning_rate=1e-2)
    agent = BDQNAgent(
        BDQNConfig(1, 3, 4, hidden_width=16, branch_width=16),
        params,
        torch.Generator().manual_seed(0),
    )
    actions = np.array(list(itertools.product(range(4), repeat=3)))
    rewards = torch.as_tensor(f[np.arange(3), actions].mean(axis=1), dtype=torch.float32)
    ones = torch.ones(len(actions), 1)
    full = Transitions(ones, torch.as_tensor(actions), rewards, ones, torch.ones(64, dtype=bool))
    for _ in range(200):
        agent.update(full)
    q = q_values(agent.online, np.ones(1, dtype=np.float32))
    assert q.argmax(axis=1).tolist() == f.argmax(axis=1).tolist()
    assert np.allclose(q.mean(axis=1), f.mean(), atol=1e-3)
    assert np.allclose(
        q - q.mean(axis=1, keepdims=True), (f - f.mean(axis=1, keepdims=True)) / 3, atol=1e-3
    )


def test_save_then_load_gives_identical_outputs(tmp_path):
    config = BDQNConfig(6, 3, 5, n_layers=5, hidden_width=12, branch_width=7)
    original = net(config, 3)
    save_network(original, tmp_path / "bdqn.pt", {"note": "x", "levels": (0.0, 0.5)})
    loaded, extra = load_network(tmp_path / "bdqn.pt")
    assert loaded.config == config and extra == {"note": "x", "levels": (0.0, 0.5)}
    x = torch.randn(10, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(original(x), loaded(x))


def test_epsilon_schedule_is_linear_then_flat():
    p = SchedulerParams(epsilon_start=1.0, epsilon_end=0.1, epsilon_decay_fraction=0.5)
    assert epsilon_at(0, 100, p) == 1.0
    assert epsilon_at(25, 100, p) == pytest.approx(0.55)
    assert epsilon_at(50, 100, p) == pytest.approx(0.1)
    assert epsilon_at(99, 100, p) == pytest.approx(0.1)


class ChainEnv:
    """Tiny deterministic env: state = one-hot position, reward for matching a target pattern."""

    state_dim, n_branches, n_actions, episode_slots = 3, 2, 3, 4

    def reset(self):
        self.t = 0
        return np.eye(3, dtype=np.float32)[0]

    def step(self, actions):
        self.t += 1
        reward = float(np.sum(actions == [self.t % 3, 2 - self.t % 3]))
        return np.eye(3, dtype=np.float32)[self.t % 3], reward, False, self.t >= 4


def test_training_is_reproducible_from_its_seeds():
    def run(seed):
        agent = BDQNAgent(
            BDQNConfig(3, 2, 3, hidden_width=8, branch_width=8),
            SchedulerParams(learning_starts=4, batch_size=8),
            torch.Generator().manual_seed(seed),
        )
        log = train_bdqn(ChainEnv(), agent, np.random.default_rng(seed), steps=20)
        return log, agent.online.state_dict()

    (log_a, sd_a), (log_b, sd_b), (_, sd_c) = run(1), run(1), run(2)
    assert log_a == log_b and all(torch.equal(sd_a[k], sd_b[k]) for k in sd_a)
    assert len(log_a.episode_returns) == 5 and len(log_a.losses) == 5 * 4 - 3
    assert any(not torch.equal(sd_a[k], sd_c[k]) for k in sd_a)
