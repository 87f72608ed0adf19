"""Hierarchical meta models and PLVN category lists (seed 003, Sec. III.A-III.C.1, Fig. 4).

* :class:`CategoryRegistry` — the cloud twin's record of PLVN ids per category. A PLVN with
  category path ``("day", "toronto", "highway")`` is listed in every more general category on
  that path too (``()``, ``("day",)``, ...), so a category's list is the union of its
  sub-categories' lists; meta training samples I PLVNs uniformly from such a list
  (Sec. III.C.1).
* :class:`MetaModelTree` — one tree per intelligent network management function (INMF): the
  super model at the root, less general meta models below. A node carries a model payload
  (a parameter dict or state dict, opaque here), a version counter and training statistics.
  :meth:`MetaModelTree.least_general_match` serves the deepest available model matching a
  PLVN's category, falling back to the super model (Sec. III.B).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from policies.twins.attributes import ROOT, CategoryKey, category_keys


class CategoryRegistry:
    """PLVN ids per category with O(depth) add / remove / move."""

    def __init__(self) -> None:
        self._path_of: dict[int, CategoryKey] = {}
        self._members: dict[CategoryKey, set[int]] = {}

    def add(self, plvn_id: int, path: CategoryKey) -> None:
        """List ``plvn_id`` under ``path`` and all its ancestors.

        Raises:
            KeyError: if the PLVN is already registered (use :meth:`move`).
        """
        if plvn_id in self._path_of:
            raise KeyError(f"PLVN {plvn_id} already registered under {self._path_of[plvn_id]}")
        self._path_of[plvn_id] = tuple(path)
        for key in category_keys(tuple(path)):
            self._members.setdefault(key, set()).add(plvn_id)

    def remove(self, plvn_id: int) -> CategoryKey:
        """Unlist a PLVN everywhere; returns the path it had. Raises KeyError if unknown."""
        path = self._path_of.pop(plvn_id)
        for key in category_keys(path):
            members = self._members[key]
            members.discard(plvn_id)
            if not members:
                del self._members[key]
        return path

    def move(self, plvn_id: int, new_path: CategoryKey) -> CategoryKey:
        """Re-categorise a PLVN (its attributes changed); returns the old path."""
        old = self.remove(plvn_id)
        self.add(plvn_id, new_path)
        return old

    def path_of(self, plvn_id: int) -> CategoryKey:
        """Most specific category of a registered PLVN."""
        return self._path_of[plvn_id]

    def count(self, key: CategoryKey) -> int:
        """Number of PLVNs in the category (including its sub-categories)."""
        return len(self._members.get(tuple(key), ()))

    def members(self, key: CategoryKey) -> list[int]:
        """Sorted PLVN ids of a category (sorted so that sampling is reproducible)."""
        return sorted(self._members.get(tuple(key), ()))

    def categories(self) -> list[CategoryKey]:
        """Every non-empty category, most general first, then lexicographic."""
        return sorted(self._members, key=lambda k: (len(k), k))

    def subcategory_counts(self, key: CategoryKey) -> dict[CategoryKey, int]:
        """PLVN counts of the direct sub-categories of ``key`` (one level deeper).

        PLVNs whose path ends at ``key`` itself (unknown finer attributes) are not in any
        sub-category and are left out.
        """
        key = tuple(key)
        return {
            k: len(v)
            for k, v in sorted(self._members.items())
            if len(k) == len(key) + 1 and k[: len(key)] == key
        }

    def sample(
        self, key: CategoryKey, n: int, rng: np.random.Generator, replace: bool = False
    ) -> list[int]:
        """Draw ``n`` PLVNs uniformly from a category's list (seed Sec. III.C.1).

        Without replacement at most ``count(key)`` distinct ids are returned.
        """
        pool = self.members(key)
        if not pool or n <= 0:
            return []
        size = n if replace else min(n, len(pool))
        picks = rng.choice(len(pool), size=size, replace=replace)
        return [pool[int(i)] for i in picks]

    def __len__(self) -> int:
        return len(self._path_of)

    def __contains__(self, plvn_id: object) -> bool:
        return plvn_id in self._path_of


@dataclass(slots=True)
class TrainingStats:
    """Meta-training record of one node."""

    iterations: int = 0
    last_loss: float = math.nan
    best_loss: float = math.inf
    loss_history: list[float] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class MetaModelNode:
    """One meta model of the hierarchy; ``payload is None`` means not yet trained."""

    key: CategoryKey
    payload: object | None = None
    version: int = 0
    stats: TrainingStats = field(default_factory=TrainingStats)
    children: dict[str, MetaModelNode] = field(default_factory=dict)

    @property
    def level(self) -> int:
        """Generalisation level: 0 for the super model."""
        return len(self.key)

    @property
    def available(self) -> bool:
        """Whether a trained model can be served."""
        return self.payload is not None


class MetaModelTree:
    """Hierarchical meta models of one INMF, rooted at the super model."""

    def __init__(self, inmf: str, super_payload: object | None = None) -> None:
        self.inmf = inmf
        self.root = MetaModelNode(ROOT)
        if super_payload is not None:
            self.set_model(ROOT, super_payload)

    def node(self, key: CategoryKey) -> MetaModelNode | None:
        """The node of exactly this category, or None."""
        current = self.root
        for label in key:
            child = current.children.get(label)
            if child is None:
                return None
            current = child
        return current

    def add(self, key: CategoryKey, payload: object | None = None) -> MetaModelNode:
        """Create the node of a new category (and missing ancestors, untrained); idempotent."""
        current = self.root
        for depth, label in enumerate(key):
            if label not in current.children:
                current.children[label] = MetaModelNode(tuple(key[: depth + 1]))
            current = current.children[label]
        if payload is not None:
            self.set_model(key, payload)
        return current

    def set_model(self, key: CategoryKey, payload: object) -> MetaModelNode:
        """Store a (re)trained model for a category and bump its version."""
        node = self.add(key)
        node.payload = payload
        node.version += 1
        return node

    def record_iteration(self, key: CategoryKey, adaptation_loss: float) -> TrainingStats:
        """Log the average adaptation loss of one meta iteration of a category's model."""
        stats = self.add(key).stats
        stats.iterations += 1
        stats.last_loss = float(adaptation_loss)
        stats.best_loss = min(stats.best_loss, float(adaptation_loss))
        stats.loss_history.append(float(adaptation_loss))
        return stats

    def least_general_match(self, path: CategoryKey, available_only: bool = True) -> MetaModelNode:
        """Deepest node on ``path`` (seed Sec. III.B), falling back to the super model.

        Args:
            path: A PLVN's most specific category.
            available_only: Skip nodes without a trained model (the root is always returned
                as the last resort, trained or not).
        """
        best = self.root
        current = self.root
        for label in path:
            child = current.children.get(label)
            if child is None:
                break
            current = child
            if child.available or not available_only:
                best = child
        return best

    def nodes(self) -> Iterator[MetaModelNode]:
        """All nodes, depth-first in label order (root first)."""
        stack = [self.root]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(node.children[lab] for lab in sorted(node.children, reverse=True))

    def available_keys(self) -> list[CategoryKey]:
        """Categories with a trained meta model."""
        return [n.key for n in self.nodes() if n.available]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.node(key) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self.nodes())


def categories_to_train(
    registry: CategoryRegistry,
    tree: MetaModelTree,
    min_size: int,
    max_level: int | None = None,
) -> list[CategoryKey]:
    """Categories listing at least ``min_size`` PLVNs whose meta model does not exist yet.

    Most general first: a coarse model serves many PLVNs and needs no data from rare
    fine-grained categories (seed Sec. III.A trade-off).
    """
    out: Sequence[CategoryKey] = registry.categories()
    return [
        key
        for key in out
        if registry.count(key) >= min_size
        and (max_level is None or len(key) <= max_level)
        and not ((node := tree.node(key)) is not None and node.available)
    ]
