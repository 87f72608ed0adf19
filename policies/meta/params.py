"""Hyper-parameters of meta training and meta adaptation (seed 003, Sec. II and III.C).

References: Finn et al. 2017 (MAML), Nichol et al. 2018 (Reptile). Defaults follow the seed
where it gives a number, otherwise the public MAML-PPO setting of the CAV case study
(``shared/models/cav-cooperative-perception.md`` in the project's shared folder) or the MAML
paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.meta.names import ALGORITHMS, OUTER_OPTIMIZERS
from policies.paramtools import validate_fields


@dataclass(frozen=True, slots=True)
class MetaParams:
    """Meta learning configuration of one INMF's meta model (a TOML section)."""

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
        default=1e-3,
        metadata={"range": (0.0, 10.0), "doc": "outer (meta model) step size; 1e-3 (Finn 2017)"},
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
