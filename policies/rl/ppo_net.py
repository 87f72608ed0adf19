"""Gaussian actor-critic for per-pair SP/CP decisions (seed 003, Sec. IV).

Seed 003, Sec. IV: "a Gaussian stochastic policy network which learns the mean and the standard
deviation of a set of Gaussian random variables for all CAV pairs. For each CAV pair, a
continuous action is sampled from the corresponding Gaussian distribution and then discretized
to a binary cooperation decision. The policy entropy is the average differential entropy of all
the Gaussian random variables."

Discretisation (our choice, documented): pair i runs CP iff its sample ``x_i > threshold``
(default 0), so the initial policy (mean ~ 0) picks CP with probability ~ 1/2. The PPO
likelihood ratio uses the density of the continuous sample ``x``, as in the seed.

Populations. The forward pass accepts *stacked* parameters: every tensor may carry a leading
run axis R (weights (R, out, in), biases (R, out)) with observations (R, B, obs_dim). R
independent PPO runs (seeds, schemes, meta-training tasks) then share one batched forward and
backward pass; with ``torch.func.functional_call`` the module is only the architecture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Params = dict[str, Tensor]
LOG_2PI_E = math.log(2.0 * math.pi * math.e)


def gaussian_entropy(log_std: Tensor) -> Tensor:
    """Differential entropy of N(mu, sigma^2), element-wise: 0.5 log(2 pi e) + log sigma."""
    return 0.5 * LOG_2PI_E + log_std


def gaussian_log_prob(x: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """Log density of independent Gaussians, summed over the last (pair) axis."""
    z = (x - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * math.log(2.0 * math.pi)).sum(dim=-1)


def _affine(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``x W^T + b`` for one parameter set, or R stacked sets (x (R, B, in), W (R, out, in))."""
    if weight.dim() == 2:
        return F.linear(x, weight, bias)
    return torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))


def _layer(x: Tensor, layer: nn.Module) -> Tensor:
    """Apply a linear layer through :func:`_affine` (its tensors may be swapped-in stacks)."""
    return _affine(x, cast(Tensor, layer.weight), cast(Tensor, layer.bias))


def _linear(fan_in: int, fan_out: int, gain: float, g: torch.Generator) -> nn.Linear:
    """Linear layer with orthogonal weights (CleanRL init) and zero bias."""
    layer = nn.Linear(fan_in, fan_out)
    nn.init.orthogonal_(layer.weight, gain, generator=g)
    nn.init.zeros_(layer.bias)
    return layer


def _chain(sizes: tuple[int, ...], g: torch.Generator) -> nn.ModuleList:
    """Hidden layers of a tanh MLP (gain sqrt 2, CleanRL)."""
    return nn.ModuleList(_linear(a, b, math.sqrt(2.0), g)
                         for a, b in zip(sizes[:-1], sizes[1:], strict=True))


class GaussianActorCritic(nn.Module):
    """Policy (mean and log-std heads, one Gaussian per pair) and a separate value network.

    Args:
        obs_dim: Observation length.
        n_pairs: Number of Gaussians (CAV pairs).
        policy_hidden: Hidden widths of the policy trunk (tanh).
        value_hidden: Hidden widths of the value network (tanh).
        log_std_init: Initial log sigma of every Gaussian (bias of the log-std head).
        mean_init: Initial mean of every Gaussian (bias of the mean head; its weights are
            tiny, so the initial mean is ~ this in every state).
        log_std_bounds: log sigma is clamped into this interval (numerical safety).
        generator: torch Generator for the initial weights.
    """

    def __init__(self, obs_dim: int, n_pairs: int, policy_hidden: tuple[int, ...],
                 value_hidden: tuple[int, ...], log_std_init: float,
                 log_std_bounds: tuple[float, float], generator: torch.Generator,
                 mean_init: float = 0.0) -> None:
        super().__init__()
        self.trunk = _chain((obs_dim, *policy_hidden), generator)
        width = policy_hidden[-1] if policy_hidden else obs_dim
        self.mean_head = _linear(width, n_pairs, 0.01, generator)
        nn.init.constant_(self.mean_head.bias, mean_init)
        self.log_std_head = _linear(width, n_pairs, 0.01, generator)
        nn.init.constant_(self.log_std_head.bias, log_std_init)
        self.critic = _chain((obs_dim, *value_hidden), generator)
        self.value_head = _linear(value_hidden[-1] if value_hidden else obs_dim, 1, 1.0,
                                  generator)
        self.log_std_bounds = log_std_bounds

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Return (mean (..., N), log_std (..., N), value (...,)); see module docstring."""
        h = obs
        for layer in self.trunk:
            h = torch.tanh(_layer(h, layer))
        mean, log_std = _layer(h, self.mean_head), _layer(h, self.log_std_head)
        v = obs
        for layer in self.critic:
            v = torch.tanh(_layer(v, layer))
        value = _layer(v, self.value_head).squeeze(-1)
        return mean, log_std.clamp(*self.log_std_bounds), value


def params_of(module: nn.Module) -> Params:
    """Detached leaf copies of a module's parameters, requiring grad."""
    return {n: p.detach().clone().requires_grad_(True) for n, p in module.named_parameters()}


def stack_params(items: Sequence[Params]) -> Params:
    """Stack R parameter dicts along a new leading run axis (detached leaves)."""
    return {n: torch.stack([it[n].detach() for it in items]).requires_grad_(True)
            for n in items[0]}


def replicate_params(params: Params, runs: int) -> Params:
    """R identical copies of one parameter dict, stacked (detached leaves)."""
    return stack_params([params] * runs)


def unstack_params(params: Params, run: int) -> Params:
    """Parameters of run ``run`` of a stacked dict (detached clones)."""
    return {n: t[run].detach().clone() for n, t in params.items()}
