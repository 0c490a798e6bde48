"""The fuzzy match behind PostgREST's "Perhaps you meant ..." hints.

PostgREST v14 takes the best entry of a Haskell `fuzzyset` (0.2.x) set: character 3-grams, then
2-grams, of the lowercased entries (letters, digits, spaces and commas kept, the rest dropped, padded
with '-'), scored by cosine similarity; the 50 best are rescored by normalised Levenshtein similarity
(1 - distance / longer length) and the best at or above the minimum score wins. An exact
(case-insensitive) entry always wins. Ties keep the order the entries were given in.

    best(["test", "another"], "testt", 0.75)   -> "test"
"""

from __future__ import annotations

import math
from collections import Counter

GRAM_SIZES = (3, 2)     # upper first, as fuzzyset tries them
RESCORED = 50
DEFAULT_MIN = 0.33      # `Fuzzy.getOne`


def _grams(value: str, size: int) -> Counter:
    kept = "".join(ch for ch in value.lower() if ch.isalnum() or ch.isspace() or ch == ",")
    padded = f"-{kept}-"
    return Counter(padded[i:i + size] for i in range(len(padded) - size + 1))


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def similarity(a: str, b: str) -> float:
    """Normalised Levenshtein similarity, as text-metrics' `levenshteinNorm`."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - _levenshtein(a, b) / longest


def best(entries: list[str], query: str, min_score: float = DEFAULT_MIN) -> str | None:
    exact = {e.lower(): e for e in entries}
    key = query.lower()
    if key in exact:
        return exact[key]
    for size in GRAM_SIZES:
        wanted = _grams(key, size)
        norm_q = math.sqrt(sum(c * c for c in wanted.values()))
        scored = []
        for entry in dict.fromkeys(e.lower() for e in entries):
            grams = _grams(entry, size)
            dot = sum(count * grams[g] for g, count in wanted.items() if g in grams)
            if dot:
                norm_e = math.sqrt(sum(c * c for c in grams.values()))
                scored.append((dot / (norm_q * norm_e), entry))
        scored.sort(key=lambda pair: -pair[0])
        rescored = sorted(((similarity(key, entry), entry) for _, entry in scored[:RESCORED]), key=lambda p: -p[0])
        matches = [entry for score, entry in rescored if score >= min_score]
        if matches:
            return exact[matches[0]]
    return None
