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
               fired=[list(f) for f in ck.faults.fired])
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
    ("POST", "tokens"): _mint,
    ("POST", "expire-sync-tokens"): _expire,
    ("POST", "delete-zone"): _delete_zone,
    ("POST", "undeliverable"): _undeliverable,
    ("GET", "config"): _config,
    ("POST", "config"): _config,
}
