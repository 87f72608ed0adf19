"""The one meta-training step of the PPO perception model (seed 003, Sec. II, III.C.1, Fig. 5a).

Seed 003, Sec. II: in each meta iteration I tasks are sampled; every individual learner gets
the meta model, collects first-round data with it, adapts it by gradient descent on the
individual (PPO) loss, collects second-round data with the adapted model and returns the
gradient of the adaptation loss w.r.t. the meta parameters; the meta learner descends along
the average. Footnote 1: Reptile omits the second round and returns the scaled parameter
difference instead.

There is exactly one implementation of this loop in the project:

* the **individual learner's part** is :func:`ppo_task_update` (run by an edge twin,
  :class:`policies.twins.twin_edge.EdgeTwinCore`, on data from its emulation model; the update
  travels to the cloud twin as a ``meta_update`` message);
* the **meta learner's part** is :class:`policies.meta.MetaLearner` held by the cloud twin
  (:class:`policies.twins.twin_cloud.CloudTwinCore`): rounds sample I PLVNs from a category's
  list, ship the meta model (``meta_model`` messages, purpose "train") and average the updates.

``twinslice reproduce fig6`` drives those two cores (:mod:`policies.twins.driver`); the
algorithm (``maml`` -- the authors' MAML-PPO --, ``fomaml`` or ``reptile``) and every
hyper-parameter come from the ``[meta]`` section (:class:`policies.meta.MetaParams`).

The inner loop, for all three algorithms: ``meta.inner_steps`` SGD steps of size
``meta.inner_lr`` on the PPO loss (:func:`policies.rl.ppo.ppo_loss`) of a fresh rollout with
the current parameters, each gradient clipped to ``meta.inner_max_grad_norm``. MAML keeps the
graph of those steps (exact second-order gradient of the query loss through the inner loop,
the data being constants); FOMAML takes the query gradient at the adapted point; Reptile sends
``adapted - meta``.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from policies.meta import MetaLearner, MetaParams
from policies.rl.ppo import PPOParams, RolloutBatch, ppo_loss
from policies.rl.ppo_net import Params


def task_learner(module: nn.Module, meta_params: Params, meta: MetaParams) -> MetaLearner:
    """A :class:`MetaLearner` holding ``meta_params`` with the ``[meta]`` settings.

    The edge twin uses it only for :meth:`MetaLearner.task_update` (its optimiser is unused).
    """
    learner = MetaLearner.from_params(module, meta)
    learner.load_state_dict(meta_params)
    return learner


def ppo_task_update(module: nn.Module, meta_params: Params, meta: MetaParams,
                    sample: Callable[[Params], RolloutBatch], hp: PPOParams
                    ) -> tuple[Params, float]:
    """One individual learner's part of a meta iteration (seed Sec. II, Fig. 5a).

    Args:
        module: The actor-critic architecture.
        meta_params: The meta model as received.
        meta: The ``[meta]`` section.
        sample: ``sample(params)`` collects a fresh batch with ``params`` (the edge twin
            emulates its PLVN); called before every inner step (first-round data) and once
            after the adaptation (second-round data; Reptile only logs its loss).
        hp: PPO hyper-parameters (the individual loss).

    Returns:
        ``(update, adaptation_loss)``: the adaptation-loss gradient (MAML, FOMAML) or the
        Reptile direction ``adapted - meta``, detached, and the PPO loss after adaptation.
    """
    learner = task_learner(module, meta_params, meta)

    def loss_fn(params: Params) -> Tensor:
        return ppo_loss(module, params, sample(params), hp)

    update, loss = learner.task_update(loss_fn, loss_fn)
    return {k: v.detach().clone() for k, v in update.items()}, float(loss)
