"""Backend history (10): per record, the versions each backend commits only move forward.

The final-state invariants judge where a record ends; they pass a backend whose copy went back to
an older write for a while, as long as the newer write's author uploaded it again before the end.
Every device that pulled in between saw time run backwards, and a device that trusted that copy
(a new device, one whose own copy was lost) built on it. This checker walks each backend's commits
in the order they happened: the write a commit holds must not rank, in the client's declared
resolution order, below the write the same backend held for that record before it.

A version that did not survive is no version to go back from: a commit that does not decrypt
(bit rot, a write nobody can open) and a deleted CloudKit zone forget what the backend held, so
whatever is committed next starts the record's history afresh.
"""

from __future__ import annotations

from dualsync.harness.checkers.ledger import Key, Ledger, Store, Write
from dualsync.harness.checkers.verdict import Verdict, Violation, verdict
from dualsync.harness.history import Event, History

MAX_REPORTED = 5


def check_backend_history(history: History, final: dict[str, Store] | None = None) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    held: dict[tuple[str, Key], tuple[Write, Event]] = {}  # (backend, key) -> latest commit
    for e in history:
        if e.type == "note" and e.f == "delete_zone":
            for slot in [s for s in held if s[0] == "cloudkit" and s[1][0] == e.value.get("user")]:
                del held[slot]
            continue
        if e.type != "commit":
            continue
        v = e.value
        slot = (e.process, (v["user"], v["record_type"], v["record_id"]))
        if not v.get("decryptable", True):
            held.pop(slot, None)
            continue
        w = ledger.by_id.get(v.get("write_id") or "")
        if w is None:
            continue  # a write this history never made: invariant 7 judges values nobody wrote
        checked += 1
        before = held.get(slot)
        if before is not None and ledger.rank(w) < ledger.rank(before[0]):
            problems.append(_regressed(ledger, e, w, before))
            continue  # the newer write is still what the backend should hold: judge later ones by it
        held[slot] = (w, e)
    return verdict("backend-history", problems[:MAX_REPORTED], checked)


def _regressed(ledger: Ledger, e: Event, w: Write, before: tuple[Write, Event]) -> Violation:
    newer, at = before
    return Violation("backend-history", f"{e.process}'s copy of {w.record_type}/{w.record_id} of "
                     f"{w.user} went back in time: it held the {newer.describe()} (committed at "
                     f"{at.label()}), then at {e.label()} committed the {w.describe()}, which "
                     f"{ledger.order_name()} ranks before it",
                     tuple(sorted({newer.event.index, at.index, w.event.index, e.index})))
