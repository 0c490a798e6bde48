"""Hand-made histories for checker tests: a tiny DSL over `History` so each test reads like the
story it tells."""

from __future__ import annotations

from typing import Any

from dualsync.harness.history import History

POLICY = {"order": "client_modified_at", "granularity": "record", "respects_needs_sync": True}


class Story:
    def __init__(self, devices=None, policy=None, routes=None, bound=600.0):
        self.h = History()
        self.t = 0.0
        self.disk: dict[str, dict] = {}
        self.h.append("note", "world", "setup", devices=devices or {"A": "alice", "B": "alice"},
                      policy=policy or POLICY, routes=routes or {"daily_logs": ["supabase", "cloudkit"],
                                                                 "profiles": ["supabase"]},
                      liveness_bound=bound)

    def tick(self, dt=1.0):
        self.t += dt
        self.h.step += 1
        return self

    def record(self, wid, fields, device):
        if fields is None:
            return {"fields": None, "deleted": True, "write_id": wid, "needs_sync": False}
        return {"fields": dict(fields), "deleted": False, "write_id": wid, "device": device,
                "needs_sync": False}

    def write(self, device, wid, rid, fields: dict[str, Any] | None, rtype="daily_logs",
              user="alice", persist=True):
        self.tick()
        after = None if fields is None else dict(fields)
        self.h.write(device, user, wid, rtype, rid, fields, time=self.t, device_time=self.t,
                     after=after)
        self.last_written = self.record(wid, fields, device)
        if persist:
            self.put(device, rtype, rid, self.last_written)
        return self

    def put(self, device, rtype, rid, record, by=""):
        store = self.disk.setdefault(device, {})
        if record is None:
            store.setdefault(rtype, {}).pop(rid, None)
        else:
            store.setdefault(rtype, {})[rid] = record
        return self.persist(device, by)

    def persist(self, device, by=""):
        self.tick()
        self.h.persist(device, {t: dict(r) for t, r in self.disk.get(device, {}).items()},
                       time=self.t, by=by)
        return self

    def commit(self, backend, wid, rid, rtype="daily_logs", user="alice", **kw):
        self.tick()
        self.h.commit(backend, user, rtype, rid, time=self.t, write_id=wid, **kw)
        return self

    def sync(self, device, path, outcome="ok"):
        self.tick()
        self.h.append("invoke", f"{device}/{path}", "sync", time=self.t)
        self.h.append(outcome, f"{device}/{path}", "sync", time=self.t)
        return self

    def quiesce(self, settled=True, rounds=2, heal_at=None):
        self.h.append("note", "world", "heal", time=self.t if heal_at is None else heal_at)
        self.tick()
        self.h.append("note", "world", "quiescent", time=self.t, settled=settled, rounds=rounds)
        return self
