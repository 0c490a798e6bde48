"""The seed space. Run k of a campaign explores seed `seed_of(base, k)` for `per_seed` examples.
An example budget fixes the runs (k = 0 .. runs-1); a time budget runs k = 0, 1, 2, ... until it
is spent. Shard i of N takes the runs with k = i-1 (mod N), so the shards of a matrix together run
exactly the runs, and seeds, of one unsharded campaign, none twice."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from typing import Iterator


def seed_of(base: int, k: int) -> int:
    """A well-spread 63-bit seed for run k; the same on every machine and Python."""
    return int.from_bytes(hashlib.sha256(f"dualsync-campaign:{base}:{k}".encode()).digest()[:8],
                          "big") >> 1


@dataclasses.dataclass(frozen=True)
class Run:
    k: int
    seed: int
    examples: int


def plan(base: int, per_seed: int, shard: tuple[int, int], examples: int | None) -> Iterator[Run]:
    """This shard's runs, in order: finite under an example budget, endless under a time budget."""
    i, n = shard
    if examples is None:
        ks: Iterator[int] = itertools.count(i - 1, n)
        return (Run(k, seed_of(base, k), per_seed) for k in ks)
    runs = -(-examples // per_seed)
    last = examples - per_seed * (runs - 1)
    return (Run(k, seed_of(base, k), per_seed if k < runs - 1 else last)
            for k in range(i - 1, runs, n))
