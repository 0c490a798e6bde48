"""The kill matrix: the `pr` tier against every client in the catalogue.

The tier is what every PR runs, in the order it runs: the regression corpus, the hand-written
scenario files (each must pass on the remediated client), then fresh `pr` exploration. A mutant is
killed when the tier fails on it; the row names the invariants that caught it, whether
the invariant the catalogue predicts is among them, and the time and examples it took. `legacy`
must be killed too, and `coordinated` must survive: a suite that passes everything has no teeth.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, Iterable

import clients
from harness import runner
from harness.checkers.verdict import INVARIANTS
from harness.explore import corpus
from harness.explore.machine import Failure
from harness.explore.profiles import Result, explore
from harness.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"

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
    stage: str = "explore"  # what killed it: "explore" (fresh examples), a corpus entry or a scenario

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
        on_row: Callable[[Row], None] = lambda row: None, with_corpus: bool = True,
        **options: Any) -> list[Row]:
    """The corpus and the scenario files are replayed first, as on every run (`with_corpus=False`
    skips both); then fresh exploration at `profile`."""
    rows = []
    for name, _desc, predicted in clients.catalogue():
        if names and name not in names:
            continue
        replayed = ((_first_kill(name, slug(predicted), "corpus", _corpus_runs(name, database))
                     or _first_kill(name, slug(predicted), "scenarios", _scenario_runs(name, database)))
                    if with_corpus else None)
        row = replayed or Row(
            # Time to kill, not time to shrink: the first failing example ends the run.
            name, slug(predicted), explore(name, database, profile, shrink=False, **options))
        on_row(row)
        rows.append(row)
    return rows


def _corpus_runs(name: str, database: Any):
    """(label, scenario, CloudKit page cap, violated, explain) per corpus entry, replayed lazily."""
    for path in corpus.entries():
        _ok, outcome, scenario = corpus.replay(path, name, database)
        yield path.stem, scenario, corpus.ck_page(scenario), outcome.violated, outcome.explain


def _scenario_runs(name: str, database: Any):
    """The same for the hand-written scenarios the remediated client must pass."""
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load(path)
        if scenario.expected_for("coordinated") in (None, "pass"):
            run = runner.run(scenario, name, database, reports=None)
            yield path.name, scenario, None, run.violated, (
                lambda run=run: "\n".join(run.verdicts[n].explain() for n in run.violated))


def _first_kill(name: str, predicted: str | None, stage: str, runs) -> Row | None:
    started = time.perf_counter()
    for label, scenario, ck_page, violated, explain in runs:
        if violated:
            failure = Failure(name, scenario.devices, scenario.steps, scenario.seed, ck_page, violated, explain())
            result = Result(name, stage, 0, time.perf_counter() - started, failure)
            return Row(name, predicted, result, stage=label)
    return None


HEAD = ("client", "killed", "caught by", "predicted", "examples", "seconds", "by")


def line(row: Row) -> str:
    caught = ", ".join(f"{INVARIANTS[n]}:{n}" for n in row.result.caught) or "-"
    predicted = (row.predicted or "-") + ("" if row.as_predicted or not row.killed else " (MISSED)")
    killed = "yes" if row.killed else ("survived" if not row.should_die else "NO")
    return (f"{row.client:<40} {killed:<8} {caught:<70} {predicted:<32} "
            f"{row.result.examples:>8} {row.result.seconds:>8.1f}  {row.stage}")


def header() -> str:
    return (f"{HEAD[0]:<40} {HEAD[1]:<8} {HEAD[2]:<70} {HEAD[3]:<32} {HEAD[4]:>8} {HEAD[5]:>8}  "
            f"{HEAD[6]}")


def summary(rows: list[Row]) -> str:
    """`killed K/N` counts every client that should die (legacy and the mutants)."""
    doomed = [r for r in rows if r.should_die]
    killed = sum(r.killed for r in doomed)
    fresh = sum(r.killed and r.stage == "explore" for r in doomed)
    by_scenario = sum(r.killed and r.stage.endswith(".yaml") for r in doomed)
    missed = [r.client for r in doomed if r.killed and not r.as_predicted]
    spared = [r.client for r in rows if not r.should_die and r.killed]
    notes = ([f"caught, but not by the predicted invariant: {', '.join(missed)}"] if missed else []) + (
        [f"FALSE ALARM on {', '.join(spared)}"] if spared else [])
    return "\n".join(notes + [f"{fresh} by fresh exploration, {by_scenario} by scenario files, "
                               f"{killed - fresh - by_scenario} by corpus entries",
                               f"killed {killed}/{len(doomed)}"])
