"""Stable seeds derived from the run seed and a sample id, so every random choice is reproducible.

Every random choice in the harness (bootstrap resamples, corruption noise, attack restarts) is
derived from `(run_seed, *parts)` through a cryptographic hash, never from global RNG state: a
rerun, a resumed run or a run sharded over more workers draws exactly the same numbers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

_MASK63 = (1 << 63) - 1


def derive_seed(run_seed: int, *parts: object) -> int:
    """A non-negative 63-bit seed from the run seed and any printable parts (ids, names, ints)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(str(int(run_seed)).encode())
    for part in parts:
        h.update(b"\x1f")
        h.update(str(part).encode())
    return int.from_bytes(h.digest(), "little") & _MASK63


def sample_seeds(
    run_seed: int, sample_ids: Sequence[str] | Iterable[str], *parts: object
) -> np.ndarray:
    """One seed per sample id (int64 array), e.g. for per-sample corruption noise: the values
    of `derive_seed(run_seed, sid, *parts)`, with the run seed hashed once and the parts encoded
    once (a copy of the hash state per sample; the suite derives one per sample and cell)."""
    prefix = hashlib.blake2b(digest_size=8)
    prefix.update(str(int(run_seed)).encode())
    suffix = b"".join(b"\x1f" + str(part).encode() for part in parts)
    seeds = []
    for sid in sample_ids:
        h = prefix.copy()
        h.update(b"\x1f" + str(sid).encode() + suffix)
        seeds.append(int.from_bytes(h.digest(), "little") & _MASK63)
    return np.array(seeds, dtype=np.int64)


def rng(run_seed: int, *parts: object) -> np.random.Generator:
    """A numpy Generator seeded from `derive_seed` (for host-side draws such as bootstrap indices)."""
    return np.random.default_rng(derive_seed(run_seed, *parts))
