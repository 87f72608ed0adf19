"""Grouping users by QoE model structure and the group-level state (seed 000, Sec. III.C.3, Fig. 4).

"Users are first clustered into different groups based on the QoE model structures. The users in
one group have the same QoE model structures but their model parameters can be different. Then,
the average group-level state, such as buffer length, computing load, and content quality, is
integrated with the QoE model index, as an input of group-level resource allocation module."

A structure may optionally be split further by a feature vector (deterministic k-means), so a
large group of alike-structured but unlike users does not share one decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Columns of the per-user state matrix the orchestrator and the emulator share.
USER_STATE_FEATURES: tuple[str, ...] = (
    "buffer_s",
    "compute_load_cps",
    "content_quality",
    "qoe_model_index",
)
# Per-group encoded features fed to the BDQN: the seed's averages plus the group's user share.
GROUP_FEATURES: tuple[str, ...] = USER_STATE_FEATURES + ("user_fraction",)
FEATURE_LIMIT = 1e6


@dataclass(frozen=True, slots=True)
class Grouping:
    """Result of grouping users.

    Attributes:
        labels: group of each user, shape (n_users,), values 0..n_groups-1.
        group_structure: QoE model structure id of each group.
        structure_index: index of each group's structure in the structure catalog.
    """

    labels: np.ndarray
    group_structure: tuple[str, ...]
    structure_index: np.ndarray

    @property
    def n_groups(self) -> int:
        """Number of groups."""
        return len(self.group_structure)


def group_by_structure(
    structure_ids: Sequence[str],
    features: np.ndarray | None = None,
    groups_per_structure: int = 1,
    catalog: Sequence[str] | None = None,
) -> Grouping:
    """Cluster users into groups by QoE model structure, optionally refined by features.

    Deterministic: the same inputs always give the same labels. Groups are numbered by structure
    (in catalog order) and, inside a structure, by the lowest user index of each cluster.

    Args:
        structure_ids: each user's QoE model structure id (e.g. "log", "sigmoid").
        features: optional (n_users, n_features) array; with ``groups_per_structure > 1`` each
            structure is split into up to that many clusters by k-means on standardised features.
        groups_per_structure: maximum clusters per structure.
        catalog: ordered list of all known structure ids, fixing the QoE model index; defaults to
            the sorted distinct ids present.

    Returns:
        The grouping.

    Raises:
        ValueError: if a structure id is missing from ``catalog`` or shapes disagree.
    """
    ids = list(structure_ids)
    cat = sorted(set(ids)) if catalog is None else list(catalog)
    missing = set(ids) - set(cat)
    if missing:
        raise ValueError(f"structure ids {sorted(missing)} not in catalog")
    if groups_per_structure < 1:
        raise ValueError("groups_per_structure must be at least 1")
    z = _standardised(features, len(ids))
    labels = np.full(len(ids), -1, dtype=np.int64)
    group_structure: list[str] = []
    structure_index: list[int] = []
    for s_idx, sid in enumerate(cat):
        members = np.flatnonzero([u == sid for u in ids])
        if members.size == 0:
            continue
        sub = _kmeans_labels(z[members], groups_per_structure) if z is not None else None
        n_sub = 1 if sub is None else int(sub.max()) + 1
        labels[members] = len(group_structure) + (0 if sub is None else sub)
        group_structure.extend([sid] * n_sub)
        structure_index.extend([s_idx] * n_sub)
    return Grouping(labels, tuple(group_structure), np.asarray(structure_index, dtype=np.int64))


def _standardised(features: np.ndarray | None, n_users: int) -> np.ndarray | None:
    """Zero-mean, unit-variance columns (constant columns are left centred)."""
    if features is None:
        return None
    x = np.asarray(features, dtype=float).reshape(n_users, -1)
    std = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)


def _kmeans_labels(x: np.ndarray, k: int, iterations: int = 100) -> np.ndarray:
    """Deterministic k-means: farthest-point initialisation, Lloyd steps, first-index ordering."""
    k = min(k, len(np.unique(x, axis=0)))
    # The first centre is the point nearest the mean (ties: lowest index), then farthest points.
    centres = [int(np.argmin(((x - x.mean(axis=0)) ** 2).sum(axis=1)))]
    while len(centres) < k:
        d2 = ((x[:, None, :] - x[centres][None, :, :]) ** 2).sum(axis=2).min(axis=1)
        centres.append(int(np.argmax(d2)))
    c = x[centres].copy()
    labels = np.zeros(len(x), dtype=np.int64)
    for _ in range(iterations):
        labels_new = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for j in range(k):
            if np.any(labels_new == j):
                c[j] = x[labels_new == j].mean(axis=0)
        if np.array_equal(labels_new, labels):
            break
        labels = labels_new
    # Renumber clusters by their lowest member index so labels do not depend on centre order.
    used, first = np.unique(labels, return_index=True)
    remap = np.zeros(k, dtype=np.int64)
    remap[used[np.argsort(first)]] = np.arange(used.size)
    return remap[labels]


def average_group_state(labels: np.ndarray, user_states: np.ndarray, n_groups: int) -> np.ndarray:
    """Average the per-user state over each group (seed Fig. 4 'average group-level state').

    Args:
        labels: group of each user, shape (n_users,).
        user_states: (n_users, n_features) states, columns as in ``USER_STATE_FEATURES``.
        n_groups: number of groups (empty groups get an all-zero row).

    Returns:
        (n_groups, n_features) group means.
    """
    x = np.asarray(user_states, dtype=float)
    sums = np.zeros((n_groups, x.shape[1]))
    np.add.at(sums, labels, x)
    counts = np.bincount(labels, minlength=n_groups).astype(float)
    return sums / np.maximum(counts, 1.0)[:, None]


def encode_group_state(
    labels: np.ndarray,
    user_states: np.ndarray,
    n_groups: int,
    buffer_cap_s: float,
    load_scale_cps: float,
    max_structures: int,
) -> np.ndarray:
    """Normalised, flattened group-level state vector the BDQN reads.

    Per group (``GROUP_FEATURES``): mean buffer / cap, mean computing load / ``load_scale_cps``
    (the per-user fair share of the edge's cycles), mean content quality in [0, 1], QoE model
    index / ``max_structures`` and the fraction of users in the group. A feature whose scale is
    0 is encoded as 0; features saturate at +-``FEATURE_LIMIT``.

    Returns:
        float32 array of shape (n_groups * len(GROUP_FEATURES),).
    """
    means = average_group_state(labels, user_states, n_groups)
    scale = np.array([buffer_cap_s, load_scale_cps, 1.0, float(max_structures)])
    # A zero scale (e.g. an edge without computing) makes that feature 0 rather than inf/NaN.
    # Saturate so a near-zero scale cannot overflow float32 and poison the network's input.
    with np.errstate(over="ignore"):
        normalised = np.divide(means, scale, out=np.zeros_like(means), where=scale > 0)
    normalised = np.clip(normalised, -FEATURE_LIMIT, FEATURE_LIMIT)
    fraction = np.bincount(labels, minlength=n_groups) / max(len(labels), 1)
    return np.column_stack([normalised, fraction]).astype(np.float32).ravel()
