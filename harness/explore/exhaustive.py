"""Small-scope exhaustive exploration: every order in which the Conductor can release the requests
of a few concurrent operations, so "no bug within this bound" is a statement, not a sample.

A scope is a set-up program (run as is) and a handful of operations started together with every
request held. A schedule is the order in which held requests are released, one at a time. The
search is a depth-first walk over those choices; every leaf is one World run from scratch, then
quiescence and every checker.

Equivalent schedules are pruned: releasing a request of device D to backend K and one of device
D' to backend K' (D != D', K != K') commute (disjoint device stores, disjoint backend state), so
of two schedules that differ only by swapping such adjacent releases only the one with the
smaller label first is run. The pruning never drops a schedule's whole equivalence class (the
lexicographically least member of a class has no such inversion), so the bound stays exhaustive.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from dualsync.harness.checkers import Verdict, check_determinism
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.explore.moves import APP, fields_for, record_id
from dualsync.harness.explore.session import Outcome, Session
from dualsync.harness.scenario import Step

Label = tuple[str, str, str, int]  # (device, backend, "METHOD /path", n-th of that kind)


@dataclasses.dataclass
class Scope:
    name: str
    devices: dict[str, dict[str, Any]]
    setup: list[Step]
    concurrent: list[Step]  # each started with wait: false

    def describe(self) -> str:
        ops = ", ".join(f"{s.op}({s.args.get('device')}{'/' + s.args['path'] if 'path' in s.args else ''})"
                        for s in self.concurrent)
        return f"{self.name}: {len(self.devices)} devices, concurrent {ops}"


def _routed(*backends: str) -> str:
    """The app's first record type that syncs through exactly these backends."""
    return next(t.name for t in APP.record_types.values() if t.routes == backends)


SUPABASE_ONLY, CLOUDKIT_ONLY, BOTH = _routed("supabase"), _routed("cloudkit"), _routed("supabase", "cloudkit")


def _w(device: str, rtype: str, n: int) -> Step:
    return Step("write", {"device": device, "type": rtype, "id": record_id(rtype, 0), "fields": fields_for(rtype, n)})


def _seeded_by_b() -> list[Step]:
    """B has a record of a type on Supabase only, one on CloudKit only and one on both, synced."""
    return [Step("sign_in", {"device": "B"}), _w("B", SUPABASE_ONLY, 1), _w("B", CLOUDKIT_ONLY, 2),
            _w("B", BOTH, 3), Step("sync", {"device": "B", "path": "supabase"}),
            Step("sync", {"device": "B", "path": "cloudkit"}), Step("sign_in", {"device": "A"})]


def _same_record_pending_on_two_devices() -> list[Step]:
    """A and B both hold record D (on both backends); A edits it, then B edits it later (device time)."""
    return [Step("sign_in", {"device": "A"}), Step("sign_in", {"device": "B"}), _w("A", BOTH, 1),
            Step("sync", {"device": "A", "path": "supabase"}), Step("sync", {"device": "B", "path": "supabase"}),
            _w("A", BOTH, 2), Step("advance", {"seconds": 10}), _w("B", BOTH, 3)]


SCOPES = {
    # Two pending edits of one record race to one backend: the declared order (device time) must
    # decide, whichever arrives first (determinism across the schedules).
    "same-record": Scope("same-record", {"A": {"user": "alice"}, "B": {"user": "alice"}},
                         _same_record_pending_on_two_devices(),
                         [Step("sync", {"device": "A", "path": "supabase"}),
                          Step("sync", {"device": "B", "path": "supabase"})]),
    # DEEP-SYNC-001's shape: a fresh device's login sync over both paths.
    "login": Scope("login", {"A": {"user": "alice"}, "B": {"user": "alice"}}, _seeded_by_b(),
                   [Step("login_sync", {"device": "A"})]),
    # The same, while B pushes a new edit of the shared daily log through CloudKit.
    "login-vs-push": Scope("login-vs-push", {"A": {"user": "alice"}, "B": {"user": "alice"}},
                           _seeded_by_b() + [_w("B", BOTH, 4)],
                           [Step("login_sync", {"device": "A"}),
                            Step("sync", {"device": "B", "path": "cloudkit"})]),
    # Three devices: A logs in while B and C each sync a path after editing the same record.
    "three-devices": Scope("three-devices", {d: {"user": "alice"} for d in "ABC"},
                           _seeded_by_b() + [Step("sign_in", {"device": "C"}), _w("C", BOTH, 5)],
                           [Step("login_sync", {"device": "A"}),
                            Step("sync", {"device": "C", "path": "supabase"})]),
}


@dataclasses.dataclass
class Report:
    scope: Scope
    client: str
    schedules: int = 0          # leaves run (one World each)
    pruned: int = 0             # choices skipped as equivalent to one explored
    failing: list[tuple[list[Label], Outcome]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    complete: bool = False      # False: the schedule budget ran out before the bound was covered
    runs: dict[str, tuple] = dataclasses.field(default_factory=dict)  # schedule -> (history, final)
    determinism: Verdict | None = None  # invariant 6 across every schedule of the scope

    @property
    def violated(self) -> list[str]:
        found = {n for _path, outcome in self.failing for n in outcome.violated}
        if self.determinism is not None and not self.determinism.ok:
            found.add("determinism")
        return sorted(found, key=INVARIANTS.get)

    @property
    def clean(self) -> bool:
        return not self.violated


class _Run:
    """One World: the set-up, then the concurrent operations with every request held."""

    def __init__(self, scope: Scope, client: str, database: Any):
        self.session = Session(client, database, scope.devices, seed=0, ck_page=None)
        for step in scope.setup:
            self.session.do(step)
        # Unnamed holds park each request under its own name (hold<id>), released one by one.
        self.session.world.decide("hold", count=-1)
        for i, step in enumerate(scope.concurrent):
            self.session.do(Step(step.op, {**step.args, "wait": False, "as": f"op{i}"}))
        self.session.do(Step("settle", {}))
        self.done: dict[tuple[str, str, str], int] = {}

    def enabled(self) -> dict[Label, str]:
        """Held requests by what they are (device, backend, operation, n-th), not by run ids."""
        out, seen = {}, dict(self.done)
        exchanges = [x for xs in self.session.world.conductor.held.values() for x in xs]
        for x in sorted(exchanges, key=lambda x: x.id):
            kind = (x.device, x.backend, x.op)
            out[(*kind, seen.get(kind, 0))] = x.name
            seen[kind] = seen.get(kind, 0) + 1
        return out

    def release(self, label: Label) -> None:
        self.session.world.release(self.enabled()[label])
        self.done[label[:3]] = self.done.get(label[:3], 0) + 1
        self.session.do(Step("settle", {}))

    def finish(self) -> Outcome:
        self.session.do(Step("heal", {}))
        return self.session.finish()


def _name(path: list[Label]) -> str:
    return " > ".join(f"{d}/{b}:{op.split('/')[-1]}#{n}" for d, b, op, n in path) or "(no choice)"


def independent(a: Label, b: Label) -> bool:
    return a[0] != b[0] and a[1] != b[1]


def explore(scope: Scope, client: str, database: Any, max_schedules: int = 2000) -> Report:
    """Depth-first over release orders; each World runs one whole schedule, so the number of
    Worlds is the number of schedules, and alternatives are queued as prefixes to replay."""
    report, started = Report(scope, client), time.perf_counter()
    stack: list[list[Label]] = [[]]
    while stack and report.schedules < max_schedules:
        run = _Run(scope, client, database)
        try:
            _descend(run, stack.pop(), stack, report)
        finally:
            run.session.close()
    report.complete = not stack
    if len(report.runs) > 1:
        # The same operations under every schedule must end the same (invariant 6).
        report.determinism = check_determinism(report.runs)
    report.seconds = time.perf_counter() - started
    return report


def _descend(run: _Run, prefix: list[Label], stack: list[list[Label]], report: Report) -> None:
    for label in prefix:
        run.release(label)
    path = list(prefix)
    while True:
        choices = sorted(run.enabled())
        if not choices:
            break
        allowed = [c for c in choices if not (path and independent(path[-1], c) and c < path[-1])]
        report.pruned += len(choices) - len(allowed)
        if not allowed:
            return  # every continuation swaps an independent pair: explored in another order
        stack.extend(path + [c] for c in reversed(allowed[1:]))
        run.release(allowed[0])
        path.append(allowed[0])
    report.schedules += 1
    outcome = run.finish()
    report.runs[_name(path)] = (run.session.world.history, outcome.final)
    if outcome.violated:
        report.failing.append((path, outcome))
