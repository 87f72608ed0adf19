"""PPO hyper-parameters, the ``[ppo]`` scenario section (torch-free, so validating a scenario
does not import torch; :mod:`policies.rl.ppo` re-exports :class:`PPOParams`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.meta.params import validate_fields


@dataclass(frozen=True, slots=True)
class PPOParams:
    """PPO hyper-parameters (a TOML section). Defaults: CleanRL unless the doc says otherwise."""

    learning_rate: float = field(default=1e-3, metadata={
        "range": (0.0, 1.0), "doc": "Adam step size (CleanRL uses 3e-4 for 1M steps; a larger "
        "step suits 500 epochs of 750 slots)"})
    gamma: float = field(default=0.99, metadata={
        "range": (0.0, 1.0), "doc": "discount (public MAML-PPO runs of the CAV model: 0.99)"})
    gae_lambda: float = field(default=0.95, metadata={
        "range": (0.0, 1.0), "doc": "GAE lambda"})
    update_epochs: int = field(default=4, metadata={
        "range": (1, 1000), "doc": "passes over each epoch's rollout (CleanRL: 10)"})
    num_minibatches: int = field(default=5, metadata={
        "range": (1, 100_000), "doc": "minibatches per pass (150 transitions each at 750)"})
    clip_coef: float = field(default=0.2, metadata={
        "range": (0.0, 10.0), "doc": "surrogate clipping epsilon"})
    ent_coef: float = field(default=0.0, metadata={
        "range": (0.0, 10.0), "doc": "entropy bonus weight (CleanRL continuous default 0). With "
        "decisions thresholded at 0, P(CP) = Phi(mean / sigma) is unchanged when mean and "
        "sigma grow together, so a bonus only inflates sigma without adding exploration"})
    vf_coef: float = field(default=0.5, metadata={
        "range": (0.0, 100.0), "doc": "value loss weight"})
    max_grad_norm: float = field(default=0.5, metadata={
        "range": (0.0, 1e6), "doc": "global gradient norm clip"})
    norm_adv: bool = field(default=True, metadata={
        "doc": "normalise advantages per minibatch"})
    reward_scale: float = field(default=0.1, metadata={
        "range": (1e-9, 1e9), "doc": "rewards are multiplied by this for value/advantage "
        "targets (returns of ~100 J would be slow for a small tanh value net); logs are raw"})
    policy_hidden: tuple[int, ...] = field(default=(16, 16), metadata={
        "doc": "policy trunk widths (public MAML-PPO runs of the CAV model: 16-16 tanh)"})
    value_hidden: tuple[int, ...] = field(default=(8, 8), metadata={
        "doc": "value net widths (public MAML-PPO runs of the CAV model: 8-8 tanh)"})
    log_std_init: float = field(default=0.0, metadata={
        "range": (-20.0, 5.0), "doc": "initial log sigma (CleanRL: 0)"})
    log_std_min: float = field(default=-5.0, metadata={
        "range": (-20.0, 5.0), "doc": "lower clamp of log sigma"})
    log_std_max: float = field(default=2.0, metadata={
        "range": (-20.0, 5.0), "doc": "upper clamp of log sigma"})
    action_threshold: float = field(default=0.0, metadata={
        "range": (-1e3, 1e3), "doc": "pair runs CP iff its Gaussian sample exceeds this"})
    initial_cp_probability: float = field(default=0.5, metadata={
        "range": (1e-6, 1.0 - 1e-6), "doc": "P(CP) of every pair under a fresh policy, set "
        "by the mean-head bias (an SP-default prior, seed Sec. IV: SP is the default mode; "
        "the entropy is unchanged). 0.5: unbiased. Measured (docs/twins.md): a prior of 1/N "
        "cuts the first-epoch loss at 8 pairs from -5.4 to -0.15 per slot but slows meta "
        "training (fewer CP samples), so the default stays 0.5"})

    def __post_init__(self) -> None:
        validate_fields(self)
        if not self.log_std_min < self.log_std_max:
            raise ValueError("log_std_min must be < log_std_max")
        if any(w < 1 for w in (*self.policy_hidden, *self.value_hidden)):
            raise ValueError("hidden widths must be >= 1")
