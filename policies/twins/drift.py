"""Drift detection and category transfer decisions (seed 003, Sec. II, III.B and III.C.2).

Drift of a category's (unknown) task distribution is detected coarsely, as the seed proposes:

* composition drift — "For each category, the fractions of PLVNs in all the sub-categories
  composite a vector. The Euclidean distance between vectors at different time points roughly
  evaluates the difference in the task distribution" (Sec. III.B);
* loss rise — "a remarkable increase of the meta model's adaptation loss on sampled tasks
  implies a task distribution drift" (Sec. III.B; Sec. II: "use the performance degradation
  as a triggering signal"). Implemented as the relative rise of a moving average of recent
  adaptation losses over a baseline moving average taken right after (re)training.

:func:`transfer_decision` is the table of Sec. III.C.2 for a PLVN that needs retraining.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum

import numpy as np

from policies.twins.attributes import ROOT, CategoryKey, is_ancestor, key_str
from policies.twins.params import FALLBACKS


def fraction_vector(
    counts: Mapping[CategoryKey, int], subcategories: list[CategoryKey]
) -> np.ndarray:
    """Fractions of a category's PLVNs in each listed sub-category (zeros if empty)."""
    vec = np.array([counts.get(k, 0) for k in subcategories], dtype=float)
    total = vec.sum()
    return vec / total if total > 0 else vec


def composition_distance(old: Mapping[CategoryKey, int], new: Mapping[CategoryKey, int]) -> float:
    """Euclidean distance between the sub-category fraction vectors of two snapshots.

    Sub-categories missing from a snapshot count as 0, so a new sub-category appearing is
    drift too. Range [0, sqrt(2)].
    """
    subcategories = sorted(set(old) | set(new))
    diff = fraction_vector(old, subcategories) - fraction_vector(new, subcategories)
    return float(np.linalg.norm(diff))


class LossRiseDetector:
    """Relative rise of the moving-average adaptation loss over a baseline.

    The first ``window`` losses after :meth:`reset` form the baseline (unless one is given);
    afterwards the detector fires when ``(mean(last window) - baseline) / baseline``
    exceeds ``threshold``.
    """

    def __init__(self, window: int, threshold: float, baseline: float | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.threshold = threshold
        self.reset(baseline)

    def reset(self, baseline: float | None = None) -> None:
        """Start over after (re)training, optionally with a known baseline loss."""
        self.baseline = baseline
        self._recent: deque[float] = deque(maxlen=self.window)

    @property
    def moving_average(self) -> float:
        """Mean of the recent losses (nan if none)."""
        return sum(self._recent) / len(self._recent) if self._recent else math.nan

    def relative_rise(self) -> float:
        """``(moving average - baseline) / |baseline|``; nan until both exist."""
        if self.baseline is None or len(self._recent) < self.window:
            return math.nan
        return (self.moving_average - self.baseline) / max(abs(self.baseline), 1e-12)

    def update(self, loss: float) -> bool:
        """Add one adaptation loss; return True when the rise exceeds the threshold."""
        self._recent.append(float(loss))
        if self.baseline is None:
            if len(self._recent) == self.window:
                self.baseline = self.moving_average
                self._recent.clear()
            return False
        rise = self.relative_rise()
        return not math.isnan(rise) and rise > self.threshold


class DriftCause(Enum):
    """Why a category's meta model should be retrained."""

    COMPOSITION = "composition"
    LOSS_RISE = "loss_rise"


@dataclass(frozen=True, slots=True)
class RetrainSignal:
    """A "retrain" signal for one category's meta model."""

    category: CategoryKey
    cause: DriftCause
    value: float


class CompositionDriftMonitor:
    """Per-category reference compositions, compared with current ones (seed Sec. III.B)."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._reference: dict[CategoryKey, dict[CategoryKey, int]] = {}

    def set_reference(self, category: CategoryKey, counts: Mapping[CategoryKey, int]) -> None:
        """Record the composition the category's meta model was trained on."""
        self._reference[category] = dict(counts)

    def check(
        self, category: CategoryKey, counts: Mapping[CategoryKey, int]
    ) -> RetrainSignal | None:
        """Signal when the distance to the reference exceeds the threshold.

        The first observation of a category becomes its reference and never signals.
        """
        if category not in self._reference:
            self.set_reference(category, counts)
            return None
        distance = composition_distance(self._reference[category], counts)
        if distance > self.threshold:
            return RetrainSignal(category, DriftCause.COMPOSITION, distance)
        return None


class LossDriftMonitor:
    """One :class:`LossRiseDetector` per category (cloud twin, seed Sec. III.B)."""

    def __init__(self, window: int, threshold: float) -> None:
        self.window = window
        self.threshold = threshold
        self._detectors: dict[CategoryKey, LossRiseDetector] = {}

    def detector(self, category: CategoryKey) -> LossRiseDetector:
        """The category's detector, created on first use."""
        if category not in self._detectors:
            self._detectors[category] = LossRiseDetector(self.window, self.threshold)
        return self._detectors[category]

    def observe(self, category: CategoryKey, adaptation_loss: float) -> RetrainSignal | None:
        """Feed one adaptation loss of a sampled task; signal on a remarkable rise."""
        det = self.detector(category)
        if det.update(adaptation_loss):
            return RetrainSignal(category, DriftCause.LOSS_RISE, det.relative_rise())
        return None

    def reset(self, category: CategoryKey, baseline: float | None = None) -> None:
        """Restart after the category's meta model was retrained."""
        self.detector(category).reset(baseline)


class Decision(Enum):
    """What an edge twin does for a PLVN that needs model retraining (seed Sec. III.C.2)."""

    RETRAIN_FROM_CACHED = "retrain_from_cached"
    FETCH_META_MODEL = "fetch_meta_model"
    FALLBACK_AND_REQUEST_NEW = "fallback_and_request_new"


@dataclass(frozen=True, slots=True)
class TransferDecision:
    """A decision with the meta model to start from and a human-readable reason."""

    decision: Decision
    model_key: CategoryKey
    fetch: bool
    request_training: bool
    reason: str


def transfer_decision(
    old_category: CategoryKey | None,
    new_category: CategoryKey,
    known_categories: Collection[CategoryKey],
    cached: Collection[CategoryKey],
    fallback: str = "ancestor",
) -> TransferDecision:
    """Seed Sec. III.C.2 decision table for model retraining.

    * the new category has a meta model at the cloud (known): start from it, from the edge
      cache if cached (always the case when the PLVN stayed in its category and the model was
      not evicted), else fetch it from the cloud twin;
    * unknown category: start from the super model (``fallback="super"``, Sec. III.C.2) or
      the least-general known ancestor (``"ancestor"``, Sec. III.B; the super model when no
      ancestor is known), and request the cloud twin to train a meta model for it.

    Args:
        old_category: Category before the change (None for a new PLVN).
        new_category: Current category path.
        known_categories: Categories with a trained meta model at the cloud twin.
        cached: Categories whose meta model this edge twin has cached.
        fallback: "ancestor" or "super".
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
    moved = "stays in" if old_category == new_category else "moves to"
    where = f"PLVN {moved} {key_str(new_category)}"
    if new_category in known_categories:
        if new_category in cached:
            return TransferDecision(
                Decision.RETRAIN_FROM_CACHED,
                new_category,
                False,
                False,
                f"{where}: known, meta model cached",
            )
        return TransferDecision(
            Decision.FETCH_META_MODEL,
            new_category,
            True,
            False,
            f"{where}: known, fetch meta model from the cloud twin",
        )
    source = ROOT
    if fallback == "ancestor":
        ancestors = [k for k in known_categories if is_ancestor(k, new_category)]
        source = max(ancestors, key=len, default=ROOT)
    return TransferDecision(
        Decision.FALLBACK_AND_REQUEST_NEW,
        source,
        source not in cached,
        True,
        f"{where}: unknown, retrain from {key_str(source)} and request a new meta model",
    )
