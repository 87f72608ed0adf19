"""An edge twin's meta-model cache (seed 003, Sec. III.C.2).

"A list of meta models can be cached at the edge DT, as meta model fetching from the cloud DT
incurs long propagation delay through the Internet. For delay improvement, a cache replacement
policy can be designed to keep the most popular meta models."

Replacement policies (``policy``), all deterministic: time is a logical clock that ticks on
every ``get``/``put``, so no two accesses tie.

* ``"lfu"`` — least frequently used first; ties broken by least recently used.
* ``"lfu_da"`` — LFU with dynamic aging (Arlitt, Cherkasova, Dilley, Friedrich, Jin, "Evaluating
  content management techniques for Web proxy caches", 2000): an entry's priority is
  ``uses + L`` where ``L`` is the priority of the last evicted entry when it was last used, so
  models that were popular long ago age out; ties by least recently used.
* ``"lru"`` — least recently used first (baseline).

The model being inserted is never its own victim; a model larger than the byte capacity is
not admitted. Capacities of 0 mean "no limit".
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from policies.twins.params import CACHE_POLICIES, TwinParams


@dataclass(slots=True)
class CacheEntry:
    """A cached meta model and its popularity record."""

    payload: object
    nbytes: int
    version: int
    uses: int
    last_used: int
    priority: float


class MetaModelCache:
    """Fixed-capacity cache of meta models keyed by e.g. ``(inmf, category_key)``."""

    def __init__(self, capacity_models: int = 8, capacity_bytes: int = 0, policy: str = "lfu"):
        if policy not in CACHE_POLICIES:
            raise ValueError(f"policy must be one of {CACHE_POLICIES}, got {policy!r}")
        if capacity_models < 0 or capacity_bytes < 0:
            raise ValueError("capacities must be >= 0 (0 = no limit)")
        self.capacity_models = capacity_models
        self.capacity_bytes = capacity_bytes
        self.policy = policy
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self._entries: dict[Hashable, CacheEntry] = {}
        self._clock = 0
        self._aging = 0.0  # L of LFU-DA

    @classmethod
    def from_params(cls, params: TwinParams) -> MetaModelCache:
        """Build from the twin configuration section."""
        return cls(params.cache_capacity_models, params.cache_capacity_bytes, params.cache_policy)

    def get(self, key: Hashable) -> object | None:
        """Payload of a cached model (counts a hit and a use) or None (counts a miss)."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._touch(entry, new_use=True)
        return entry.payload

    def put(self, key: Hashable, payload: object, nbytes: int, version: int = 0) -> list[Hashable]:
        """Insert or refresh a model; returns the keys evicted, in eviction order.

        A new key starts with one use (the request that caused the fetch). Refreshing a cached
        key (e.g. a newer version) replaces payload, size and version and keeps its uses.
        If ``nbytes`` exceeds the byte capacity the model is not stored and ``[key]`` is
        returned.
        """
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0, got {nbytes}")
        if self.capacity_bytes and nbytes > self.capacity_bytes:
            self._entries.pop(key, None)
            return [key]
        entry = self._entries.get(key)
        if entry is None:
            entry = CacheEntry(payload, nbytes, version, 0, 0, 0.0)
            self._entries[key] = entry
            self._touch(entry, new_use=True)
        else:
            entry.payload, entry.nbytes, entry.version = payload, nbytes, version
            self._touch(entry, new_use=False)
        return self._evict_overflow(protect=key)

    def peek(self, key: Hashable) -> CacheEntry | None:
        """The entry without touching statistics or recency."""
        return self._entries.get(key)

    def remove(self, key: Hashable) -> bool:
        """Drop a model (e.g. a stale version); returns whether it was cached."""
        return self._entries.pop(key, None) is not None

    def eviction_order(self) -> list[Hashable]:
        """Cached keys, next victim first."""
        return sorted(self._entries, key=lambda k: self._rank(self._entries[k]))

    @property
    def nbytes(self) -> int:
        """Bytes currently held."""
        return sum(e.nbytes for e in self._entries.values())

    @property
    def hit_ratio(self) -> float:
        """Hits over requests (0 before any request)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def _touch(self, entry: CacheEntry, new_use: bool) -> None:
        self._clock += 1
        entry.last_used = self._clock
        if new_use:
            entry.uses += 1
        entry.priority = entry.uses + (self._aging if self.policy == "lfu_da" else 0.0)

    def _rank(self, entry: CacheEntry) -> tuple[float, int]:
        if self.policy == "lru":
            return (0.0, entry.last_used)
        return (entry.priority, entry.last_used)

    def _over(self) -> bool:
        too_many = bool(self.capacity_models) and len(self._entries) > self.capacity_models
        too_big = bool(self.capacity_bytes) and self.nbytes > self.capacity_bytes
        return too_many or too_big

    def _evict_overflow(self, protect: Hashable) -> list[Hashable]:
        evicted: list[Hashable] = []
        while self._over():
            victim = min(
                (k for k in self._entries if k != protect),
                key=lambda k: self._rank(self._entries[k]),
            )
            if self.policy == "lfu_da":
                self._aging = self._entries[victim].priority
            del self._entries[victim]
            self.evictions += 1
            evicted.append(victim)
        return evicted
