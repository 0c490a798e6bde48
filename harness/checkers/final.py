"""Checks on the state at quiescence: convergence (1), no lost write (2), no resurrection and no
phantom (7). `final` maps a holder label to its store: "device:A", "supabase:alice",
"cloudkit:alice"; a backend's store holds only the record types routed to it."""

from __future__ import annotations

from typing import Any

from dualsync.harness.checkers.ledger import Key, Ledger, Store, Write, _short, records
from dualsync.harness.checkers.verdict import Verdict, Violation, verdict
from dualsync.harness.history import History

MAX_REPORTED = 5  # per verdict; the first few contradictions explain a run, the rest is noise


def holders(ledger: Ledger, final: dict[str, Store], user: str, record_type: str) -> list[str]:
    """Who must hold `user`'s records of `record_type` at the end."""
    out = [f"device:{d}" for d in ledger.devices_of(user) if f"device:{d}" in final]
    routes = ledger.routes.get(record_type, ())
    return out + [f"{b}:{user}" for b in routes if f"{b}:{user}" in final]


def value_at(ledger: Ledger, final: dict[str, Store], holder: str, key: Key) -> Any:
    return ledger.project(key[1], final[holder].get(key[1], {}).get(key[2]))


def all_keys(ledger: Ledger, final: dict[str, Store]) -> list[Key]:
    keys = set(ledger.by_key)
    for label, store in final.items():
        user = _user_of(ledger, label)
        keys.update((user, t, rid) for t, rid in records(store))
    return sorted(keys)


def check_convergence(history: History, final: dict[str, Store]) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for key in all_keys(ledger, final):
        who = holders(ledger, final, key[0], key[1])
        values = {h: value_at(ledger, final, h, key) for h in who}
        checked += 1
        if len({_short(v, 10**6) for v in values.values()}) > 1:
            diff = "; ".join(f"{h} has {_show(v)}" for h, v in values.items())
            problems.append(Violation("convergence", f"{key[1]}/{key[2]} of {key[0]} differs at "
                                      f"quiescence: {diff}"))
    return verdict("convergence", problems[:MAX_REPORTED], checked)


def check_no_lost_write(history: History, final: dict[str, Store]) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for key in sorted(ledger.by_key):
        want = ledger.expected(key)
        if want is None:
            continue  # the record must be gone: invariant 7 checks resurrection
        for h in holders(ledger, final, key[0], key[1]):
            checked += 1
            got = value_at(ledger, final, h, key)
            if got != want:
                problems.append(_lost(ledger, h, key, got))
    return verdict("no-lost-write", problems[:MAX_REPORTED], checked)


def _lost(ledger: Ledger, holder: str, key: Key, got: Any) -> Violation:
    winner = ledger.winner(key)
    survivor = ledger.attribute(key, {"fields": got} if got else None)
    events = [winner.event.index]
    if survivor is not None and survivor is not winner:
        how = (f"holds instead {survivor.describe()}, which {ledger.order_name()} ranks before "
               "it" if ledger.rank(survivor) < ledger.rank(winner) else
               f"holds {_show(got)} from {survivor.describe()}")
        events.append(survivor.event.index)
    else:
        how = "does not hold it" if got is None else f"holds {_show(got)}"
    over = overwriting_persist(ledger, holder.split(":", 1)[1], key, winner)
    if holder.startswith("device:") and over is not None:
        how += f"; it was on disk until {over.label()} persisted over it"
        events.append(over.index)
    return Violation("no-lost-write", f"{winner.describe()} is lost: at quiescence {holder} "
                     f"{how}", tuple(sorted(events)))


def overwriting_persist(ledger: Ledger, device: str, key: Key, write: Write):
    """The persist on `device` that first replaced `write`'s value after it had been on disk."""
    want, seen = ledger.project(key[1], write.after), False
    for p in ledger.history.persists(device):
        got = ledger.project(key[1], p.value["snapshot"].get(key[1], {}).get(key[2]))
        if got == want:
            seen = True
        elif seen:
            return p
    return None


def check_no_resurrection_no_phantom(history: History, final: dict[str, Store]) -> Verdict:
    ledger, problems, checked = Ledger(history), [], 0
    for label, store in sorted(final.items()):
        user = _user_of(ledger, label)
        for (rtype, rid), record in sorted(records(store).items()):
            key, got = (user, rtype, rid), ledger.project(rtype, record)
            if got is None:
                continue
            checked += 1
            problem = _resurrected(ledger, label, key) or _phantom(ledger, label, key, got)
            if problem:
                problems.append(problem)
    return verdict("no-resurrection-no-phantom", problems[:MAX_REPORTED], checked)


def _resurrected(ledger: Ledger, label: str, key: Key) -> Violation | None:
    winner = ledger.winner(key)
    if winner is None or not winner.is_delete:
        return None
    return Violation("no-resurrection-no-phantom", f"{key[1]}/{key[2]} is present in {label} at "
                     f"quiescence, but the last write to it is the {winner.describe()}; no later "
                     "write re-created it", (winner.event.index,))


def _phantom(ledger: Ledger, label: str, key: Key, got: dict[str, Any]) -> Violation | None:
    written = [w for w in ledger.by_key.get(key, []) if not w.is_delete]
    if not written:
        return Violation("no-resurrection-no-phantom", f"{label} holds {key[1]}/{key[2]} "
                         f"{_show(got)}, a record no device of {key[0]} ever wrote")
    for field, value in got.items():
        if not any(w.fields and w.fields.get(field) == value or
                   (w.after or {}).get(field) == value for w in written):
            return Violation("no-resurrection-no-phantom", f"{label} holds {field}={value!r} in "
                             f"{key[1]}/{key[2]}, a value no write to it ever carried",
                             tuple(w.event.index for w in written))
    return None


def _user_of(ledger: Ledger, label: str) -> str:
    kind, _, name = label.partition(":")
    return ledger.devices.get(name, "") if kind == "device" else name


def _show(value: Any) -> str:
    return "nothing" if value is None else _short(value)
