"""A record zone: its records (live and tombstones) and its change log."""

from __future__ import annotations

from .changelog import ChangeLog
from .records import Record

DEFAULT_ZONE = "_defaultZone"


class Zone:
    __slots__ = ("name", "owner", "incarnation", "generation", "records", "log")

    def __init__(self, name: str, owner: str, incarnation: int):
        self.name = name
        self.owner = owner
        self.incarnation = incarnation   # changes when the zone is deleted and re-created
        self.generation = 0              # bumped to expire every token issued so far
        self.records: dict[str, Record] = {}
        self.log = ChangeLog()

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_ZONE

    def zone_id(self) -> dict:
        return {"zoneName": self.name, "ownerRecordName": self.owner,
                "zoneType": "DEFAULT_ZONE" if self.is_default else "REGULAR_CUSTOM_ZONE"}

    def live(self, name: str) -> Record | None:
        rec = self.records.get(name)
        return rec if rec is not None and not rec.deleted else None

    def put(self, rec: Record) -> None:
        """Store a new or re-created record at the head of the change log."""
        self.records[rec.name] = rec
        rec.position = self.log.touch(rec.name)

    def changed(self, rec: Record) -> None:
        rec.position = self.log.touch(rec.name)

    def tombstone(self, rec: Record, stamp: tuple, tag: str) -> None:
        rec.deleted = True
        rec.fields = {}
        rec.modified = stamp
        rec.tag = tag
        rec.position = self.log.touch(rec.name)

    def live_count(self) -> int:
        return sum(1 for r in self.records.values() if not r.deleted)
