"""Hyper-parameters of meta training and meta adaptation (seed 003, Sec. II and III.C).

References: Finn et al. 2017 (MAML), Nichol et al. 2018 (Reptile). Defaults follow the seed
where it gives a number, otherwise the public MAML-PPO setting of the CAV case study
(``shared/models/cav-cooperative-perception.md`` in the project's shared folder) or the MAML
paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.meta.names import ALGORITHMS, INIT_SCHEMES, OUTER_OPTIMIZERS
from policies.paramtools import validate_fields


@dataclass(frozen=True, slots=True)
class MetaParams:
    """Meta learning configuration of one INMF's meta model (a TOML section).

    The one meta configuration of the project: the cloud twin's meta training
    (:class:`policies.twins.twin_cloud.CloudTwinCore`), the edge twins' part of it
    (:func:`policies.rl.meta_ppo.ppo_task_update`) and ``twinslice reproduce fig6`` all read it.
    ``init`` says how an edge twin initialises an individual model (the schemes of seed 003
    Fig. 6: PPO-random = ``scratch``, PPO-TL = ``transfer``, PPO-ML = ``meta``).
    """

    init: str = field(
        default="meta",
        metadata={
            "choices": INIT_SCHEMES,
            "doc": "how an edge twin initialises an individual model: 'scratch' (a fresh "
            "network, seed Fig. 6 PPO-random), 'transfer' (the individual model of the task "
            "named by transfer_source, PPO-TL; only reproduce fig6 names tasks) or 'meta' "
            "(the least-general meta model of the cloud twin's hierarchy, seed Sec. III.C.2, "
            "PPO-ML)",
        },
    )
    transfer_source: str = field(
        default="task2",
        metadata={
            "doc": "init='transfer': the source task whose trained individual model is "
            "transferred (seed Sec. IV: task 2, mu = 7 MHz)",
        },
    )

    algorithm: str = field(
        default="maml",
        metadata={
            "choices": ALGORITHMS,
            "doc": "meta learning algorithm: MAML (Finn 2017, seed Sec. II ref [9]), its "
            "first-order approximation, or Reptile (Nichol 2018, seed footnote 1, ref [13])",
        },
    )
    inner_lr: float = field(
        default=0.1,
        metadata={
            "range": (0.0, 10.0),
            "doc": "inner-loop (individual model adaptation) SGD step size; 0.1 as in public "
            "MAML-PPO runs of the CAV case study",
        },
    )
    inner_steps: int = field(
        default=1,
        metadata={
            "range": (0, 100),
            "doc": "inner SGD steps per task during meta training; seed Sec. II: 'one "
            "gradient descent over the loss function of the individual model'",
        },
    )
    meta_lr: float = field(
        default=1e-2,
        metadata={
            "range": (0.0, 10.0),
            "doc": "outer (meta model) step size. Adam moves a weight by about meta_lr per "
            "round, so meta_lr x offline_iterations bounds how far the meta model can leave its "
            "initialisation: 1e-2 x 100 rounds = 1, one initial sigma of the pairs' Gaussians "
            "(enough to turn a pair's decision). Finn 2017's 1e-3 (supervised, ~1e4+ "
            "iterations) left the meta model within 0.1 of its random start, worse than all-SP "
            "at 5-8 pairs (measured, docs/twins.md); the seed gives no number",
        },
    )
    outer_optimizer: str = field(
        default="adam",
        metadata={"choices": OUTER_OPTIMIZERS, "doc": "outer optimiser of the meta model"},
    )
    tasks_per_round: int = field(
        default=5,
        metadata={
            "range": (1, 10_000),
            "doc": "I, the number of PLVNs (tasks) sampled per meta iteration (seed Sec. II, "
            "III.C.1); about 5 in public MAML-PPO runs of the case study",
        },
    )
    online_adaptation_steps: int = field(
        default=5,
        metadata={
            "range": (0, 10_000),
            "doc": "meta adaptation steps of an individual model online; seed Sec. II: "
            "'may take several gradient descent steps'",
        },
    )
    offline_iterations: int = field(
        default=100,
        metadata={
            "range": (0, 1_000_000),
            "doc": "meta-training rounds of the offline planning stage (seed Sec. III.C.1: "
            "'multiple iterations'; no number given; reproduce fig6 runs this many)",
        },
    )
    inner_max_grad_norm: float = field(
        default=0.5,
        metadata={
            "range": (0.0, 1e6),
            "doc": "global L2 clip of every inner-loop gradient (0: off). The inner SGD step "
            "of 0.1 on the raw PPO loss diverges without it for many pairs (issue 13: meta "
            "loss 6e13 at 5 pairs); 0.5 as PPO's own clip (ppo.max_grad_norm)",
        },
    )
    max_grad_norm: float = field(
        default=1.0,
        metadata={
            "range": (0.0, 1e6),
            "doc": "global L2 clip of the averaged meta update before the outer step (0: off)",
        },
    )
    normalise_losses: bool = field(
        default=False,
        metadata={
            "doc": "divide each task's losses by |support loss| at the meta parameters, so "
            "tasks of very different returns weigh alike",
        },
    )
    convergence_window: int = field(
        default=10,
        metadata={
            "range": (1, 10_000),
            "doc": "meta iterations in the moving average of the adaptation loss used to "
            "declare a meta model trained (seed Sec. II: 'once the average adaptation loss "
            "converges')",
        },
    )
    convergence_tol: float = field(
        default=0.01,
        metadata={
            "range": (0.0, 1.0),
            "doc": "relative change between consecutive moving-average windows below which "
            "meta training counts as converged",
        },
    )

    def __post_init__(self) -> None:
        validate_fields(self)
