"""The CloudKit container: users and sessions, per-user private databases, ids, schema, faults.

`CloudKit` is the whole in-process fake. Tests and the harness call it directly (`ck.db("alice")`
gives a user's private database whose methods are the Web Services operations); the wire layer
calls the same methods for HTTP requests. Everything random derives from `seed`; time comes only
from the injected clock.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from typing import Callable

from .clock import as_clock
from .config import Config
from .database import Database
from .errors import CloudKitError
from .faults import Fault, FaultPlan, RecordFault, RecordFaultPlan
from .tokens import TokenCodec

_MIX = 0x9E3779B97F4A7C15   # odd, so multiplying mod 2**64 is a bijection: tags never repeat


@dataclasses.dataclass
class Session:
    user_id: str
    device: str
    expires_at: float | None
    alive: bool = True


class CloudKit:
    def __init__(self, container: str = "iCloud.com.example.fit", *, api_token: str = "fake-ck-api-token",
                 clock=None, config: Config | None = None, seed: int = 0):
        if not isinstance(container, str) or not container.startswith("iCloud."):
            raise ValueError(f"container id must start with 'iCloud.', got {container!r}")
        self.container_id = container
        self.api_tokens = {api_token}
        self.clock = as_clock(clock, sleeps=False)
        self.config = config or Config()
        self.seed = seed
        self.faults = FaultPlan()
        self.record_faults = RecordFaultPlan()
        # Called with one event dict per committed change; wiring, so it survives reset().
        self.commit_listeners: list[Callable[[dict], None]] = []
        self._epoch = 0
        self.reset()

    # -- reset and ids -------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every database, session, schema and fault. Tokens from before stop verifying."""
        self._epoch += 1
        secret = hashlib.blake2b(f"{self.seed}:{self._epoch}".encode(), digest_size=16).digest()
        self.codec = TokenCodec(secret)
        self._secret = secret
        self.databases: dict[tuple[str, str], Database] = {}
        self.sessions: dict[str, Session] = {}
        self.schema: dict[str, dict[str, dict[str, str]]] = {}
        self._incarnations: dict[int, str] = {}
        self._counter = 0
        self.faults.clear()
        self.record_faults.clear()

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def new_tag(self) -> str:
        return format((self._next() * _MIX + self._epoch) % 2 ** 64, "x")[-10:].lstrip("0") or "1"

    def new_record_name(self) -> str:
        return str(uuid.UUID(int=(self._next() * _MIX * _MIX + self.seed) % 2 ** 128)).upper()

    def next_incarnation(self, zone_name: str) -> int:
        n = self._next()
        self._incarnations[n] = zone_name
        return n

    def incarnation_name(self, incarnation: int) -> str | None:
        return self._incarnations.get(incarnation)

    # -- users, sessions, databases ---------------------------------------------------------

    def user_record_name(self, user_id: str) -> str:
        digest = hashlib.blake2b(f"{self.container_id}:{user_id}".encode(), digest_size=16).hexdigest()
        return "_" + digest

    def mint_web_auth_token(self, user_id: str, device: str | None = None) -> str:
        """What signing in through Apple ID yields: a web auth token binding requests to `user_id`."""
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("user_id must be a non-empty string")
        n = self._next()
        token = f"{n}__" + hashlib.blake2b(f"{n}".encode(), key=self._secret, digest_size=24).hexdigest()
        ttl = self.config.web_auth_token_ttl
        expires = None if ttl is None else self.clock.now() + ttl
        self.sessions[token] = Session(user_id, device or f"web-{n}", expires)
        return token

    def session(self, web_token: str | None) -> Session:
        if not web_token:
            raise CloudKitError("AUTHENTICATION_REQUIRED", "this request needs a signed-in user (ckWebAuthToken)",
                                redirect_url="https://idmsa.apple.com/IDMSWebAuth/signin")
        s = self.sessions.get(web_token)
        if s is None or not s.alive:
            raise CloudKitError("AUTHENTICATION_FAILED", "ckWebAuthToken is not valid")
        if s.expires_at is not None and self.clock.now() >= s.expires_at:
            raise CloudKitError("AUTHENTICATION_FAILED", "ckWebAuthToken has expired; sign in again")
        return s

    def rotate(self, web_token: str) -> str | None:
        """The successor token a response carries (None when rotation is off)."""
        mode = self.config.web_auth_token_rotation
        if mode == "off":
            return None
        old = self.sessions[web_token]
        new = self.mint_web_auth_token(old.user_id, old.device)
        if mode == "strict":
            old.alive = False
        return new

    def check_api_token(self, token: str | None) -> None:
        if token not in self.api_tokens:
            raise CloudKitError("AUTHENTICATION_FAILED", "ckAPIToken is missing or not valid for this container")

    def db(self, user_id: str, env: str = "development") -> Database:
        """The private database of `user_id` (created empty, with _defaultZone, on first use)."""
        if env not in self.config.environments:
            raise CloudKitError("BAD_REQUEST", f"unknown environment {env!r}; use development or production")
        key = (env, user_id)
        db = self.databases.get(key)
        if db is None:
            db = self.databases[key] = Database(self, self._next(), env, self.user_record_name(user_id), user_id)
        return db

    def notify(self, event: dict) -> None:
        for listener in self.commit_listeners:
            listener(event)

    def dump(self, user_id: str, env: str = "development") -> dict:
        """What the server holds for a user, as plain data: {zone: {recordName: {...}}} (live records)."""
        return self.db(user_id, env).dump()

    def users_caller(self, user_id: str) -> dict:
        return {"userRecordName": self.user_record_name(user_id)}

    # -- schema (development environment behaviour: types are fixed by first use) -------------

    def schema_problem(self, env: str, rtype: str, fields: dict) -> str | None:
        known = self.schema.get(env, {}).get(rtype, {})
        for name, (ftype, value) in fields.items():
            if value is not None and name in known and known[name] != ftype:
                return f"invalid value for field {name!r}: expected type {known[name]}, got {ftype}"
        return None

    def learn_schema(self, env: str, rtype: str, fields: dict) -> None:
        known = self.schema.setdefault(env, {}).setdefault(rtype, {})
        for name, (ftype, value) in fields.items():
            if value is not None:
                known.setdefault(name, ftype)

    # -- control operations (also served over HTTP under /_control) ---------------------------

    def inject_fault(self, kind: str, **options) -> Fault:
        """Queue a request-level fault: throttle, try_again_later, zone_busy, error, delay, drop, lose_reply."""
        fault = Fault(kind, **options)
        if fault.kind == "delay" and not hasattr(self.clock, "advance"):
            raise ValueError("a delay advances the clock, and the injected clock has no advance()")
        return self.faults.add(fault)

    def inject_record_fault(self, record: str, code: str, **options) -> RecordFault:
        """Fail one named record's operation in records/modify with `code` (per-record, inside a
        200): zone, operation, user, env, times, retry_after, reason narrow and shape it."""
        return self.record_faults.add(RecordFault(record, code, **options))

    def expire_sync_tokens(self, user_id: str | None = None, zone: str | None = None, env: str = "development") -> None:
        dbs = [self.db(user_id, env)] if user_id else list(self.databases.values())
        for db in dbs:
            db.expire_sync_tokens(zone)

    def user_delete_zone(self, user_id: str, zone: str, env: str = "development") -> None:
        self.db(user_id, env).user_delete_zone(zone)

    def mark_undeliverable(self, user_id: str, zone: str, record: str, env: str = "development",
                           reason: str = "record could not be materialised") -> None:
        self.db(user_id, env).mark_undeliverable(zone, record, reason)

    def stats(self) -> dict:
        return {"databases": len(self.databases), "sessions": len(self.sessions),
                "records": sum(db.records_count() for db in self.databases.values())}
