"""Hunt: how fast does random exploration alone find each finding on `legacy`?

Over N seeds, run the machine (no corpus, no hand-written scenarios, no shrinking) and record the
examples and seconds until it first fails *because of* a given finding: up to and including the
example that fails, every example hypothesis ran counted (its simplest warm-up programs and the
ones cut short too), but not its replay of that example to report it. Failures of another finding
are passed over (the example is rejected) and the hunt goes on.

Attribution is counterfactual: a failure is DEEP-SYNC-00N's when some of its violations go
away on legacy with only that bug fixed. (Replaying on the mutant that carries the bug alone is too
strict: on legacy the login race loses data through legacy's own merge, which the mutant lacks.)
The catalogue has no such variants, so they are registered here, in process, under names that
cannot clash with it: `legacy-without:DEEP-SYNC-00N`. Legacy's side of the comparison is the run
itself, judged to quiescence; only the fixed side is replayed, and not at all when the program
cannot reach the fix (`reaches`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dualsync.clients.api import load_suite
from dualsync.harness.explore.machine import Failure
from dualsync.harness.explore.profiles import explore
from dualsync.harness.explore.session import Session
from dualsync.harness.world import StepError

# The case study's findings as the client suite defines them: each one's fix on legacy, the
# counterfactual client, and which programs can reach it (clients/findings.py).
_FINDINGS = load_suite().findings()
FIXES = _FINDINGS.fixes
FINDINGS = _FINDINGS.counterfactuals  # finding -> the client that is legacy with it fixed


def reaches(finding: str, failure: Failure) -> bool:
    """Whether the program can reach the code its finding's fix guards (the suite's judgement)."""
    return _FINDINGS.reaches(finding, [(s.op, s.args) for s in failure.steps])


def register_counterfactuals() -> None:
    _FINDINGS.register()


def violations(failure: Failure, client: str, database: Any) -> set[tuple[str, str]]:
    """Every (invariant, message) the failing program produces on `client`. The program was
    recorded on another client: a step this one cannot carry out as written (a `release` of a
    request it never sent, so nothing is held under that name) is passed over, as the user's
    actions are the same and the wind-down heals whatever is left."""
    with Session(client, database, failure.devices, seed=failure.seed, ck_page=failure.ck_page) as s:
        for step in failure.steps:
            try:
                s.do(step)
            except StepError:
                continue
        return s.finish().messages()


def caused_by(finding: str, failure: Failure, database: Any) -> bool:
    """Some violation the program shows on legacy disappears once `finding` alone is fixed. (A
    program often trips two of legacy's bugs at once; requiring the fixed client to pass outright
    would throw those away.) The legacy side is the run judging itself when it can (`judge`):
    the World is deterministic, so a replay would show the same (tests/explore/test_hunt.py)."""
    if not reaches(finding, failure):
        return False
    register_counterfactuals()  # idempotent; a caller need not have run a hunt first
    on_legacy = failure.judge() if failure.judge else violations(failure, failure.client, database)
    return bool(on_legacy - violations(failure, FINDINGS[finding], database))


@dataclasses.dataclass
class Detection:
    finding: str
    seed: int
    examples: int | None
    seconds: float | None
    # False when hypothesis's replay of the detecting example did not fail the same way: the
    # detection stands (it was judged), but the program did not replay deterministically.
    replayed: bool = True


def hunt_one(finding: str, seed: int, database: Any, client: str = "legacy",
             max_examples: int | None = None, profile: str = "hunt") -> Detection:
    register_counterfactuals()
    result = explore(client, database, profile, shrink=False, seed=seed, max_examples=max_examples,
                     accept=lambda f: caused_by(finding, f, database), messages=True)
    # Counted to the example that found it: hypothesis then runs that example once more (and the
    # filter judges it again) only to report it.
    examples, seconds = result.detected or (None, None)
    return Detection(finding, seed, examples, seconds, result.replayed)


def medians(rows: list[Detection]) -> dict[str, Any]:
    """Medians over every seed: a seed that never found it counts as later than all that did, so
    there is a median only while more than half of the seeds found it (`None` otherwise)."""
    hit = [r for r in rows if r.examples is not None]

    def middle(values: list) -> Any:
        ranked = values + [None] * (len(rows) - len(values))
        lo, hi = ranked[(len(rows) - 1) // 2], ranked[len(rows) // 2]
        return None if lo is None or hi is None else (lo + hi) / 2

    seconds = middle(sorted(r.seconds for r in hit))
    return {"found": f"{len(hit)}/{len(rows)}",
            "median_examples": middle(sorted(r.examples for r in hit)),
            "median_seconds": None if seconds is None else round(seconds, 1)}


@dataclasses.dataclass
class Tally:
    finding: str
    seed: int
    examples: int
    programs: int  # distinct programs the finding caused
    seconds: float


def tally(finding: str, seed: int, database: Any, client: str = "legacy",
          max_examples: int | None = None, profile: str = "hunt") -> Tally:
    """How often the generator makes a program the finding causes: a hunt that never stops at a
    detection, counting distinct programs. A rate per example is a steadier measure of a change to
    the generator than the first detection, which one lucky example decides; but hypothesis tries
    variations of a failure it was told to pass over, and each variation that still trips the
    finding counts, so finds come in clusters and the rate flatters (BENCHMARKS.md)."""
    register_counterfactuals()
    seen: set[str] = set()

    def count(failure: Failure) -> bool:
        if caused_by(finding, failure, database):
            seen.add(repr([(s.op, sorted(s.args.items())) for s in failure.steps]))
        return False

    result = explore(client, database, profile, shrink=False, seed=seed, max_examples=max_examples,
                     accept=count, messages=True)
    return Tally(finding, seed, result.examples, len(seen), result.seconds)
