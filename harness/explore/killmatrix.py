"""The kill matrix: the `pr` property tier against every client in the catalogue.

A mutant is killed when the tier fails on it; the row names the invariants that caught it, whether
the invariant the catalogue predicts is among them, and the time and examples it took. `legacy`
must be killed too, and `coordinated` must survive: a suite that passes everything has no teeth.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

import clients
from harness.checkers.verdict import INVARIANTS
from harness.explore.profiles import Result, explore

# The catalogue names invariants in prose; the checkers by slug.
_PROSE = {"no phantom": "no-resurrection-no-phantom", "no resurrection": "no-resurrection-no-phantom"}


def slug(prose: str | None) -> str | None:
    if prose is None:
        return None
    name = _PROSE.get(prose, prose.replace(" ", "-"))
    if name not in INVARIANTS:
        raise ValueError(f"the catalogue predicts {prose!r}, which names no invariant; "
                         f"use one of {', '.join(INVARIANTS)}")
    return name


@dataclasses.dataclass
class Row:
    client: str
    predicted: str | None
    result: Result

    @property
    def killed(self) -> bool:
        return self.result.failure is not None

    @property
    def should_die(self) -> bool:
        return self.client != "coordinated"

    @property
    def as_predicted(self) -> bool:
        return self.predicted is None or self.predicted in self.result.caught

    @property
    def ok(self) -> bool:
        return self.killed == self.should_die


def run(database: Any, names: Iterable[str] | None = None, profile: str = "pr",
        on_row: Callable[[Row], None] = lambda row: None, **options: Any) -> list[Row]:
    rows = []
    for name, _desc, predicted in clients.catalogue():
        if names and name not in names:
            continue
        # Time to kill, not time to shrink: the first failing example ends the run.
        row = Row(name, slug(predicted), explore(name, database, profile, shrink=False, **options))
        on_row(row)
        rows.append(row)
    return rows


HEAD = ("client", "killed", "caught by", "predicted", "examples", "seconds")


def line(row: Row) -> str:
    caught = ", ".join(f"{INVARIANTS[n]}:{n}" for n in row.result.caught) or "-"
    predicted = (row.predicted or "-") + ("" if row.as_predicted or not row.killed else " (MISSED)")
    killed = "yes" if row.killed else ("survived" if not row.should_die else "NO")
    return (f"{row.client:<40} {killed:<8} {caught:<70} {predicted:<32} "
            f"{row.result.examples:>8} {row.result.seconds:>8.1f}")


def header() -> str:
    return (f"{HEAD[0]:<40} {HEAD[1]:<8} {HEAD[2]:<70} {HEAD[3]:<32} {HEAD[4]:>8} {HEAD[5]:>8}")


def summary(rows: list[Row]) -> str:
    """`killed K/N` counts every client that should die (legacy and the mutants)."""
    doomed = [r for r in rows if r.should_die]
    killed = sum(r.killed for r in doomed)
    missed = [r.client for r in doomed if r.killed and not r.as_predicted]
    spared = [r.client for r in rows if not r.should_die and r.killed]
    notes = ([f"caught, but not by the predicted invariant: {', '.join(missed)}"] if missed else []) + (
        [f"FALSE ALARM on {', '.join(spared)}"] if spared else [])
    return "\n".join(notes + [f"killed {killed}/{len(doomed)}"])
