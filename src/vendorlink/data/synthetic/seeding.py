"""Deterministic seeds for every random decision of the generator.

Every item (vendor, ad, image file) gets its own seed derived from the global seed, a
stream name and the item's index, so an item's content never depends on how many
workers produced it or in which order.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np

_MASK64 = (1 << 64) - 1


def stream_key(name: str) -> int:
    """A stable 64-bit key for a named random stream (independent of ``PYTHONHASHSEED``)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def numpy_rng(seed: int, stream: str) -> np.random.Generator:
    """A numpy generator for one named stream of the run with ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([seed & _MASK64, stream_key(stream)]))


def splitmix64(values: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser applied element-wise (uint64 in, uint64 out)."""
    z = values.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        z += np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def item_seeds(seed: int, stream: str, indices: np.ndarray) -> np.ndarray:
    """Per-item 64-bit seeds for ``indices`` of one stream (vectorised)."""
    base = np.uint64((seed * 0x2545F4914F6CDD1D + stream_key(stream)) & _MASK64)
    with np.errstate(over="ignore"):
        mixed = splitmix64(np.asarray(indices, dtype=np.uint64) ^ splitmix64(np.array([base]))[0])
    return splitmix64(mixed)


def item_seed(seed: int, stream: str, index: int) -> int:
    """The per-item seed of one item (same value as :func:`item_seeds`)."""
    return int(item_seeds(seed, stream, np.array([index], dtype=np.uint64))[0])


def py_rng(item_seed_value: int) -> random.Random:
    """A fast pure-Python generator for per-item string work."""
    return random.Random(int(item_seed_value))
