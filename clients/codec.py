"""A record's value sealed for a backend, and opened again.

What travels is the whole write: its fields (or a tombstone), its write id, its device time and the
device that made it, encrypted with the user's key; the record type and id are bound in as
associated data, so a payload moved to another row does not open.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from dualsync.clients.crypto import Keychain, open_sealed, seal
from dualsync.clients.errors import DecryptFailed
from dualsync.clients.store import LocalRecord


@dataclasses.dataclass
class Incoming:
    """A write as a backend delivered it, decrypted, with the backend's version metadata."""

    record: LocalRecord
    meta: dict[str, Any]


def aad(record_type: str, record_id: str) -> str:
    return f"{record_type}/{record_id}"


def seal_record(keychain: Keychain, user_id: str, record: LocalRecord) -> tuple[str, int]:
    # What goes out is what the upload queue says: a queued delete travels as a tombstone.
    deleted = record.queued_op == "delete" if record.queued_op else record.deleted
    content = {"fields": None if deleted else record.fields, "deleted": deleted, "write_id": record.write_id,
               "modified_us": record.modified_us, "device": record.device}
    version = keychain.known_version(user_id)
    # Deterministic nonce: one write id always seals to the same bytes, so replays are exact and a
    # nonce is never reused for different plaintext under one key.
    nonce = hashlib.sha256(f"{record.write_id}|{version}|{aad(record.record_type, record.record_id)}".encode()).digest()[:12]
    return seal(keychain, user_id, aad(record.record_type, record.record_id), content, nonce=nonce)


def open_record(keychain: Keychain, user_id: str, record_type: str, record_id: str,
                payload: Any, key_version: Any) -> LocalRecord:
    content = open_sealed(keychain, user_id, aad(record_type, record_id), payload, key_version)
    try:
        return LocalRecord(record_type=record_type, record_id=record_id, fields=content["fields"],
                           deleted=bool(content["deleted"]), write_id=str(content["write_id"]),
                           modified_us=int(content["modified_us"]), device=str(content["device"]),
                           queued_op=None)
    except (KeyError, TypeError, ValueError) as exc:
        raise DecryptFailed(f"record {aad(record_type, record_id)}: decrypted payload lacks {exc}") from None


def iso_from_us(micros: int) -> str:
    # Exact to the microsecond (a float of epoch seconds is not), so timestamps compare as stamped.
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)).isoformat()
