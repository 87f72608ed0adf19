"""Meta-model cache replacement against an independent reference (seed 003, Sec. III.C.2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.twins import MetaModelCache, TwinParams


class ReferenceCache:
    """Straightforward model: a recency list (oldest first) plus use counts."""

    def __init__(self, cap_models: int, cap_bytes: int, policy: str) -> None:
        self.cap_models, self.cap_bytes, self.policy = cap_models, cap_bytes, policy
        self.recency: list[str] = []
        self.uses: dict[str, int] = {}
        self.size: dict[str, int] = {}
        self.prio: dict[str, float] = {}
        self.aging = 0.0
        self.hits = self.misses = 0

    def _bump(self, key: str) -> None:
        if key in self.recency:
            self.recency.remove(key)
        self.recency.append(key)
        self.prio[key] = self.uses[key] + (self.aging if self.policy == "lfu_da" else 0.0)

    def get(self, key: str) -> bool:
        if key not in self.uses:
            self.misses += 1
            return False
        self.hits += 1
        self.uses[key] += 1
        self._bump(key)
        return True

    def _drop(self, key: str) -> None:
        self.recency.remove(key)
        del self.uses[key], self.size[key], self.prio[key]

    def put(self, key: str, nbytes: int) -> list[str]:
        if self.cap_bytes and nbytes > self.cap_bytes:
            if key in self.uses:
                self._drop(key)
            return [key]
        self.uses.setdefault(key, 1)
        self.size[key] = nbytes
        self._bump(key)
        evicted = []
        while (self.cap_models and len(self.uses) > self.cap_models) or (
            self.cap_bytes and sum(self.size.values()) > self.cap_bytes
        ):
            candidates = [k for k in self.recency if k != key]  # oldest first
            if self.policy == "lru":
                victim = candidates[0]
            else:
                lowest = min(self.prio[k] for k in candidates)
                victim = next(k for k in candidates if self.prio[k] == lowest)
            if self.policy == "lfu_da":
                self.aging = self.prio[victim]
            self._drop(victim)
            evicted.append(victim)
        return evicted


operations = st.lists(
    st.tuples(st.sampled_from(["get", "put"]), st.sampled_from("abcdefg"), st.integers(1, 50)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    operations,
    st.integers(0, 4),
    st.sampled_from([0, 60, 100]),
    st.sampled_from(["lfu", "lfu_da", "lru"]),
)
def test_matches_reference(ops, cap_models: int, cap_bytes: int, policy: str) -> None:
    cache, ref = (
        MetaModelCache(cap_models, cap_bytes, policy),
        ReferenceCache(cap_models, cap_bytes, policy),
    )
    for op, key, nbytes in ops:
        if op == "get":
            assert (cache.get(key) is not None) == ref.get(key)
        else:
            assert cache.put(key, f"model-{key}", nbytes) == ref.put(key, nbytes)
        assert set(cache.eviction_order()) == set(ref.uses)
        assert not cap_models or len(cache) <= cap_models
        assert not cap_bytes or cache.nbytes <= cap_bytes
    assert (cache.hits, cache.misses) == (ref.hits, ref.misses)


def test_lfu_keeps_popular_and_breaks_ties_by_recency() -> None:
    cache = MetaModelCache(capacity_models=2, policy="lfu")
    assert cache.get("day") is None  # miss, then fetch
    cache.put("day", "M_day", 10)
    cache.put("night", "M_night", 10)
    assert cache.get("day") == "M_day"
    assert cache.eviction_order() == ["night", "day"]
    assert cache.put("toronto", "M_t", 10) == ["night"]
    cache.put("night", "M_night", 10)  # toronto (1 use, older) goes before night (1 use)
    assert "toronto" not in cache and "day" in cache
    assert (cache.hits, cache.misses, cache.evictions) == (1, 1, 2)
    assert cache.hit_ratio == pytest.approx(0.5)


def test_dynamic_aging_evicts_formerly_popular_model() -> None:
    lfu = MetaModelCache(capacity_models=2, policy="lfu")
    da = MetaModelCache(capacity_models=2, policy="lfu_da")
    for cache in (lfu, da):
        cache.put("old", 0, 1)
        for _ in range(3):
            cache.get("old")  # 4 uses long ago
        for i in range(6):  # a stream of new models used twice each
            cache.put(f"new{i}", 0, 1)
            cache.get(f"new{i}")
    assert "old" in lfu  # plain LFU never forgets
    assert "old" not in da  # aging lets recent, moderately popular models win


def test_bytes_capacity_and_oversize_rejection() -> None:
    cache = MetaModelCache.from_params(
        TwinParams(cache_capacity_models=0, cache_capacity_bytes=100)
    )
    cache.put("a", 0, 60)
    assert cache.put("b", 0, 50) == ["a"]
    assert cache.put("huge", 0, 101) == ["huge"] and "huge" not in cache
    cache.put("b", "v2", 30, version=2)  # refresh keeps uses, updates size and version
    assert cache.peek("b").version == 2 and cache.nbytes == 30 and cache.peek("b").uses == 1
    assert cache.remove("b") and not cache.remove("b")
    with pytest.raises(ValueError):
        MetaModelCache(policy="random")
