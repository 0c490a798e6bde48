"""Checks at every persist, not only at the end: no lost unsynced edit (3), monotonic store and
read-your-writes (5), isolation (8). They walk each device's history in order."""

from __future__ import annotations

from typing import Any, Iterator

from dualsync.harness.checkers.ledger import Key, Ledger, Store, Write, records
from dualsync.harness.checkers.verdict import Verdict, Violation, verdict
from dualsync.harness.history import Event, History

MAX_REPORTED = 5


def _changes(ledger: Ledger, device: str) -> Iterator[tuple[Event, Key, Any, Any]]:
    """(persist, key, value before, value after) for every record a persist of `device` changed."""
    user, before = ledger.devices.get(device, ""), {}
    for p in ledger.history.persists(device):
        now = records(p.value["snapshot"])
        for (t, rid) in sorted(set(before) | set(now)):
            old, new = ledger.project(t, before.get((t, rid))), ledger.project(t, now.get((t, rid)))
            # A tombstone arriving for a record the store never held projects like "absent" but is
            # a version all the same: a later, older live copy replacing it is a regression.
            appeared = (t, rid) not in before and (t, rid) in now
            if old != new or appeared:
                yield p, (user, t, rid), before.get((t, rid)), now.get((t, rid))
        before = now


def _pending_own(ledger: Ledger, device: str, key: Key, at: int) -> Write | None:
    """`device`'s latest own write to `key` before event `at`, if it was not yet committed on
    every backend its record type is routed to (still marked for upload)."""
    mine = [w for w in ledger.by_key.get(key, []) if w.device == device and w.event.index < at]
    if not mine:
        return None
    w = mine[-1]
    done = {c.process for c in ledger.commits.get(w.write_id, []) if c.index < at}
    return None if set(ledger.routes.get(key[1], ())) <= done else w


def _ranked_before(ledger: Ledger, new: Write | None, old: Write) -> bool:
    return new is None or ledger.rank(new) < ledger.rank(old)


def check_no_lost_unsynced_edit(history: History, final: dict[str, Store] | None = None) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for device in sorted(ledger.devices):
        for p, key, _old, new in _changes(ledger, device):
            mine = _pending_own(ledger, device, key, p.index)
            if mine is None:
                continue
            checked += 1
            incoming = ledger.attribute(key, new)
            if incoming is mine or (mine.is_delete and new is None):
                continue
            if _ranked_before(ledger, incoming, mine):
                problems.append(_unsynced(ledger, device, p, mine, incoming))
    return verdict("no-lost-unsynced-edit", problems[:MAX_REPORTED], checked)


def _unsynced(ledger: Ledger, device: str, p: Event, mine: Write, incoming: Write | None):
    what = ("removed it" if incoming is None else
            f"persisted {incoming.describe()} over it, which {ledger.order_name()} ranks before it")
    events = (mine.event.index, p.index) + ((incoming.event.index,) if incoming else ())
    return Violation("no-lost-unsynced-edit", f"device {device} made the {mine.describe()}, still "
                     f"marked for upload; at {p.label()} the store {what}", tuple(sorted(events)))


def check_monotonic_read_your_writes(history: History, final: dict[str, Store] | None = None
                                     ) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for w in ledger.writes:
        checked += 1
        if not _reflects(ledger, w):
            problems.append(Violation("monotonic-read-your-writes", f"device {w.device} read back "
                                      f"{w.after!r} right after the {w.describe()}", (w.event.index,)))
    for device in sorted(ledger.devices):
        best: dict[Key, tuple[Write, Event]] = {}
        for p, key, _old, new in _changes(ledger, device):
            checked += 1
            problem = _regress(ledger, device, p, key, new, best)
            if problem:
                problems.append(problem)
    problems += _stale_reads(ledger)
    return verdict("monotonic-read-your-writes", problems[:MAX_REPORTED], checked)


def _reflects(ledger: Ledger, w: Write) -> bool:
    if w.is_delete:
        return ledger.project(w.record_type, w.after) is None
    got = ledger.project(w.record_type, w.after) or {}
    return all(got.get(k) == v for k, v in w.fields.items())


def _regress(ledger: Ledger, device: str, p: Event, key: Key, new: Any,
             best: dict[Key, tuple[Write, Event]]) -> Violation | None:
    incoming = ledger.attribute(key, new)
    if new is not None and incoming is None:
        return None  # a value nobody wrote: invariant 7 reports it
    if new is None and ledger.project(key[1], new) is None:
        deletes = [w for w in ledger.by_key.get(key, []) if w.is_delete and w.event.index < p.index]
        incoming = max(deletes, key=ledger.rank) if deletes else None
    top = best.get(key)
    if incoming is not None and (top is None or ledger.rank(incoming) >= ledger.rank(top[0])):
        best[key] = (incoming, p)
        return None
    if top is None:
        return None
    gone = "removed it" if incoming is None else f"went back to the {incoming.describe()}"
    return Violation("monotonic-read-your-writes", f"device {device} persisted the "
                     f"{top[0].describe()} at {top[1].label()}; at {p.label()} its store {gone}",
                     (top[1].index, p.index))


def _stale_reads(ledger: Ledger) -> list[Violation]:
    """A `read` step must see the device's own latest write, or one ranked after it."""
    out = []
    for e in ledger.history:
        if e.type != "ok" or e.f != "read":
            continue
        key = (ledger.devices.get(e.device, ""), e.value["record_type"], e.value["record_id"])
        mine = [w for w in ledger.by_key.get(key, []) if w.device == e.device and w.event.index < e.index]
        if not mine:
            continue
        got = ledger.attribute(key, e.value.get("got"))
        if e.value.get("got") is None:  # reading nothing is seeing the latest delete made so far
            deletes = [w for w in ledger.by_key.get(key, []) if w.is_delete and w.event.index < e.index]
            got = max(deletes, key=ledger.rank) if deletes else None
        if got is not mine[-1] and _ranked_before(ledger, got, mine[-1]):
            out.append(Violation("monotonic-read-your-writes", f"device {e.device} read "
                                 f"{e.value.get('got')!r} at {e.label()}, not its own "
                                 f"{mine[-1].describe()}", (mine[-1].event.index, e.index)))
    return out


def check_isolation(history: History, final: dict[str, Store] | None = None) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for e in history:
        if e.f == "probe" and e.type in ("ok", "fail", "info"):
            if "error" in e.value and "status" not in e.value:
                continue  # the network lost the probe: no answer, so nothing leaked or was refused
            checked += 1
            if e.value.get("status") != 401:
                problems.append(Violation("isolation", f"a {e.value.get('token', 'bad')} token got "
                                          f"{e.value.get('status')} at {e.label()}, not 401",
                                          (e.index,)))
    for p in history.persists():
        checked += 1
        problems += _foreign(ledger, p)
    return verdict("isolation", problems[:MAX_REPORTED], checked)


def _foreign(ledger: Ledger, p: Event) -> list[Violation]:
    user, out = ledger.devices.get(p.device, ""), []
    for (t, rid), rec in records(p.value["snapshot"]).items():
        for other in ledger.users():
            w = ledger.attribute((other, t, rid), rec) if other != user else None
            if w is not None and not ledger.by_key.get((user, t, rid)):
                out.append(Violation("isolation", f"device {p.device} of {user} persisted "
                                     f"{t}/{rid} at {p.label()}: it is the {w.describe()}, of "
                                     f"user {other}", (w.event.index, p.index)))
    return out
