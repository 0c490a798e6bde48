"""The ledger: every local write of a run, ranked by the client's declared policy.

All checkers read a history through this one model, so they agree on what a write is, which write
a stored value came from, and which of two writes the policy says must win.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from dualsync import apps
from dualsync.harness.history import Event, History

Key = tuple[str, str, str]  # (user, record_type, record_id)
Store = dict[str, dict[str, Any]]  # {record_type: {record_id: record}}

# Keys a client may use on a stored record for its own bookkeeping, never user data.
TOMBSTONE_KEYS = ("deleted", "_deleted", "is_deleted", "isDeleted")
PENDING_KEYS = ("needs_sync", "needsSync", "_needs_sync")
WRITE_ID_KEYS = ("write_id", "_write_id", "writeId")



@dataclasses.dataclass(frozen=True)
class Write:
    event: Event
    device: str
    user: str
    write_id: str
    record_type: str
    record_id: str
    fields: dict[str, Any] | None  # None: a delete
    after: dict[str, Any] | None
    device_time: float

    @property
    def key(self) -> Key:
        return (self.user, self.record_type, self.record_id)

    @property
    def is_delete(self) -> bool:
        return self.fields is None

    def describe(self) -> str:
        what = "delete" if self.is_delete else f"write {self.write_id} {_short(self.fields)}"
        return (f"{what} of {self.record_type}/{self.record_id} by device {self.device} "
                f"at {self.event.label()}")


class Ledger:
    def __init__(self, history: History):
        self.history = history
        setup = next((e for e in history if e.type == "note" and e.f == "setup"), None)
        cfg = setup.value if setup else {}
        self.devices: dict[str, str] = dict(cfg.get("devices", {}))  # device -> user
        self.policy: dict[str, Any] = {"order": "arrival", "granularity": "record",
                                       **cfg.get("policy", {})}
        self.routes = {t: tuple(p) for t, p in (cfg.get("routes") or apps.load().routes).items()}
        self.bound: float = float(cfg.get("liveness_bound", 600.0))
        self.writes = [_write(e) for e in history.writes()]
        self.by_id = {w.write_id: w for w in self.writes}
        self.by_key: dict[Key, list[Write]] = {}
        for w in self.writes:
            self.by_key.setdefault(w.key, []).append(w)
            self.devices.setdefault(w.device, w.user)
        self.commits: dict[str, list[Event]] = {}
        for c in history.commits():
            self.commits.setdefault(c.value.get("write_id") or "", []).append(c)
        self.user_fields: dict[str, set[str]] = {}
        for w in self.writes:
            self.user_fields.setdefault(w.record_type, set()).update(w.fields or {})
        self.hybrid = self.policy["order"] == "client_modified_at" and \
            self.policy.get("stamps") == "hybrid_logical"
        self._effective: dict[str, int] = {}
        if self.hybrid:
            for w in self.writes:  # in history order: a write's held version is always earlier
                self._effective[w.write_id] = self._hybrid_time(w)

    def users(self) -> list[str]:
        return sorted(set(self.devices.values()))

    def devices_of(self, user: str) -> list[str]:
        return sorted(d for d, u in self.devices.items() if u == user)

    # Ranking: the order in which the declared policy says writes to one record must win.

    def rank(self, w: Write) -> tuple:
        order = self.policy["order"]
        if order == "server_updated_at":
            times = [c.value.get("server_time", c.time) for c in self.commits.get(w.write_id, [])]
            return (min(times) if times else float("inf"), w.event.index)
        if self.hybrid:
            return (self._effective[w.write_id], w.device, w.event.index)
        if order == "client_modified_at":
            return (w.device_time, w.device, w.event.index)
        return (w.event.index,)  # "arrival" declares no order; real-time order is the only one

    # Hybrid-logical stamps: an edit ranks after the version its device held when it made it.

    def _hybrid_time(self, w: Write) -> int:
        """Microseconds: the later of the device time the harness saw and 1 µs after the
        effective time of the version the device's store held for the record before the write."""
        own = int(round(w.device_time * 1_000_000))
        held = self.held(w)
        return own if held is None else max(own, self._effective[held.write_id] + 1)

    def held(self, w: Write) -> Write | None:
        """The version `w`'s device held for its record just before `w`: what the device read
        just before the edit when the recorder saw it, else (a tombstone reads as nothing) the
        last version the device persisted before the write."""
        earlier = [x for x in self.by_key.get(w.key, []) if x.event.index < w.event.index]
        before = w.event.value.get("before", _UNSEEN)
        if before not in (None, _UNSEEN):
            return self._attribute_among(w.record_type, flatten(before), earlier)
        persisted = self._persisted_before(w, earlier)
        if before is None and persisted is not None and not persisted.is_delete:
            return None  # read nothing, though a live version was on disk: an unpersisted delete
        return persisted

    def _persisted_before(self, w: Write, earlier: list[Write]) -> Write | None:
        """The version on the device's disk before the write: its last persist before the write
        event that does not already hold the write itself (the write's own persist)."""
        mine = self.project(w.record_type, w.after)
        for p in reversed(self.history.persists(w.device)):
            if p.index > w.event.index:
                continue
            rec = flatten(p.value["snapshot"].get(w.record_type, {}).get(w.record_id))
            ids = [rec.get(k) for k in WRITE_ID_KEYS] if rec else []
            if w.write_id in ids or (not any(ids) and rec and not w.is_delete
                                     and self.project(w.record_type, rec) == mine):
                continue
            return self._attribute_among(w.record_type, rec, earlier)
        return None

    def _attribute_among(self, record_type: str, flat: dict | None, candidates: list[Write]
                         ) -> Write | None:
        if flat is None:
            return None
        for k in WRITE_ID_KEYS:
            found = [x for x in candidates if x.write_id == flat.get(k)]
            if found:
                return found[0]
        value = self.project(record_type, flat)
        same = [x for x in candidates if not x.is_delete and self.project(record_type, x.after) == value]
        return max(same, key=self.rank) if same and value is not None else None

    def order_name(self) -> str:
        if self.hybrid:
            return "the devices' hybrid-logical modification time"
        return {"server_updated_at": "server commit time", "client_modified_at":
                "the devices' modification time"}.get(self.policy["order"], "real-time order")

    def winner(self, key: Key) -> Write | None:
        ws = self.by_key.get(key, [])
        return max(ws, key=self.rank) if ws else None

    def expected(self, key: Key) -> dict[str, Any] | None:
        """The value the policy says the record must end with (None: absent)."""
        ws = sorted(self.by_key.get(key, []), key=self.rank)
        if not ws:
            return None
        if self.policy.get("granularity") != "field":
            return self.project(key[1], ws[-1].after) if not ws[-1].is_delete else None
        state: dict[str, Any] | None = None
        for w in ws:
            state = None if w.is_delete else {**(state or {}), **w.fields}
        return self.project(key[1], state)

    # Reading stores: only the fields some write wrote are compared; the rest is bookkeeping.

    def project(self, record_type: str, record: dict[str, Any] | None) -> dict[str, Any] | None:
        record = flatten(record)
        if record is None or any(record.get(k) for k in TOMBSTONE_KEYS):
            return None
        names = self.user_fields.get(record_type, set())
        return {k: record[k] for k in sorted(names) if k in record}

    def attribute(self, key: Key, record: dict[str, Any] | None) -> Write | None:
        """Which write a stored value came from: its write id if the client keeps one, else the
        latest write whose read-back value it equals."""
        flat = flatten(record)
        if flat is None:
            return None
        for k in WRITE_ID_KEYS:
            if flat.get(k) in self.by_id:
                return self.by_id[flat[k]]
        value = self.project(key[1], flat)
        same = [w for w in self.by_key.get(key, []) if not w.is_delete
                and self.project(key[1], w.after) == value]
        return max(same, key=self.rank) if same else None

    def committed_on(self, write_id: str) -> set[str]:
        return {c.process for c in self.commits.get(write_id, [])}


_UNSEEN = object()


def flatten(record: Any) -> dict[str, Any] | None:
    """A stored record as one flat dict; clients that nest user data under "fields" are read too."""
    if record is None:
        return None
    if not isinstance(record, dict):
        return {"value": record}
    inner = record.get("fields")
    return {**record, **inner} if isinstance(inner, dict) else dict(record)


def records(store: Store | None) -> dict[tuple[str, str], dict[str, Any]]:
    return {(t, rid): r for t, rs in (store or {}).items() if isinstance(rs, dict)
            for rid, r in rs.items()}


def _write(e: Event) -> Write:
    v = e.value
    return Write(e, e.device, v.get("user", ""), v["write_id"], v["record_type"], v["record_id"],
                 v.get("fields"), v.get("after"), float(v.get("device_time", e.time)))


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
