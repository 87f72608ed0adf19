"""Users of the DAs' emulator shaped like a model run's: the video QoE-vs-bandwidth curves the
level-one DAs hand the orchestrator (``policies.qoe.qoe_vs_bandwidth`` of seed Sec. IV MOS models
with personal weights), spread spectral efficiencies, two QoE model structures (two groups)."""

from dataclasses import dataclass

import numpy as np

from policies.qoe import qoe_vs_bandwidth
from policies.qoe.models import GenericQoeParams, generic_qoe_model

BUDGET_HZ = 10e6
BUDGET_CYCLES = 4e9


@dataclass(frozen=True)
class Users:
    labels: np.ndarray
    index: np.ndarray
    fns: list
    se: np.ndarray
    ela: np.ndarray


def _fn(model, se):
    def qoe(b):
        b = np.asarray(b, float)
        return np.broadcast_to(qoe_vs_bandwidth(model, b, se, {}), b.shape).copy()

    return qoe


def campus_users(seed: int, n: int = 8) -> Users:
    """``n`` users, half in each of two structures (rebuffer-averse vs quality-seeking)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], [n // 2, n - n // 2])
    se = rng.uniform(0.4, 5.0, n)
    fns = []
    for g in labels:
        weights = (
            GenericQoeParams(intercept=4.0, quality_weight=1.0, rebuffer_weight=rng.uniform(0.2, 0.6))
            if g == 0
            else GenericQoeParams(intercept=1.0, quality_weight=rng.uniform(3.0, 4.0), rebuffer_weight=0.1)
        )
        fns.append(_fn(generic_qoe_model(weights), se[len(fns)]))
    return Users(labels, labels.copy(), fns, se, rng.uniform(2.5, 3.5, n))
