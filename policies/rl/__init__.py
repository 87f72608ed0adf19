"""Reinforcement learning for adaptive cooperative perception of CAVs (seed 003, Sec. IV).

Modules: ``cav_params`` (constants), ``cav_env`` (physics and the one-slot step),
``cav_allocator`` (exact per-slot bandwidth allocation), ``cav_gym`` (Gymnasium and batch
environments), ``ppo_net`` / ``ppo`` (Gaussian-policy PPO), ``meta_ppo`` (PPO-ML meta training).
Nothing is imported here, so the numpy-only environment does not pull in torch.
"""
