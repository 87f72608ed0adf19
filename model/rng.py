"""Named random streams derived from one scenario seed (STYLE.md "Randomness").

Every consumer asks for a stream by name (``"mobility"``, ``"channel"``, ``"video"``, a policy's
name...). The stream is a ``numpy.random.Generator`` built from
``SeedSequence(root_seed, spawn_key=(crc32(name),))``, so it depends only on the root seed and
the name: adding a new consumer never shifts the numbers another consumer sees, and no code
touches global random state.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 32-bit key for a stream name (crc32 is stable across runs and platforms)."""
    return zlib.crc32(name.encode("utf-8"))


def named_seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` under root ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=(stream_key(name),))


class RandomStreams:
    """Factory and cache of the named generators of one run."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (created on first use, then the same object)."""
        gen = self._streams.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(named_seed_sequence(self.seed, name)))
            self._streams[name] = gen
        return gen

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator for ``name`` that is not cached (same numbers as a first ``get``)."""
        return np.random.Generator(np.random.PCG64(named_seed_sequence(self.seed, name)))

    def int_seed(self, name: str) -> int:
        """A 63-bit integer seed for libraries that want one (torch, Mesa's stdlib Random)."""
        return int(named_seed_sequence(self.seed, name).generate_state(2, np.uint64)[0] >> 1)

    def torch_generator(self, name: str, threads: int | None = None):  # noqa: ANN201
        """A ``torch.Generator`` seeded from stream ``name`` (torch imported only when used).

        ``threads`` (the scenario's ``torch_threads``) sets torch's intra-op thread count, the
        one process-wide torch setting a run depends on.
        """
        import torch

        if threads is not None and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        gen = torch.Generator()
        gen.manual_seed(self.int_seed(name))
        return gen
