"""What a checker returns: a verdict per invariant, with the smallest explaining events."""

from __future__ import annotations

import dataclasses

# The no-loss invariants of the design notes (nine) and the backend-history invariant (10), by
# number, in the words reports use.
INVARIANTS = {
    "convergence": 1,
    "no-lost-write": 2,
    "no-lost-unsynced-edit": 3,
    "no-skipped-row": 4,
    "monotonic-read-your-writes": 5,
    "determinism": 6,
    "no-resurrection-no-phantom": 7,
    "isolation": 8,
    "liveness": 9,
    "backend-history": 10,
}


@dataclasses.dataclass(frozen=True)
class Violation:
    invariant: str
    message: str
    events: tuple[int, ...] = ()  # history indices of the smallest set of events involved

    def to_json(self) -> dict:
        return {"invariant": self.invariant, "message": self.message, "events": list(self.events)}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One invariant over one history. `checked` counts what was examined, so a verdict that
    examined nothing is visible as such instead of passing silently."""

    invariant: str
    violations: tuple[Violation, ...] = ()
    checked: int = 0

    def __post_init__(self):
        if self.invariant not in INVARIANTS:
            raise ValueError(f"unknown invariant {self.invariant!r}; known: {', '.join(INVARIANTS)}")

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def number(self) -> int:
        return INVARIANTS[self.invariant]

    def explain(self) -> str:
        head = f"invariant {self.number} ({self.invariant}): "
        if self.ok:
            return head + f"holds ({self.checked} checked)"
        lines = [head + f"VIOLATED ({len(self.violations)} of {self.checked} checked)"]
        lines += [f"  - {v.message}" for v in self.violations]
        return "\n".join(lines)


def verdict(invariant: str, violations: list[Violation], checked: int) -> Verdict:
    return Verdict(invariant, tuple(violations), checked)
