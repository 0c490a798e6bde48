"""The control plane under a reserved prefix: the model's control operations over HTTP.

Real CloudKit paths start with /database or /device, so /_control cannot collide. It has no auth:
the server binds to loopback only. In-process code calls the same `CloudKit` methods directly.
"""

from __future__ import annotations

import dataclasses
import json

from .config import Config

PREFIX = "/_control/"


def handle(ck, method: str, path: str, body: bytes) -> tuple[int, dict]:
    name = path[len(PREFIX):].strip("/")
    op = OPERATIONS.get((method, name))
    if op is None:
        known = ", ".join(f"{m} {PREFIX}{n}" for m, n in OPERATIONS)
        return 404, {"error": f"no control operation {method} {path!r}; known: {known}"}
    try:
        args = json.loads(body) if body.strip() else {}
        if not isinstance(args, dict):
            raise ValueError("control request body must be a JSON object")
        return 200, op(ck, **args)
    except (ValueError, TypeError, KeyError) as e:
        return 400, {"error": f"{type(e).__name__}: {e}"}


def _reset(ck) -> dict:
    ck.reset()
    return {"reset": True}


def _state(ck) -> dict:
    out = ck.stats()
    out.update(now=ck.clock.now(), container=ck.container_id,
               faults=[dataclasses.asdict(f) for f in ck.faults.pending()],
               fired=[list(f) for f in ck.faults.fired],
               record_faults=[dataclasses.asdict(f) for f in ck.record_faults.pending()],
               record_faults_fired=[list(f) for f in ck.record_faults.fired])
    return out


def _clock(ck, advance: float | None = None, set: float | None = None) -> dict:
    if advance is not None or set is not None:
        if not hasattr(ck.clock, "advance"):
            raise ValueError("the injected clock cannot be moved from here; move it where it is owned")
        ck.clock.set(set) if set is not None else ck.clock.advance(float(advance))
    return {"now": ck.clock.now()}


def _add_fault(ck, **options) -> dict:
    return dataclasses.asdict(ck.inject_fault(**options))


def _clear_faults(ck) -> dict:
    ck.faults.clear()
    return {"cleared": True}


# The body of POST /_control/record-faults: CloudKit's own names, or the Python ones.
_RECORD_FAULT_KEYS = {"recordName": "record", "record": "record", "zoneName": "zone", "zone": "zone",
                      "operationType": "operation", "operation": "operation", "serverErrorCode": "code",
                      "code": "code", "retryAfter": "retry_after", "retry_after": "retry_after",
                      "times": "times", "user": "user", "env": "env", "reason": "reason"}


def _add_record_fault(ck, **body) -> dict:
    unknown = sorted(set(body) - set(_RECORD_FAULT_KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; a record fault takes recordName, "
                         "serverErrorCode, zoneName, operationType, retryAfter, times, user, env, reason "
                         "(or record, code, zone, operation, retry_after)")
    options = {}
    for key, value in body.items():
        name = _RECORD_FAULT_KEYS[key]
        if name in options:
            raise ValueError(f"{key!r} given twice (as {name} under two names)")
        options[name] = value
    for required, wire in (("record", "recordName"), ("code", "serverErrorCode")):
        if required not in options:
            raise ValueError(f"a record fault needs {wire} (the record to fail and the error it gets)")
    return dataclasses.asdict(ck.inject_record_fault(**options))


def _clear_record_faults(ck) -> dict:
    ck.record_faults.clear()
    return {"cleared": True}


def _mint(ck, user: str, device: str | None = None) -> dict:
    return {"webAuthToken": ck.mint_web_auth_token(user, device), "userRecordName": ck.user_record_name(user)}


def _expire(ck, user: str | None = None, zone: str | None = None, env: str = "development") -> dict:
    ck.expire_sync_tokens(user, zone, env)
    return {"expired": True}


def _delete_zone(ck, user: str, zone: str, env: str = "development") -> dict:
    ck.user_delete_zone(user, zone, env)
    return {"deleted": zone}


def _undeliverable(ck, user: str, zone: str, record: str, env: str = "development",
                   reason: str = "record could not be materialised") -> dict:
    ck.mark_undeliverable(user, zone, record, env, reason)
    return {"undeliverable": record}


def _config(ck, **changes) -> dict:
    unknown = set(changes) - {f.name for f in dataclasses.fields(Config)}
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}")
    merged = dataclasses.replace(ck.config, **changes)   # validates via __post_init__
    ck.config = merged
    return dataclasses.asdict(merged)


OPERATIONS = {
    ("POST", "reset"): _reset,
    ("GET", "state"): _state,
    ("GET", "clock"): _clock,
    ("POST", "clock"): _clock,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "record-faults"): _add_record_fault,
    ("DELETE", "record-faults"): _clear_record_faults,
    ("POST", "tokens"): _mint,
    ("POST", "expire-sync-tokens"): _expire,
    ("POST", "delete-zone"): _delete_zone,
    ("POST", "undeliverable"): _undeliverable,
    ("GET", "config"): _config,
    ("POST", "config"): _config,
}
