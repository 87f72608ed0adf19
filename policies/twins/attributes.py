"""PLVN network-level attributes and categories (seed 003, Sec. III.A and Fig. 4).

A PLVN is tagged by attributes such as hour, city, road type, vehicle count, average workload
and average resources. Continuous attributes are normalised to [0, 1] by configured ranges and
discretised into labelled bins; categorical ones are used as labels. A *category key* at
generalisation level ``l`` is the tuple of the first ``l`` labels in the configured attribute
order: level 0 is ``()``, the super model's category "*"; e.g. ``("day",)``, then
``("day", "toronto")``, then ``("day", "toronto", "highway")`` = "Day + Toronto + Highway".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from policies.twins.params import CATEGORICAL_ATTRIBUTES, TwinParams

CategoryKey = tuple[str, ...]
ROOT: CategoryKey = ()


@dataclass(frozen=True, slots=True)
class PLVNAttributes:
    """Network-level attributes of one PLVN; ``None`` marks an attribute not (yet) known."""

    hour: float | None = None
    city: str | None = None
    road_type: str | None = None
    vehicle_count: float | None = None
    average_workload: float | None = None
    average_resources: float | None = None


def normalise(value: ArrayLike, value_range: tuple[float, float]) -> NDArray[np.float64]:
    """Map values linearly from ``value_range`` onto [0, 1], clipping outliers."""
    lo, hi = value_range
    return np.clip((np.asarray(value, dtype=float) - lo) / (hi - lo), 0.0, 1.0)


def bin_index(normalised: ArrayLike, edges: tuple[float, ...]) -> NDArray[np.intp]:
    """Bin of each normalised value: bin ``i`` covers ``[edges[i-1], edges[i])``."""
    return np.searchsorted(np.asarray(edges, dtype=float), normalised, side="right")


def discretise(name: str, value: float | str, params: TwinParams) -> str:
    """Label of one attribute value.

    Args:
        name: Attribute name (a field of :class:`PLVNAttributes`).
        value: Raw value: a number for continuous attributes, a string for categorical ones.
        params: Ranges, bin edges and labels.

    Returns:
        The bin label, or the canonical form of a categorical value (lower case, runs of
        blanks and "+" replaced by "_"), so "Toronto" and "toronto" are the same category.
    """
    if name in CATEGORICAL_ATTRIBUTES:
        return "_".join(str(value).lower().replace("+", " ").split())
    value_range, edges, labels = params.bins(name)
    return labels[int(bin_index(normalise(float(value), value_range), edges))]


def category_path(attrs: PLVNAttributes, params: TwinParams) -> CategoryKey:
    """Most specific category key of a PLVN from its known attributes.

    Stops at the first unknown attribute in ``params.attribute_order``: only known attributes
    can place a PLVN in a category (seed Sec. III.B, "based on known attributes").
    """
    labels: list[str] = []
    for name in params.attribute_order:
        value = getattr(attrs, name)
        if value is None:
            break
        labels.append(discretise(name, value, params))
    return tuple(labels)


def category_keys(path: CategoryKey) -> list[CategoryKey]:
    """All generalisation levels of a path, root first: ``[(), (a,), (a, b), ...]``."""
    return [path[:level] for level in range(len(path) + 1)]


def category_at_level(attrs: PLVNAttributes, params: TwinParams, level: int) -> CategoryKey:
    """Category key at generalisation ``level`` (shorter if attributes are unknown)."""
    if level < 0:
        raise ValueError(f"level must be >= 0, got {level}")
    return category_path(attrs, params)[:level]


def key_str(key: CategoryKey) -> str:
    """Readable name of a category: "*" for the root, else labels joined by "+"."""
    return "*" if not key else "+".join(key)


def parse_key(text: str) -> CategoryKey:
    """Inverse of :func:`key_str`."""
    return ROOT if text == "*" else tuple(text.split("+"))


def is_ancestor(ancestor: CategoryKey, key: CategoryKey) -> bool:
    """Whether ``ancestor`` is ``key`` or a more general category containing it."""
    return key[: len(ancestor)] == ancestor
