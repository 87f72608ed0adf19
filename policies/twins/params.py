"""Configuration of the digital twins' policies (seed 003, Sec. III.A-III.C).

Continuous attribute bins are given in *normalised* units: a value is first mapped to [0, 1]
by its configured range (seed Sec. III.A: "normalize those with different units/scales to the
range of [0, 1] before discretization"), then bin ``i`` covers ``[edges[i-1], edges[i])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from policies.meta.params import validate_fields

#: Network-level attributes of a PLVN named in seed Sec. III.A.
CONTINUOUS_ATTRIBUTES: tuple[str, ...] = (
    "hour",
    "vehicle_count",
    "average_workload",
    "average_resources",
)
CATEGORICAL_ATTRIBUTES: tuple[str, ...] = ("city", "road_type")
ATTRIBUTES: tuple[str, ...] = ("hour", "city", "road_type", *CONTINUOUS_ATTRIBUTES[1:])

CACHE_POLICIES: tuple[str, ...] = ("lfu", "lfu_da", "lru")
FALLBACKS: tuple[str, ...] = ("ancestor", "super")


@dataclass(frozen=True, slots=True)
class TwinParams:
    """Edge/cloud twin settings: categorisation, meta-model cache, drift detection."""

    attribute_order: tuple[str, ...] = field(
        default=("hour", "city", "road_type"),
        metadata={
            "doc": "attributes from most to least general; a category at level l uses the "
            f"first l of them. Any of {ATTRIBUTES}. Default: time, city, road (seed Fig. 4)"
        },
    )
    hour_range: tuple[float, float] = field(
        default=(0.0, 24.0), metadata={"doc": "hour of day range used to normalise"}
    )
    hour_edges: tuple[float, ...] = field(
        default=(0.25, 0.75),
        metadata={"doc": "normalised bin edges of the hour: 06:00 and 18:00"},
    )
    hour_labels: tuple[str, ...] = field(
        default=("night", "day", "night"),
        metadata={"doc": "label of each hour bin ('Day'/'Night', seed Sec. III.A)"},
    )
    vehicle_count_range: tuple[float, float] = field(
        default=(0.0, 100.0), metadata={"doc": "vehicles in the PLVN, range used to normalise"}
    )
    vehicle_count_edges: tuple[float, ...] = field(
        default=(0.2, 0.5), metadata={"doc": "normalised bin edges of the vehicle count"}
    )
    vehicle_count_labels: tuple[str, ...] = field(
        default=("sparse", "medium", "dense"), metadata={"doc": "vehicle count bin labels"}
    )
    average_workload_range: tuple[float, float] = field(
        default=(4.0, 8.0),
        metadata={"doc": "objects per CAV pair, range used to normalise (CAV model: 4..8)"},
    )
    average_workload_edges: tuple[float, ...] = field(
        default=(0.5,), metadata={"doc": "normalised bin edges of the average workload"}
    )
    average_workload_labels: tuple[str, ...] = field(
        default=("light", "heavy"), metadata={"doc": "average workload bin labels"}
    )
    average_resources_range: tuple[float, float] = field(
        default=(5.0, 7.0),
        metadata={"doc": "mean available radio resources in MHz (seed Sec. IV: 5, 6, 7 MHz)"},
    )
    average_resources_edges: tuple[float, ...] = field(
        default=(0.25, 0.75),
        metadata={"doc": "normalised edges: splits 5/6/7 MHz into low/medium/high"},
    )
    average_resources_labels: tuple[str, ...] = field(
        default=("low", "medium", "high"), metadata={"doc": "average resources bin labels"}
    )
    cache_capacity_models: int = field(
        default=8,
        metadata={"range": (0, 1_000_000), "doc": "meta models an edge twin caches; 0 = no limit"},
    )
    cache_capacity_bytes: int = field(
        default=0,
        metadata={"range": (0, 2**50), "doc": "cache size limit in bytes; 0 = no limit"},
    )
    cache_policy: str = field(
        default="lfu",
        metadata={
            "choices": CACHE_POLICIES,
            "doc": "replacement: LFU with LRU tie-break, LFU with dynamic aging (Arlitt et al. "
            "2000), or LRU; seed Sec. III.C.2: 'keep the most popular meta models'",
        },
    )
    drift_distance_threshold: float = field(
        default=0.2,
        metadata={
            "range": (0.0, 2.0),
            "doc": "Euclidean distance between sub-category fraction vectors that signals a "
            "task distribution drift (seed Sec. III.B; the seed gives no value, max is sqrt 2)",
        },
    )
    loss_window: int = field(
        default=10,
        metadata={"range": (1, 100_000), "doc": "samples in the adaptation-loss moving average"},
    )
    loss_rise_threshold: float = field(
        default=0.5,
        metadata={
            "range": (0.0, 1000.0),
            "doc": "relative rise of the moving-average adaptation loss over its baseline "
            "that signals drift ('a remarkable increase', seed Sec. III.B)",
        },
    )
    unknown_category_fallback: str = field(
        default="ancestor",
        metadata={
            "choices": FALLBACKS,
            "doc": "model used for a PLVN in an unknown category: its least-general known "
            "ancestor (seed Sec. III.B) or always the super model (seed Sec. III.C.2)",
        },
    )
    min_category_size: int = field(
        default=5,
        metadata={
            "range": (1, 1_000_000),
            "doc": "PLVNs a category must list before its meta model is trained (at least "
            "I tasks per round; seed Sec. III.A data-inefficiency trade-off)",
        },
    )

    def __post_init__(self) -> None:
        validate_fields(self)
        unknown = [a for a in self.attribute_order if a not in ATTRIBUTES]
        if unknown or len(set(self.attribute_order)) != len(self.attribute_order):
            raise ValueError(
                f"attribute_order={self.attribute_order!r}: names must be distinct, from "
                f"{ATTRIBUTES}"
            )
        for name in CONTINUOUS_ATTRIBUTES:
            _check_bins(name, *self.bins(name))

    def bins(self, name: str) -> tuple[tuple[float, float], tuple[float, ...], tuple[str, ...]]:
        """``(range, normalised edges, labels)`` of continuous attribute ``name``."""
        return (
            getattr(self, f"{name}_range"),
            getattr(self, f"{name}_edges"),
            getattr(self, f"{name}_labels"),
        )


def _check_bins(
    name: str, value_range: tuple[float, float], edges: tuple[float, ...], labels: tuple[str, ...]
) -> None:
    lo, hi = value_range
    if not lo < hi:
        raise ValueError(f"{name}_range=({lo}, {hi}) must have lo < hi")
    if any(not 0.0 < e < 1.0 for e in edges) or any(
        b <= a for a, b in zip(edges, edges[1:], strict=False)
    ):
        raise ValueError(f"{name}_edges={edges!r} must increase strictly inside (0, 1)")
    if len(labels) != len(edges) + 1 or any(not lab or "+" in lab or lab == "*" for lab in labels):
        raise ValueError(
            f"{name}_labels needs {len(edges) + 1} non-empty labels without '+' or '*', "
            f"got {labels!r}"
        )
