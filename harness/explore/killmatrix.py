"""The kill matrix: the `pr` tier against every client in the catalogue.

The tier is what every PR runs, in the order it runs: the regression corpus, the hand-written
scenario files (each must pass on the remediated client), then fresh `pr` exploration. A mutant is
killed when the tier fails on it. Each row answers two questions:

- the first kill: the first run of the tier that fails, what it caught and the time it took (what
  a PR would see: the tier stops there);
- the predicted kill: the first run whose violations include the invariant the catalogue predicts.
  The search goes on through the corpus, the scenario files and the `pr` exploration budget
  (failing examples without the prediction are passed over) until one does, or the tier is spent.

`legacy` must be killed too, and `coordinated` must survive: a suite that passes everything has no
teeth. A mutant the tier kills only by other invariants is a finding, about the suite (a scenario
aimed at the bug is missing) or about the catalogue (it names the wrong invariant).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterable, Iterator

from dualsync.clients.api import load_suite
from dualsync.harness import runner
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.explore import corpus
from dualsync.harness.explore.machine import Failure
from dualsync.harness.explore.profiles import PROFILES, Result, explore
from dualsync.harness.scenario import load
from dualsync.harness.servers import SCENARIOS


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
class Kill:
    """A failing run of the tier: which one, when (seconds since the tier began on this client)
    and what it broke."""

    run: str
    seconds: float
    violated: list[str]


@dataclasses.dataclass
class Row:
    client: str
    predicted: str | None
    result: Result  # the first kill; failure None: the client survived the whole tier
    stage: str = "explore"  # what killed it first: "explore", a corpus entry or a scenario file
    by_prediction: Kill | None = None  # the first run whose violations include the prediction
    searched: str = ""  # what the search for the prediction went through, when it found none

    def __post_init__(self):
        if self.by_prediction is None and self.killed and self.predicted in self.result.caught:
            self.by_prediction = Kill(self.stage, self.result.seconds, list(self.result.caught))

    @property
    def killed(self) -> bool:
        return self.result.failure is not None

    @property
    def should_die(self) -> bool:
        return self.client != "coordinated"

    @property
    def as_predicted(self) -> bool:
        """Some run of the tier kills it by the invariant the catalogue predicts."""
        return self.predicted is None or self.by_prediction is not None

    @property
    def ok(self) -> bool:
        return self.killed == self.should_die and (not self.should_die or self.as_predicted)


def run(database: Any, names: Iterable[str] | None = None, profile: str = "pr",
        on_row: Callable[[Row], None] = lambda row: None, with_corpus: bool = True,
        **options: Any) -> list[Row]:
    """The corpus and the scenario files are replayed first, as on every run (`with_corpus=False`
    skips both); then fresh exploration at `profile`."""
    rows = []
    for name, _desc, predicted in load_suite().catalogue():
        if names and name not in names:
            continue
        row = tier(name, slug(predicted), database, profile, with_corpus, **options)
        on_row(row)
        rows.append(row)
    return rows


def tier(name: str, predicted: str | None, database: Any, profile: str = "pr",
         with_corpus: bool = True, **options: Any) -> Row:
    """One client through the tier: its first kill, and its first kill by `predicted`."""
    started = time.perf_counter()
    since = lambda: time.perf_counter() - started  # noqa: E731
    row, replays = None, 0
    for label, failure in (_replays(name, database) if with_corpus else ()):
        replays += 1
        if failure is None:
            continue
        row = row or Row(name, predicted, Result(name, "replay", 0, since(), failure), stage=label)
        if row.as_predicted:
            return row
        if predicted in failure.violated:
            row.by_prediction = Kill(label, since(), list(failure.violated))
            return row
    return _explored(row, name, predicted, database, profile, since, replays, **options)


def _explored(row: Row | None, name: str, predicted: str | None, database: Any, profile: str,
              since: Callable[[], float], replays: int, **options: Any) -> Row:
    """Fresh exploration: the first kill if nothing replayed killed the client, and the search
    for the prediction within the profile's example budget."""
    search = _Search(predicted, database, since,
                     options.get("max_examples") or PROFILES[profile].max_examples)
    # Time to kill, not time to shrink: the first failing example ends the run.
    # Determinism sampling off: nearly every example of a mutant fails, and each would run twice.
    result = explore(name, search.counting, profile, shrink=False, accept=search, messages=True,
                     **{"determinism": 0, **options})
    if row is None:
        first = search.first
        row = (Row(name, predicted, Result(name, profile, first.examples, first.seconds, first.failure))
               if first else Row(name, predicted, dataclasses.replace(result, seconds=since())))
    if search.hit is not None:
        row.by_prediction = search.hit
    elif row.killed and not row.as_predicted:
        row.searched = (f"{replays} replays and {search.examples} examples" if replays
                        else f"{search.examples} examples")
    return row


def _replays(name: str, database: Any) -> Iterator[tuple[str, Failure | None]]:
    """(label, failure or None) per corpus entry, then per scenario file the remediated client
    must pass, replayed lazily in that order."""
    for path in corpus.entries():
        _ok, outcome, scenario = corpus.replay(path, name, database)
        yield path.stem, _failure(name, scenario, corpus.ck_page(scenario), outcome.violated,
                                  outcome.explain)
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load(path)
        if scenario.expected_for("coordinated") in (None, "pass"):
            run = runner.run(scenario, name, database, reports=None)
            yield path.name, _failure(name, scenario, None, run.violated, lambda run=run: "\n".join(
                run.verdicts[n].explain() for n in run.violated))


def _failure(name: str, scenario, ck_page, violated: list[str], explain) -> Failure | None:
    if not violated:
        return None
    return Failure(name, scenario.devices, scenario.steps, scenario.seed, ck_page,
                   sorted(violated, key=INVARIANTS.get), explain())


@dataclasses.dataclass
class _First:
    failure: Failure
    seconds: float
    examples: int


class _Counting:
    """The database, counting the examples run on it: every example's World begins with a reset."""

    def __init__(self, database: Any):
        self._database, self.resets = database, 0

    def reset(self) -> None:
        self.resets += 1
        self._database.reset()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)


class _Search:
    """The machine's filter while the kill matrix explores: the first failing example is the first
    kill; one whose violations include the prediction ends the run; others are passed over (the
    example is rejected), so the profile's budget of examples goes on."""

    def __init__(self, predicted: str | None, database: Any, since: Callable[[], float], budget: int):
        self.predicted, self.database, self.since, self.budget = predicted, database, since, budget
        self.counting = _Counting(database)
        self.first: _First | None = None
        self.hit: Kill | None = None
        self.passed_over, self.done = 0, False

    @property
    def examples(self) -> int:
        return self.counting.resets

    def __call__(self, failure: Failure) -> bool:
        if self.done:
            return True  # hypothesis runs the example it ends on once more, to report it
        seconds, example = self.since(), self.examples
        if failure.judge is not None:
            # A program a per-step check cut short is played out as the teardown plays every
            # program (the machine's `_judged_to_end`), so its record names all it breaks.
            failure.judge()
        violated = failure.violated
        if self.first is None:
            self.first = _First(dataclasses.replace(failure, violated=violated), seconds, example)
        if self.predicted is None or self.predicted in violated:
            self.hit = Kill(f"explore: example {example}", seconds, violated) if self.predicted else None
            self.done = True
        else:
            self.passed_over += 1
            # Hypothesis does not count a passed-over example towards the profile's budget; as
            # many again end the run (the failure it ends on is not a hit).
            self.done = self.passed_over >= self.budget
        return self.done


# Output: one line per client; invariants by number in the columns, named in the legend.

def _numbers(names: Iterable[str]) -> str:
    return ",".join(str(INVARIANTS[n]) for n in names) or "-"


def header() -> str:
    legend = "invariants: " + ", ".join(f"{n} {name}" for name, n in INVARIANTS.items())
    return (f"{legend}\n{'client':<38} {'killed':<8} {'caught':<10} {'seconds':>7}  "
            f"{'first kill':<54} {'predicted':<30} killed by the prediction")


def line(row: Row) -> str:
    killed = "yes" if row.killed else ("survived" if not row.should_die else "NO")
    first = (row.stage if row.stage != "explore" else f"explore: example {row.result.examples}"
             ) if row.killed else f"explore: {row.result.examples} examples"
    predicted = f"{INVARIANTS[row.predicted]}:{row.predicted}" if row.predicted else "-"
    return (f"{row.client:<38} {killed:<8} {_numbers(row.result.caught):<10} "
            f"{row.result.seconds:>7.1f}  {first:<54} {predicted:<30} {_confirmation(row)}")


def _confirmation(row: Row) -> str:
    if row.predicted is None or not row.killed:
        return "-"
    hit = row.by_prediction
    if hit is None:
        return f"NEVER ({row.searched})" if row.searched else "NEVER"
    if hit.run == row.stage and hit.seconds == row.result.seconds:
        return "yes, by the first kill"
    return f"yes, {hit.seconds:.1f}s: {hit.run} ({_numbers(hit.violated)})"


def summary(rows: list[Row]) -> str:
    """`killed K/N` counts every client that should die (legacy and the mutants); `killed by the
    predicted invariant P/N` those of them some run of the tier kills by the catalogue's prediction."""
    doomed = [r for r in rows if r.should_die]
    killed = sum(r.killed for r in doomed)
    predicted = sum(r.killed and r.as_predicted for r in doomed)
    fresh = sum(r.killed and r.stage == "explore" for r in doomed)
    by_scenario = sum(r.killed and r.stage.endswith(".yaml") for r in doomed)
    missed = [r.client for r in doomed if r.killed and not r.as_predicted]
    spared = [r.client for r in rows if not r.should_die and r.killed]
    notes = [f"caught, but never by the predicted invariant: {', '.join(missed)}"] if missed else []
    notes += [f"FALSE ALARM on {', '.join(spared)}"] if spared else []
    return "\n".join(notes + [f"first kills: {fresh} by fresh exploration, {by_scenario} by scenario "
                               f"files, {killed - fresh - by_scenario} by corpus entries",
                               f"killed {killed}/{len(doomed)}",
                               f"killed by the predicted invariant {predicted}/{len(doomed)}"])
