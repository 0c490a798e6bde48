"""An append-only change log with a monotonic position, read back as 'latest state once'.

Each change appends (position, key). A key changed twice has two entries; only the newer one is
live, so a reader from any position sees each key at most once, at its latest change. The log is
compacted when dead entries outnumber live ones, keeping appends O(1) amortised and reads a bisect.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable


class ChangeLog:
    __slots__ = ("position", "_pos", "_keys", "latest")

    def __init__(self) -> None:
        self.position = 0
        self._pos: list[int] = []
        self._keys: list[str] = []
        self.latest: dict[str, int] = {}

    def touch(self, key: str) -> int:
        self.position += 1
        self._pos.append(self.position)
        self._keys.append(key)
        self.latest[key] = self.position
        if len(self._pos) > 2 * len(self.latest) + 64:
            self._compact()
        return self.position

    def since(self, after: int, limit: int, accept: Callable[[str], bool] = lambda k: True):
        """Keys changed after `after`, oldest change first, at most `limit` of them.

        Returns (keys, resume_position, more). `resume_position` is where the next read starts:
        the last returned key's position while more remain, else the log's head (so a caught-up
        reader's token also covers changes it skipped through `accept`).
        """
        out: list[str] = []
        last = after
        i = bisect_right(self._pos, after)
        pos, keys, latest = self._pos, self._keys, self.latest
        while i < len(pos):
            p, k = pos[i], keys[i]
            if latest.get(k) == p and accept(k):
                if len(out) == limit:
                    return out, last, True
                out.append(k)
                last = p
            i += 1
        return out, self.position, False

    def _compact(self) -> None:
        live = sorted((p, k) for k, p in self.latest.items())
        self._pos = [p for p, _ in live]
        self._keys = [k for _, k in live]
