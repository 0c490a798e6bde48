"""Records as the server holds them, field validation, and rendering to Web Services JSON.

A `Record` is also its own tombstone (`deleted=True`, fields dropped) so a change feed can report
a deletion in place. Values are copied on the way in and out: a caller mutating a dict it passed
or received never changes what the server holds.
"""

from __future__ import annotations

import base64
import binascii
import copy
import math
import re

from .errors import bad_request

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
SCALAR_TYPES = ("STRING", "INT64", "DOUBLE", "TIMESTAMP", "BYTES", "ENCRYPTED_BYTES",
                "REFERENCE", "ASSET", "ASSETID", "LOCATION")
FIELD_TYPES = frozenset(SCALAR_TYPES + tuple(t + "_LIST" for t in SCALAR_TYPES))
INT64 = (-(2 ** 63), 2 ** 63 - 1)


class Record:
    """One record (or tombstone) in one zone; `position` is its place in the zone's change log."""

    __slots__ = ("name", "type", "fields", "tag", "created", "modified", "position", "deleted")

    def __init__(self, name: str, rtype: str, fields: dict, tag: str, stamp: tuple, position: int):
        self.name = name
        self.type = rtype
        self.fields = fields          # {fieldName: (type, value)}
        self.tag = tag
        self.created = stamp          # (timestamp ms, userRecordName, deviceID)
        self.modified = stamp
        self.position = position
        self.deleted = False

    def render(self, zone_id: dict, desired_keys=None, *, feed: bool = False) -> dict:
        out = {"recordName": self.name, "recordType": self.type, "recordChangeTag": self.tag,
               "fields": render_fields(self.fields, desired_keys),
               "created": _stamp(self.created), "modified": _stamp(self.modified),
               "zoneID": dict(zone_id)}
        if feed:
            out["deleted"] = False
        return out

    def render_tombstone(self, zone_id: dict, with_type: bool) -> dict:
        out = {"recordName": self.name, "deleted": True, "zoneID": dict(zone_id)}
        if with_type:
            out["recordType"] = self.type
        return out


_IMMUTABLE = (str, int, float, type(None))


def _copy(value):
    """Scalars are immutable; only lists and dicts need copying (deepcopy costs ~10x more)."""
    return value if isinstance(value, _IMMUTABLE) else copy.deepcopy(value)


def _stamp(s: tuple) -> dict:
    return {"timestamp": s[0], "userRecordName": s[1], "deviceID": s[2]}


def render_fields(fields: dict, desired_keys=None) -> dict:
    keys = fields if desired_keys is None else [k for k in desired_keys if k in fields]
    return {k: {"value": _copy(fields[k][1]), "type": fields[k][0]} for k in keys}


def check_record_name(name: object, what: str = "recordName") -> str:
    """Record and zone names: ASCII, 1-255 chars, not starting with '_' (reserved for the system)."""
    if not isinstance(name, str) or not name:
        raise bad_request(f"{what} must be a non-empty string")
    if len(name) > 255 or not name.isascii() or not name.isprintable():
        raise bad_request(f"{what} {name[:40]!r} must be printable ASCII of at most 255 characters")
    if name.startswith("_"):
        raise bad_request(f"{what} {name[:40]!r} must not start with '_' (reserved by CloudKit)")
    return name


def check_type_name(name: object, what: str = "recordType") -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise bad_request(f"{what} {str(name)[:40]!r} must start with a letter and hold only letters, digits and '_'")
    return name


def parse_fields(raw: object) -> dict:
    """Client `fields` → {name: (type, value)}; a None value means 'remove this field'."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request("fields must be an object of {fieldName: {value, type}}")
    return {check_type_name(k, "field name"): _parse_field(k, v) for k, v in raw.items()}


def _parse_field(name: str, raw: object) -> tuple:
    if not isinstance(raw, dict) or "value" not in raw:
        raise bad_request(f"field {name!r} must be an object with a 'value' key")
    value, ftype = raw["value"], raw.get("type")
    if value is None:
        return (ftype, None)
    if ftype is None:
        ftype = infer_type(name, value)
    if ftype not in FIELD_TYPES:
        raise bad_request(f"field {name!r} has unknown type {str(ftype)[:40]!r}")
    check_value(name, ftype, value)
    return (ftype, _copy(value))


def infer_type(name: str, value: object) -> str:
    if isinstance(value, list):
        return (infer_type(name, value[0]) if value else "STRING") + "_LIST"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bool):
        raise bad_request(f"field {name!r}: booleans are not a CloudKit type; use INT64 0/1")
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, dict) and "recordName" in value:
        return "REFERENCE"
    if isinstance(value, dict) and "latitude" in value:
        return "LOCATION"
    raise bad_request(f"field {name!r}: cannot infer a CloudKit type for {type(value).__name__}; give 'type'")


def check_value(name: str, ftype: str, value: object) -> None:
    if ftype.endswith("_LIST"):
        if not isinstance(value, list):
            raise bad_request(f"field {name!r} of type {ftype} needs a list value")
        for item in value:
            check_value(name, ftype[:-5], item)
        return
    if not _CHECKS[ftype](value):
        raise bad_request(f"field {name!r}: {str(value)[:40]!r} is not a valid {ftype} value")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and INT64[0] <= v <= INT64[1]


def _is_number(v) -> bool:
    return _is_int(v) or (isinstance(v, float) and math.isfinite(v))


def _is_base64(v) -> bool:
    if not isinstance(v, str):
        return False
    try:
        base64.b64decode(v, validate=True)
        return True
    except (binascii.Error, ValueError):
        return False


def _is_reference(v) -> bool:
    return (isinstance(v, dict) and isinstance(v.get("recordName"), str)
            and v.get("action", "NONE") in ("NONE", "DELETE_SELF", "VALIDATE"))


def _is_location(v) -> bool:
    return isinstance(v, dict) and _is_number(v.get("latitude")) and _is_number(v.get("longitude"))


_CHECKS = {
    "STRING": lambda v: isinstance(v, str),
    "INT64": _is_int,
    "DOUBLE": _is_number,
    "TIMESTAMP": _is_number,
    "BYTES": _is_base64,
    "ENCRYPTED_BYTES": _is_base64,
    "REFERENCE": _is_reference,
    "ASSET": lambda v: isinstance(v, dict),
    "ASSETID": lambda v: isinstance(v, dict),
    "LOCATION": _is_location,
}
