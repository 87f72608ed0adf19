"""Category registry and hierarchical meta-model tree (seed 003, Sec. III.A-III.C.1)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.twins import (
    ROOT,
    CategoryRegistry,
    MetaModelTree,
    categories_to_train,
    category_keys,
    is_ancestor,
)

PATHS = [
    ("day", "toronto", "highway"),
    ("day", "toronto", "local"),
    ("day", "vancouver"),
    ("night", "vancouver", "local"),
    ("night",),
    (),
]

ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "move"]), st.integers(0, 7), st.sampled_from(PATHS)
    ),
    max_size=40,
)


@given(ops)
def test_registry_counts_match_brute_force(operations) -> None:
    reg, truth = CategoryRegistry(), {}
    for op, pid, path in operations:
        if op == "add" and pid not in truth:
            reg.add(pid, path)
            truth[pid] = path
        elif op == "remove" and pid in truth:
            assert reg.remove(pid) == truth.pop(pid)
        elif op == "move" and pid in truth:
            assert reg.move(pid, path) == truth[pid]
            truth[pid] = path
    assert len(reg) == len(truth)
    for key in {k for p in PATHS for k in category_keys(p)}:
        expected = sorted(pid for pid, p in truth.items() if is_ancestor(key, p))
        assert reg.members(key) == expected and reg.count(key) == len(expected)
    assert all(reg.count(k) > 0 for k in reg.categories())
    for key in reg.categories():
        subs = reg.subcategory_counts(key)
        direct = sum(1 for p in truth.values() if p == key)
        assert sum(subs.values()) + direct == reg.count(key)


def test_registry_rejects_double_add_and_unknown_remove() -> None:
    reg = CategoryRegistry()
    reg.add(1, ("day",))
    with pytest.raises(KeyError):
        reg.add(1, ("night",))
    with pytest.raises(KeyError):
        reg.remove(2)


def test_sampling_uniform_distinct_and_seeded() -> None:
    reg = CategoryRegistry()
    for pid in range(10):
        reg.add(pid, ("day", "toronto") if pid < 6 else ("night",))
    draws = reg.sample(("day",), 4, np.random.default_rng(0))
    assert len(set(draws)) == 4 and set(draws) <= set(range(6))
    assert draws == reg.sample(("day",), 4, np.random.default_rng(0))
    assert sorted(reg.sample(("night",), 10, np.random.default_rng(1))) == [6, 7, 8, 9]
    assert len(reg.sample(("night",), 10, np.random.default_rng(1), replace=True)) == 10
    assert reg.sample(("rain",), 3, np.random.default_rng(1)) == []
    rng = np.random.default_rng(2)
    counts = Counter(pid for _ in range(3000) for pid in reg.sample(ROOT, 2, rng))
    # each of 10 ids is drawn with probability 2/10 per round: 600 expected, sd ~ 22
    assert set(counts) == set(range(10))
    assert all(abs(c - 600) < 6 * 22 for c in counts.values())


def _tree() -> MetaModelTree:
    tree = MetaModelTree("perception", super_payload="super")
    tree.set_model(("day",), "day")
    tree.set_model(
        ("day", "toronto", "highway"), "day+toronto+highway"
    )  # ("day","toronto") untrained
    tree.set_model(("night", "vancouver"), "night+vancouver")
    return tree


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("day", "toronto", "highway"), ("day", "toronto", "highway")),
        (("day", "toronto", "local"), ("day",)),  # skip the untrained ("day", "toronto")
        (("day", "montreal", "highway"), ("day",)),
        (("night", "toronto"), ()),
        (("night", "vancouver", "local"), ("night", "vancouver")),
        ((), ()),
    ],
)
def test_least_general_match(path, expected) -> None:
    assert _tree().least_general_match(path).key == expected


def test_least_general_match_brute_force_over_all_paths() -> None:
    tree = _tree()
    available = set(tree.available_keys())
    for path in [
        (a, b, c)
        for a in ("day", "night")
        for b in ("toronto", "vancouver", "x")
        for c in ("highway", "local")
    ]:
        deepest = max((k for k in category_keys(path) if k in available), key=len)
        assert tree.least_general_match(path).key == deepest
    assert tree.least_general_match(("day", "toronto", "local"), available_only=False).key == (
        "day",
        "toronto",
    )


def test_root_returned_even_untrained_and_versions_stats() -> None:
    tree = MetaModelTree("offloading")
    assert tree.least_general_match(("day",)).key == ROOT and not tree.root.available
    node = tree.set_model(("day",), {"w": 1})
    assert node.version == 1 and node.level == 1
    assert tree.set_model(("day",), {"w": 2}).version == 2
    for loss in (3.0, 1.0, 2.0):
        stats = tree.record_iteration(("day",), loss)
    assert (stats.iterations, stats.last_loss, stats.best_loss) == (3, 2.0, 1.0)
    assert tree.add(("day", "x")) is tree.add(("day", "x")) and len(tree) == 3
    assert [n.key for n in _tree().nodes()] == [
        (),
        ("day",),
        ("day", "toronto"),
        ("day", "toronto", "highway"),
        ("night",),
        ("night", "vancouver"),
    ]


def test_categories_to_train() -> None:
    reg = CategoryRegistry()
    for pid in range(6):
        reg.add(pid, ("day", "toronto"))
    reg.add(6, ("night", "toronto"))
    tree = MetaModelTree("perception", super_payload="super")
    tree.set_model(("day",), "day")
    assert categories_to_train(reg, tree, min_size=5) == [("day", "toronto")]
    assert categories_to_train(reg, tree, min_size=1, max_level=1) == [("night",)]
