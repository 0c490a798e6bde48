"""The local store of one device: records with their sync metadata, cursors, session.

In memory it is a plain `LocalStore`; on disk it is one JSON file written whole by
`StoreFile.persist`, through the storage seam. Each record keeps the value of its latest write
(fields, or a tombstone), that write's id and device time, and what each backend is known to hold
for it; a record needs sync to a path while that backend does not hold its current write.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from dualsync.clients.api import Hooks
from dualsync.clients.app import ROUTES
from dualsync.clients.errors import StoreError
from dualsync.clients.storage import DiskStorage

FORMAT = "dualsync-store"
FORMAT_VERSION = 1


@dataclasses.dataclass
class LocalRecord:
    record_type: str
    record_id: str
    fields: dict[str, Any] | None
    deleted: bool
    write_id: str
    modified_us: int                 # device clock at the edit, microseconds: the LWW key
    device: str
    queued_op: str | None = None     # "save" or "delete": what the upload queue will send
    remote: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    def pending_paths(self) -> list[str]:
        return [p for p in ROUTES[self.record_type] if self.remote.get(p, {}).get("write_id") != self.write_id]

    @property
    def needs_sync(self) -> bool:
        return bool(self.pending_paths())

    def rank(self) -> tuple[int, str, str]:
        """Position in the coordinated policy's order: device time, then device, then the write id
        (zero-padded boot and sequence numbers, so it sorts in the device's own edit order)."""
        return (self.modified_us, self.device, self.write_id)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["needs_sync"] = self.needs_sync
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LocalRecord":
        data = {k: v for k, v in data.items() if k != "needs_sync"}
        return cls(**data)


@dataclasses.dataclass
class LocalStore:
    device: str
    records: dict[str, dict[str, LocalRecord]] = dataclasses.field(
        default_factory=lambda: {t: {} for t in ROUTES})
    cursors: dict[str, Any] = dataclasses.field(default_factory=lambda: {"supabase": {}, "cloudkit": {}})
    failed: dict[str, dict[str, list[str]]] = dataclasses.field(
        default_factory=lambda: {"supabase": {}, "cloudkit": {}})
    session: dict[str, Any] | None = None
    boots: int = 0          # loads of this store; part of every write id, so ids never repeat
    write_seq: int = 0
    owner: str | None = None  # the user whose records these are

    def forget_data(self) -> None:
        """Drop every record, cursor and retry list (a different user signed in here)."""
        fresh = LocalStore(device=self.device)
        self.records, self.cursors, self.failed = fresh.records, fresh.cursors, fresh.failed

    def get(self, record_type: str, record_id: str) -> LocalRecord | None:
        return self.records[record_type].get(record_id)

    def put(self, record: LocalRecord) -> None:
        self.records[record.record_type][record.record_id] = record

    def rekey(self, record: LocalRecord, new_id: str) -> LocalRecord:
        """Move a record to a new id (only a seeded bug does this)."""
        del self.records[record.record_type][record.record_id]
        record.record_id = new_id
        record.remote = {}
        self.put(record)
        return record

    def pending(self, path: str) -> list[LocalRecord]:
        return [r for table in self.records.values() for r in table.values() if path in r.pending_paths()]

    def copy(self) -> "LocalStore":
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "device": self.device,
            "records": {t: {i: r.to_json() for i, r in rows.items()} for t, rows in self.records.items()},
            "cursors": self.cursors, "failed": self.failed, "session": self.session,
            "boots": self.boots, "write_seq": self.write_seq, "owner": self.owner,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LocalStore":
        store = cls(device=data["device"], cursors=data["cursors"], failed=data["failed"],
                    session=data["session"], boots=data["boots"], write_seq=data["write_seq"],
                    owner=data["owner"])
        for record_type, rows in data["records"].items():
            for row in rows.values():
                store.put(LocalRecord.from_json(row))
        return store


class StoreFile:
    """One device's store file. `persist` writes the whole store; atomically unless told not to."""

    def __init__(self, path: str, storage: Any = None, hooks: Hooks | None = None, atomic: bool = True):
        self.path = str(path)
        self.storage = storage or DiskStorage()
        self.hooks = hooks or Hooks()
        self.atomic = atomic

    def load(self, device: str) -> LocalStore:
        raw = self.storage.read(self.path)
        if raw is None:
            return LocalStore(device=device)
        return self._parse(raw, device)

    def _parse(self, raw: bytes, device: str) -> LocalStore:
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise StoreError(self.path, f"is corrupt ({exc}); move it away to start this device afresh") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StoreError(self.path, "is not a dualsync store file (foreign file); refusing to overwrite it")
        if data.get("version") != FORMAT_VERSION:
            raise StoreError(self.path, f"has store format version {data.get('version')!r}, this client reads {FORMAT_VERSION}")
        if data.get("device") != device:
            raise StoreError(self.path, f"belongs to device {data.get('device')!r}, not {device!r}")
        try:
            return LocalStore.from_json(data)
        except (KeyError, TypeError) as exc:
            raise StoreError(self.path, f"is damaged: missing or bad entry {exc}") from None

    def persist(self, store: LocalStore) -> None:
        data = json.dumps(store.to_json(), sort_keys=True).encode("utf-8")
        if self.atomic:
            self._write_atomic(data)
        else:
            self._write_in_place(data)
        self.hooks.on_persist(store.to_json()["records"])

    def _write_atomic(self, data: bytes) -> None:
        # Temp file, flush, rename, flush the directory: a crash anywhere leaves old or new, never half.
        temp = self.path + ".tmp"
        half = len(data) // 2
        self.storage.write(temp, data[:half])
        self.hooks.fault_point("mid_persist", path=self.path)
        self.storage.write(temp, data)
        self.storage.fsync(temp)
        self.storage.rename(temp, self.path)
        self.storage.fsync_dir(self.path)

    def _write_in_place(self, data: bytes) -> None:
        half = len(data) // 2
        self.storage.write(self.path, data[:half])
        self.hooks.fault_point("mid_persist", path=self.path)
        self.storage.write(self.path, data)
        self.storage.fsync(self.path)

    def snapshot(self, device: str) -> dict[str, Any]:
        """What is on disk now, as {record_type: {record_id: record}}."""
        return self.load(device).to_json()["records"]
