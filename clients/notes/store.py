"""The notes app's local store: one JSON file, rewritten whole and atomically after every change.

A record keeps its current version (fields, or `trashed`), the write id of that version (`rev`),
and what each backend is known to hold for it (`held`: the rev, and on CloudKit the change tag).
A record is pending on a backend while that backend is not known to hold its current rev.

A write id is `<device>.<boot>.<seq>@<stamp µs>`: it names the write and carries the stamp the
careful variant ranks versions by, so a version pulled from either backend can be ranked without
any column beyond the profile's `rev`.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from dualsync.clients.api import DeviceError, Hooks

FORMAT = "dualsync-notes-store/1"


def rank(rev: Any) -> tuple:
    """A version's place in the careful variant's order: stamp, device, boot, sequence. A rev this
    app did not write ranks below every rev it did."""
    try:
        name, stamp = rev.rsplit("@", 1)
        device, boot, seq = name.rsplit(".", 2)
        return (int(stamp), device, int(boot), int(seq))
    except (AttributeError, ValueError):
        return (-1, "", 0, 0)


def fresh(device: str) -> dict[str, Any]:
    return {"format": FORMAT, "device": device, "boots": 0, "seq": 0, "owner": None,
            "session": None, "ck_token": None, "records": {}, "cursors": {}, "ck_sync_token": None,
            "zone_ready": False}


class StoreFile:
    def __init__(self, path: str, device: str, hooks: Hooks, routes: dict[str, tuple[str, ...]]):
        self.path, self.device, self.hooks, self.routes = Path(path), device, hooks, routes

    def load(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return fresh(self.device)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise DeviceError(f"{self.path}: the notes store is not JSON ({exc}); move it away to "
                              "start this device afresh") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("device") != self.device:
            raise DeviceError(f"{self.path}: not this device's notes store (format {FORMAT}, device "
                              f"{self.device}); move it away to start this device afresh")
        return data

    def save(self, data: dict[str, Any]) -> None:
        """Temp file, fsync, rename, fsync the folder: a crash anywhere leaves the old file or the
        new one. `mid_persist` is passed with the temp file half written."""
        blob = json.dumps(data, sort_keys=True).encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        with open(temp, "wb") as handle:
            handle.write(blob[: len(blob) // 2])
            handle.flush()
            self.hooks.fault_point("mid_persist", path=str(self.path))
            handle.write(blob[len(blob) // 2:])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self.path)
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        self.hooks.on_persist(self.view(data))

    def view(self, data: dict[str, Any]) -> dict[str, Any]:
        """The records as the harness reads a store: {type: {id: {fields, deleted, write_id,
        needs_sync}}}."""
        out: dict[str, Any] = {t: {} for t in self.routes}
        for rtype, rows in data["records"].items():
            for rid, rec in rows.items():
                out.setdefault(rtype, {})[rid] = {
                    "fields": copy.deepcopy(rec["fields"]), "deleted": rec["trashed"],
                    "write_id": rec["rev"], "needs_sync": bool(pending(rec, self.routes[rtype]))}
        return out

    def snapshot(self) -> dict[str, Any]:
        return self.view(self.load())


def pending(rec: dict[str, Any], routes: tuple[str, ...]) -> list[str]:
    """The backends that are not known to hold the record's current version."""
    return [p for p in routes if (rec["held"].get(p) or {}).get("rev") != rec["rev"]]
