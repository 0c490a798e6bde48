"""Checks about progress and order: no skipped row (4), determinism (6), liveness (9)."""

from __future__ import annotations

from dualsync.harness.checkers.ledger import PENDING_KEYS, Ledger, Store, flatten, records
from dualsync.harness.checkers.verdict import Verdict, Violation, verdict
from dualsync.harness.history import Event, History

MAX_REPORTED = 5


def complete_syncs(history: History, device: str, path: str) -> list[tuple[Event, Event]]:
    """(invoke, ok) of every sync of `path` on `device` that completed, login syncs included."""
    out = []
    for e in history:
        if e.type != "invoke":
            continue
        if (e.process, e.f) in (((f"{device}/{path}"), "sync"), (device, "login_sync")):
            done = history.completion_of(e)
            if done is not None and done.type == "ok":
                out.append((e, done))
    return out


def _on_disk(history: History, device: str, before: int) -> Store:
    last = [p for p in history.persists(device) if p.index < before]
    return last[-1].value["snapshot"] if last else {}


def check_no_skipped_row(history: History, final: dict[str, Store] | None = None) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for c in history.commits():
        w = ledger.by_id.get(c.value.get("write_id") or "")
        if w is None or not c.value.get("decryptable", True) or c.value.get("deleted"):
            continue
        for device in ledger.devices_of(w.user):
            problem, n = _reached(ledger, c, w, device)
            checked += n
            if problem:
                problems.append(problem)
    return verdict("no-skipped-row", problems[:MAX_REPORTED], checked)


def _reached(ledger: Ledger, c: Event, w, device: str) -> tuple[Violation | None, int]:
    # The first complete sync that began after the commit, once the device held the row's key.
    syncs = [s for s in complete_syncs(ledger.history, device, c.process)
             if s[0].index > c.index and _can_open(ledger, device, c, s[0].index)]
    if not syncs:
        return None, 0
    invoke, ok = syncs[0]
    if _superseded(ledger, c, invoke.index):
        return None, 0  # the row changed again since: its newer version is checked instead
    record = _on_disk(ledger.history, device, ok.index).get(w.record_type, {}).get(w.record_id)
    held = ledger.attribute(w.key, record)
    if held is not None and ledger.rank(held) >= ledger.rank(w):
        return None, 1
    if any(d.is_delete and ledger.rank(d) > ledger.rank(w) and d.event.index < ok.index
           for d in ledger.by_key.get(w.key, [])):
        return None, 1
    return Violation("no-skipped-row", f"{c.process} committed the {w.describe()} at {c.label()}; "
                     f"device {device}'s {c.process} sync from {invoke.label()} to {ok.label()} "
                     "completed without it reaching the store",
                     (w.event.index, c.index, invoke.index, ok.index)), 1


def _can_open(ledger: Ledger, device: str, c: Event, at: int) -> bool:
    """Whether `device` held the key `c` was sealed with when its sync began."""
    notes = [e for e in ledger.history.events[:at]
             if e.type == "note" and e.f == "keychain" and e.process == device]
    known = notes[-1].value.get("known") if notes else None
    version = c.value.get("key_version")
    return known is None or version is None or version <= known


def _superseded(ledger: Ledger, c: Event, before: int) -> bool:
    v = c.value
    return any(o.index > c.index and o.index < before and o.process == c.process
               and (o.value["user"], o.value["record_type"], o.value["record_id"])
               == (v["user"], v["record_type"], v["record_id"]) for o in ledger.history.commits()
               ) or _zone_deleted(ledger, c, before)


def _zone_deleted(ledger: Ledger, c: Event, before: int) -> bool:
    """The user deleted the CloudKit zone after the commit: the record went with it, so it is no
    longer present on the backend (a device that still holds it uploads it again: a new commit)."""
    return c.process == "cloudkit" and any(
        e.type == "note" and e.f == "delete_zone" and e.value.get("user") == c.value["user"]
        and c.index < e.index < before for e in ledger.history)


def check_liveness(history: History, final: dict[str, Store]) -> Verdict:
    ledger, problems = Ledger(history), []
    quiet = next((e for e in history if e.type == "note" and e.f == "quiescent"), None)
    heal = _faults_healed(history)
    if quiet is None:
        problems.append(Violation("liveness", "the run never reached quiescence (no 'quiescent' "
                                  "event): the sync rounds were cut short"))
    elif not quiet.value.get("settled", False):
        problems.append(Violation("liveness", f"stores were still changing after "
                                  f"{quiet.value.get('rounds')} sync rounds at {quiet.label()}",
                                  (quiet.index,)))
    elif heal is not None and _recovery_time(history, heal, quiet) > ledger.bound:
        problems.append(Violation("liveness", f"quiescence took "
                                  f"{_recovery_time(history, heal, quiet):.0f}s of virtual time "
                                  f"after the heal at {heal.label()} (time the program advanced "
                                  f"the clock itself not counted); the bound is "
                                  f"{ledger.bound:.0f}s", (heal.index, quiet.index)))
    problems += _undrained(ledger, final)
    return verdict("liveness", problems[:MAX_REPORTED], len(ledger.by_key) + len(final) + 1)


def _faults_healed(history: History) -> Event | None:
    """The heal that ended the faults: the first after which no fault fires and the Conductor
    decides nothing more. A program may heal, then arm new faults; the bound runs from the heal
    after them."""
    faults = [e.index for e in history if e.type == "fault"
              or (e.type == "net" and e.f.startswith("decide:"))]
    heals = [e for e in history if e.type == "note" and e.f == "heal"]
    after = [h for h in heals if h.index > max(faults, default=-1)]
    return after[0] if after else (heals[-1] if heals else None)


def _recovery_time(history: History, heal: Event, quiet: Event) -> float:
    """Virtual time from the heal to quiescence, less what the program itself advanced the clock
    by (an `advance` step): a client's own waits (retryAfter, backoff) advance it too, and count."""
    advanced = sum(float(e.value.get("seconds", 0.0)) for e in history
                   if e.type == "note" and e.f == "advance" and heal.index < e.index < quiet.index)
    return quiet.time - heal.time - advanced


def _undrained(ledger: Ledger, final: dict[str, Store]) -> list[Violation]:
    out = []
    for key in sorted(ledger.by_key):
        w = ledger.winner(key)
        missing = set(ledger.routes.get(key[1], ())) - ledger.committed_on(w.write_id)
        if not w.is_delete and missing and ledger.policy.get("granularity") != "field":
            out.append(Violation("liveness", f"the {w.describe()} never reached "
                                 f"{', '.join(sorted(missing))}: its upload queue did not drain",
                                 (w.event.index,)))
    for label, store in sorted(final.items()):
        for (t, rid), rec in sorted(records(store).items()):
            flat = flatten(rec) or {}
            if label.startswith("device:") and any(flat.get(k) for k in PENDING_KEYS):
                out.append(Violation("liveness", f"{label} still marks {t}/{rid} for upload at "
                                     "quiescence"))
    return out


def check_determinism(runs: dict[str, tuple[History, dict[str, Store]]]) -> Verdict:
    """The same operations under different schedules must end in the same state. `runs` maps a
    schedule's label to that run's (history, final states)."""
    labels, problems, checked = sorted(runs), [], 0
    if len(labels) < 2:
        return verdict("determinism", [], 0)
    base_label, (base_h, base_final) = labels[0], runs[labels[0]]
    ledger = Ledger(base_h)
    for other in labels[1:]:
        _h, final = runs[other]
        for holder in sorted(set(base_final) | set(final)):
            checked += 1
            a, b = _values(ledger, base_final.get(holder)), _values(ledger, final.get(holder))
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    problems.append(Violation("determinism", f"{holder} ends with {key[0]}/{key[1]}"
                                              f" = {a.get(key)!r} under schedule {base_label!r} but "
                                              f"{b.get(key)!r} under {other!r}"))
                    break
    return verdict("determinism", problems[:MAX_REPORTED], checked)


def _values(ledger: Ledger, store: Store | None) -> dict[tuple[str, str], object]:
    out = {}
    for (t, rid), rec in records(store).items():
        value = ledger.project(t, rec)
        if value is not None:
            out[(t, rid)] = value
    return out

