"""Branching dueling Q-network for group-level allocation (seed 000, Sec. III.C.3, Sec. IV).

Seed 000 Sec. IV: "a four-layer branch dueling Q network (BDQN) [15] for group-level resource
allocation"; the PDRL-L1 benchmark uses a five-layer BDQN. Reference [15] is Tavakoli, Pardo and
Kormushev, "Action branching architectures for deep reinforcement learning", AAAI 2018 (BDQ):

* a shared trunk feeds a state-value branch V(s) and one advantage branch A_d(s, .) per action
  dimension d; Q_d(s, a_d) = V(s) + A_d(s, a_d) - mean_a' A_d(s, a');
* TD target with the mean operator over branches and double-Q action selection:
  y = r + gamma * mean_d Q_d^-(s', argmax_a Q_d(s', a)); loss mean_d (y - Q_d(s, a_d))^2;
* the trunk's gradient is rescaled by 1 / (D + 1) because D + 1 branches back-propagate into it.

Layers count along one input-to-Q path: ``n_layers - 2`` trunk layers, then one hidden and one
output layer per branch (Tavakoli's network is the four-layer case). Replay is uniform (Tavakoli
uses prioritised replay; uniform keeps the learner small and is our choice). All randomness comes
from a ``torch.Generator`` (weights) and a ``numpy.random.Generator`` (exploration, replay).
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from policies.scheduling.params import SchedulerParams

SAVE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class BDQNConfig:
    """Shape of a branching dueling Q-network.

    Attributes:
        state_dim: length of the state vector.
        n_branches: action dimensions D (groups, or users for PDRL-L1).
        n_actions: discrete sub-actions per branch (share levels).
        n_layers: linear layers from input to a Q output (>= 3).
        hidden_width: width of the shared trunk layers.
        branch_width: width of each branch's hidden layer.
    """

    state_dim: int
    n_branches: int
    n_actions: int
    n_layers: int = 4
    hidden_width: int = 128
    branch_width: int = 64

    def __post_init__(self) -> None:
        if min(self.state_dim, self.n_branches, self.n_actions) < 1:
            raise ValueError("state_dim, n_branches and n_actions must be positive")
        if self.n_layers < 3:
            raise ValueError("n_layers must be at least 3 (trunk, branch hidden, branch output)")


def _linear(n_in: int, n_out: int, generator: torch.Generator) -> nn.Linear:
    """nn.Linear with PyTorch's default U(-1/sqrt(n_in), 1/sqrt(n_in)) init from ``generator``.

    Built on the meta device first so construction never draws from torch's global generator.
    """
    layer = nn.Linear(n_in, n_out, device="meta").to_empty(device="cpu")
    bound = 1.0 / math.sqrt(n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def _uniform(shape: tuple[int, ...], fan_in: int, generator: torch.Generator) -> nn.Parameter:
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter(torch.empty(shape).uniform_(-bound, bound, generator=generator))


class BranchBank(nn.Module):
    """D independent two-layer branches (hidden ReLU layer, linear output) evaluated as one
    batched matrix product instead of D small modules; same init as ``nn.Linear``."""

    def __init__(
        self, n_branches: int, n_in: int, width: int, n_out: int, generator: torch.Generator
    ) -> None:
        """Weights of every branch drawn from ``generator``."""
        super().__init__()
        self.w1 = _uniform((n_branches, n_in, width), n_in, generator)
        self.b1 = _uniform((n_branches, width), n_in, generator)
        self.w2 = _uniform((n_branches, width, n_out), width, generator)
        self.b2 = _uniform((n_branches, n_out), width, generator)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(batch, n_in) -> (batch, D, n_out), as batched matrix products (no einsum parsing)."""
        d = self.w1.shape[0]
        hidden = torch.relu(torch.baddbmm(self.b1[:, None, :], h.expand(d, -1, -1), self.w1))
        return torch.baddbmm(self.b2[:, None, :], hidden, self.w2).transpose(0, 1)


class BranchingDuelingQNetwork(nn.Module):
    """Shared trunk, a state-value branch and one advantage branch per action dimension."""

    def __init__(self, config: BDQNConfig, generator: torch.Generator) -> None:
        """Build the network with weights drawn from ``generator``."""
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        n_in = config.state_dim
        for _ in range(config.n_layers - 2):
            layers += [_linear(n_in, config.hidden_width, generator), nn.ReLU()]
            n_in = config.hidden_width
        self.trunk = nn.Sequential(*layers)
        self.value = BranchBank(1, n_in, config.branch_width, 1, generator)
        self.advantages = BranchBank(
            config.n_branches, n_in, config.branch_width, config.n_actions, generator
        )

    def value_and_advantages(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """State value (batch, 1) and raw, un-centred advantages (batch, D, K)."""
        h = self.trunk(state)
        if h.requires_grad:
            h.register_hook(self._rescale_trunk_grad)
        return self.value(h)[:, 0, :], self.advantages(h)

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """Q values (batch, D, K) with mean-subtracted dueling aggregation per branch."""
        v, adv = self.value_and_advantages(state)
        return v[:, :, None] + adv - adv.mean(dim=2, keepdim=True)

    def _rescale_trunk_grad(self, grad: torch.Tensor) -> torch.Tensor:
        return grad / (self.config.n_branches + 1)


@dataclass(frozen=True, slots=True)
class Transitions:
    """A minibatch of transitions as tensors."""

    states: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    next_states: torch.Tensor
    terminal: torch.Tensor


def q_values(network: BranchingDuelingQNetwork, state: np.ndarray) -> np.ndarray:
    """Q values (D, K) of one state."""
    with torch.no_grad():
        return network(torch.as_tensor(state, dtype=torch.float32)[None])[0].numpy()


def epsilon_greedy(
    network: BranchingDuelingQNetwork,
    state: np.ndarray,
    epsilon: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Greedy sub-action per branch (ties: lowest index); each branch independently explores
    a uniform sub-action with probability ``epsilon``."""
    actions = q_values(network, state).argmax(axis=1)
    explore = rng.random(actions.size) < epsilon
    actions[explore] = rng.integers(network.config.n_actions, size=int(explore.sum()))
    return actions


class ReplayBuffer:
    """Uniform ring-buffer experience replay."""

    def __init__(self, capacity: int, state_dim: int, n_branches: int) -> None:
        """Allocate storage for ``capacity`` transitions."""
        self.capacity = capacity
        self.states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.next_states = np.zeros((capacity, state_dim), dtype=np.float32)
        self.actions = np.zeros((capacity, n_branches), dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminal = np.zeros(capacity, dtype=bool)
        self.size = 0
        self._next = 0

    def add(
        self, state: np.ndarray, action: np.ndarray, reward: float, nxt: np.ndarray, term: bool
    ) -> None:
        """Store one transition, overwriting the oldest when full."""
        i = self._next
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.terminal[i] = nxt, term
        self._next = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Transitions:
        """Draw ``batch_size`` transitions uniformly with replacement."""
        idx = rng.integers(self.size, size=batch_size)
        return Transitions(
            torch.from_numpy(self.states[idx]),
            torch.from_numpy(self.actions[idx]),
            torch.from_numpy(self.rewards[idx]),
            torch.from_numpy(self.next_states[idx]),
            torch.from_numpy(self.terminal[idx]),
        )


class BDQNAgent:
    """Online and target BDQN with Adam and Tavakoli's mean-of-branches TD update.

    Adam runs its fused kernel (``fused=True``, one call per parameter): for networks this small
    the per-operation dispatch of the multi-tensor path costs more than the arithmetic.
    """

    def __init__(
        self,
        config: BDQNConfig,
        params: SchedulerParams,
        generator: torch.Generator,
        previous: BranchingDuelingQNetwork | None = None,
    ) -> None:
        """Create online/target networks and the optimiser from ``params``.

        Args:
            config: network shape.
            params: learner hyper-parameters.
            generator: weight initialisation randomness (fresh weights, and the weights of
                branches or inputs ``previous`` does not have).
            previous: a trained network to fine-tune (warm start); see ``warm_start``.
        """
        self.config = config
        self.params = params
        self.online = BranchingDuelingQNetwork(config, generator)
        if previous is not None:
            warm_start(self.online, previous)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = torch.optim.Adam(
            self.online.parameters(), lr=params.learning_rate, fused=True
        )
        self.updates = 0
        self.target_syncs = 0

    def act(self, state: np.ndarray, epsilon: float, rng: np.random.Generator) -> np.ndarray:
        """Epsilon-greedy sub-actions of the online network (see ``epsilon_greedy``)."""
        return epsilon_greedy(self.online, state, epsilon, rng)

    def td_targets(self, batch: Transitions) -> torch.Tensor:
        """y = r + gamma * mean_d Q_d^-(s', argmax_a Q_d(s', a)), zero bootstrap at terminals."""
        with torch.no_grad():
            best = self.online(batch.next_states).argmax(dim=2, keepdim=True)
            q_next = self.target(batch.next_states).gather(2, best).squeeze(2).mean(dim=1)
            return batch.rewards + self.params.gamma * (~batch.terminal).float() * q_next

    def update(self, batch: Transitions) -> float:
        """One gradient step on mean_d (y - Q_d(s, a_d))^2; hard target sync on schedule."""
        q = self.online(batch.states).gather(2, batch.actions[:, :, None]).squeeze(2)
        loss = ((self.td_targets(batch)[:, None] - q) ** 2).mean()
        self.optimizer.zero_grad()
        loss.backward()
        if self.params.grad_clip_norm > 0:
            nn.utils.clip_grad_norm_(
                self.online.parameters(), self.params.grad_clip_norm, foreach=False
            )
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.params.target_update_every == 0:
            self.target.load_state_dict(self.online.state_dict())
            self.target_syncs += 1
        return float(loss.detach())


def warm_start(network: BranchingDuelingQNetwork, previous: BranchingDuelingQNetwork) -> None:
    """Copy ``previous``'s weights into ``network`` wherever they fit (fine-tuning start).

    Same shape: an exact copy. More or fewer groups (branches, and the state's per-group
    feature columns): the trunk's first layer keeps the columns of the groups both networks
    have, the advantage bank keeps the common branches; the rest keeps ``network``'s fresh
    initialisation. Trunk/branch widths or share levels that differ: nothing is copied.
    """
    new, old = network.config, previous.config
    if (new.n_layers, new.hidden_width, new.branch_width, new.n_actions) != (
        old.n_layers,
        old.hidden_width,
        old.branch_width,
        old.n_actions,
    ):
        return
    src, dst = previous.state_dict(), network.state_dict()
    n_in, n_d = min(new.state_dim, old.state_dim), min(new.n_branches, old.n_branches)
    with torch.no_grad():
        for key, value in dst.items():
            old_value = src[key]
            if key == "trunk.0.weight":
                value[:, :n_in] = old_value[:, :n_in]
            elif key.startswith("advantages."):
                value[:n_d] = old_value[:n_d]
            else:
                value.copy_(old_value)


class GroupEnv(Protocol):
    """What ``train_bdqn`` needs of an environment (the DA emulator implements it)."""

    state_dim: int
    n_branches: int
    n_actions: int
    episode_slots: int

    def reset(self) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, float, bool, bool]: ...


@dataclass(frozen=True, slots=True)
class TrainingLog:
    """What one training run did: its learning curve and its update counts.

    Attributes:
        episode_returns: return of each emulator episode.
        losses: TD loss of each gradient step.
        rows: the learning curve, one dict per episode: episode, episode_return, td_loss
            (mean over the episode's gradient steps; NaN before the first), updates and
            target_syncs (cumulative counts at the episode's end).
        updates: gradient steps done.
        target_syncs: hard target-network synchronisations done.
    """

    episode_returns: tuple[float, ...]
    losses: tuple[float, ...]
    rows: tuple[dict, ...] = ()
    updates: int = 0
    target_syncs: int = 0


def epsilon_at(step: int, total_steps: int, params: SchedulerParams) -> float:
    """Linearly decayed exploration rate at environment step ``step``."""
    horizon = max(1.0, params.epsilon_decay_fraction * total_steps)
    frac = min(1.0, step / horizon)
    return params.epsilon_start + frac * (params.epsilon_end - params.epsilon_start)


def train_bdqn(
    env: GroupEnv, agent: BDQNAgent, rng: np.random.Generator, steps: int | None = None
) -> TrainingLog:
    """Train ``agent`` in ``env`` for a budget of ``steps`` emulator transitions.

    Episodes that end by time limit (``truncated``) bootstrap from the next state: the emulator
    is a continuing task cut into episodes; the last episode is cut at the budget. One gradient
    step per environment step once ``learning_starts`` transitions are stored, so a budget of T
    steps makes ``params.gradient_steps(T)`` updates (see ``SchedulerParams.schedule``).

    Args:
        env: environment with branch count and sub-actions matching ``agent.config``.
        agent: the learner, updated in place.
        rng: exploration and replay sampling randomness.
        steps: transitions to collect; defaults to ``agent.params.train_steps``.

    Returns:
        The learning curve and update counts of this training.
    """
    p = agent.params
    total = p.train_steps if steps is None else steps
    replay = ReplayBuffer(min(p.replay_size, max(total, 1)), env.state_dim, env.n_branches)
    returns: list[float] = []
    losses: list[float] = []
    rows: list[dict] = []
    updates0, syncs0, step = agent.updates, agent.target_syncs, 0
    while step < total:
        state, ep_return, done, first_loss = env.reset(), 0.0, False, len(losses)
        while not done and step < total:
            action = agent.act(state, epsilon_at(step, total, p), rng)
            nxt, reward, terminated, truncated = env.step(action)
            replay.add(state, action, reward, nxt, terminated)
            state, ep_return, done = nxt, ep_return + reward, terminated or truncated
            step += 1
            if replay.size >= max(p.learning_starts, 1):
                losses.append(agent.update(replay.sample(p.batch_size, rng)))
        returns.append(ep_return)
        rows.append(_curve_row(len(rows), ep_return, losses[first_loss:], agent, updates0, syncs0))
    return TrainingLog(
        tuple(returns),
        tuple(losses),
        tuple(rows),
        agent.updates - updates0,
        agent.target_syncs - syncs0,
    )


def _curve_row(
    episode: int, ep_return: float, losses: list[float], agent: BDQNAgent, u0: int, s0: int
) -> dict:
    return {
        "episode": episode,
        "episode_return": float(ep_return),
        "td_loss": float(np.mean(losses)) if losses else float("nan"),
        "updates": agent.updates - u0,
        "target_syncs": agent.target_syncs - s0,
    }


def save_network(
    network: BranchingDuelingQNetwork, path: str | Path, extra: dict | None = None
) -> None:
    """Save the state_dict, the network config and optional plain-data ``extra`` to ``path``."""
    payload = {
        "format": SAVE_FORMAT,
        "config": asdict(network.config),
        "state_dict": network.state_dict(),
        "extra": extra or {},
    }
    torch.save(payload, path)


def load_network(path: str | Path) -> tuple[BranchingDuelingQNetwork, dict]:
    """Load a network saved by ``save_network``.

    Returns:
        The network (in eval mode, identical outputs to the saved one) and the ``extra`` dict.
    """
    payload = torch.load(path, weights_only=True)
    if payload.get("format") != SAVE_FORMAT:
        raise ValueError(f"unsupported BDQN save format {payload.get('format')!r}")
    # Weights are overwritten by the state_dict, so the generator's seed is irrelevant.
    network = BranchingDuelingQNetwork(BDQNConfig(**payload["config"]), torch.Generator())
    network.load_state_dict(payload["state_dict"])
    return network.eval(), payload["extra"]
