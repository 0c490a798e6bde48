"""An app profile: the app's synced data as the test needs to know it, and nothing of its code.

For each record type: its Supabase table and its CloudKit record type (a type may live on one
backend only), its fields and their types, and how its id looks. For the app: the owner column and
the pull cursor of its Supabase tables, how a delete is represented, its CloudKit container and
zone, and its payload envelope: plaintext columns/fields the harness reads directly, or a sealed
payload it reads through the client's own decoder (the device port's `decode`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

BACKENDS = ("supabase", "cloudkit")  # the one list of backends; every other list derives from it
FIELD_TYPES = ("text", "int", "float", "bool", "date", "datetime", "json")
ID_KINDS = ("uuid", "text")  # text: any CloudKit record name (1-255 printable ASCII, not "_...")
ENVELOPES = ("sealed", "plain")


@dataclasses.dataclass(frozen=True)
class RecordType:
    name: str
    fields: dict[str, str]
    id: str = "uuid"
    table: str | None = None          # its Supabase table, None when it does not sync there
    cloudkit_type: str | None = None  # its CloudKit record type, None when it does not sync there
    sample: dict[str, Any] | None = None  # the n-th generated edit: "{n}" is replaced by n
    older_fields: tuple[str, ...] = ()    # the fields an older version of the app writes

    def sample_edit(self, n: int) -> dict[str, Any]:
        """The fields of the n-th edit exploration makes: the value itself names the edit, so a
        lost one is visible. From `sample` when the profile gives one, else from the field types."""
        template = self.sample or {f: "{n}" if k in ("int", "float") else f"{f} {{n}}"
                                   for f, k in list(self.fields.items())[:2]}
        return {f: n if v == "{n}" else v.replace("{n}", str(n)) if isinstance(v, str) else v
                for f, v in template.items()}

    @property
    def routes(self) -> tuple[str, ...]:
        """The backends this record type syncs through, in BACKENDS order."""
        on = {"supabase": self.table, "cloudkit": self.cloudkit_type}
        return tuple(b for b in BACKENDS if on[b])

    def sample_edit(self, n: int) -> dict[str, Any]:
        """The fields of the n-th edit exploration makes: the value itself names the edit, so a
        lost one is visible. From `sample` when the profile gives one, else from the field types."""
        template = self.sample or {f: "{n}" if k in ("int", "float") else f"{f} {{n}}"
                                   for f, k in list(self.fields.items())[:2]}
        return {f: n if v == "{n}" else v.replace("{n}", str(n)) if isinstance(v, str) else v
                for f, v in template.items()}

    @property
    def routes(self) -> tuple[str, ...]:
        """The backends this record type syncs through, in BACKENDS order."""
        on = {"supabase": self.table, "cloudkit": self.cloudkit_type}
        return tuple(b for b in BACKENDS if on[b])

    def id_problem(self, value: Any) -> str | None:
        """Why `value` cannot be an id of this type, or None when it can."""
        if not isinstance(value, str):
            return f"an id is a string, not {type(value).__name__}"
        if self.id == "uuid":
            try:
                uuid.UUID(value)
            except ValueError:
                return f"{value!r} is not a UUID, and {self.name} ids are UUIDs"
            return None
        if not _TEXT_ID.match(value):
            return f"{value!r} is not a usable id (letters, digits, _ . : -; at most 100)"
        return None


@dataclasses.dataclass(frozen=True)
class Envelope:
    kind: str = "sealed"           # sealed: one encrypted payload column/field; plain: fields as is
    payload: str = "payload"       # sealed: the column (and CloudKit field) holding the ciphertext
    key_version: str = "key_version"
    marker: str = "write_id"       # plain: the column/field naming the write that made the row
    cloudkit: dict[str, str] = dataclasses.field(default_factory=dict)  # CloudKit field names, where
                                   # they differ from the columns: {payload: ..., key_version: ...}

    def name(self, part: str, backend: str) -> str:
        """The column (Supabase) or field (CloudKit) that holds `part` of the envelope."""
        return self.cloudkit.get(part, getattr(self, part)) if backend == "cloudkit" else getattr(self, part)


@dataclasses.dataclass(frozen=True)
class App:
    name: str
    version: int
    record_types: dict[str, RecordType]
    envelope: Envelope
    columns: dict[str, str] = dataclasses.field(default_factory=dict)  # more server columns, each table
    owner: str = "user_id"                      # Supabase owner column (RLS: auth.uid() = owner)
    cursor: tuple[str, str] = ("updated_at", "id")  # Supabase pull cursor (server time, tie-break)
    deleted: str = "deleted"                    # the column/field that marks a tombstone
    container: str = "iCloud.com.example.app"
    zone: str = "AppZone"
    source: str = "<built in>"

    def type_named(self, name: str) -> RecordType:
        try:
            return self.record_types[name]
        except KeyError:
            raise KeyError(f"app {self.name!r} has no record type {name!r} "
                           f"(it has {', '.join(self.record_types)})") from None

    def on(self, backend: str) -> list[RecordType]:
        return [t for t in self.record_types.values() if backend in t.routes]

    @property
    def routes(self) -> dict[str, tuple[str, ...]]:
        return {n: t.routes for n, t in self.record_types.items()}

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t.table for t in self.on("supabase"))

    def by_table(self, table: str) -> RecordType | None:
        return next((t for t in self.record_types.values() if t.table == table), None)

    def by_cloudkit_type(self, cloudkit_type: str) -> RecordType | None:
        return next((t for t in self.record_types.values() if t.cloudkit_type == cloudkit_type), None)
