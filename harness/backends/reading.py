"""The two backends of a World, and how the harness reads them without trusting any client.

Supabase is an adapter (`supabase.py`: the in-process gateway over this worker's Postgres on the
World's clock, or a remote Supabase by URL and DSN); CloudKit is the in-process model on the
World's clock. What a backend stores is read through the app profile: plaintext columns
and fields directly, a sealed payload through the users' cloud keychain the client suite offers
(the device port's `Keys`), so the harness names the write each row carries without any client's
codec: that is how a commit and a final backend state enter the ledger.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx

from dualsync.apps import App
from dualsync.clients.api import Keys, Opened
from dualsync.harness.backends.capabilities import DAMAGE, VIRTUAL_SERVER_TIME
from dualsync.harness.backends.supabase import InProcessSupabase, RemoteSupabase, SupabaseTarget
from dualsync.harness.clock import VirtualClock
from dualsync.harness.history import History

GARBAGE = base64.b64encode(b"\x00" * 12 + b"not a sealed payload, bit rot on the server").decode()
CK_API_TOKEN = "api-token"
CLOUDKIT_URL = "https://api.apple-cloudkit.com"  # the in-process model's name on the devices' transport
CLOUDKIT_CAPABILITIES = (VIRTUAL_SERVER_TIME, DAMAGE)  # the in-process model on the World's clock



def capabilities_of(supabase: SupabaseTarget | None) -> dict[str, frozenset[str]]:
    """What each backend of a World can do: Supabase in process (None) or remote, and the
    in-process CloudKit model."""
    adapter = RemoteSupabase if supabase else InProcessSupabase
    return {"supabase": adapter.capabilities, "cloudkit": frozenset(CLOUDKIT_CAPABILITIES)}

class Backends:
    """Supabase adapter + CloudKit model for one World, with the harness's reading of them."""

    def __init__(self, database: Any, clock: VirtualClock, keys: Keys, app: App, seed: int = 0,
                 supabase: SupabaseTarget | None = None):
        from dualsync.fakes.cloudkit import CloudKit
        from dualsync.fakes.cloudkit.wire import asgi_app

        self.database, self.clock, self.keys, self.app = database, clock, keys, app
        self.supabase = RemoteSupabase(supabase) if supabase else InProcessSupabase(database, clock)
        self.cloudkit = CloudKit(app.container, api_token=CK_API_TOKEN, clock=clock, seed=seed)
        self.transports = {"supabase": self.supabase.transport,
                           "cloudkit": httpx.ASGITransport(asgi_app(self.cloudkit))}
        self.urls = {"supabase": self.supabase.url, "cloudkit": CLOUDKIT_URL}
        self.capabilities = capabilities_of(supabase)
        self.user_ids: dict[str, str] = {}  # scenario user -> Supabase user id (the key owner)
        self.decoder: Any = None  # harness.external.decoder.Decoder for an adapter that decodes

    @property
    def supabase_url(self) -> str:
        return self.supabase.url

    @property
    def anon_key(self) -> str:
        return self.supabase.anon_key

    def cloudkit_sign_in(self, user: str, device: str):
        return lambda email: self.cloudkit.mint_web_auth_token(user, device)

    async def aclose(self) -> None:
        await self.supabase.aclose()

    # Reading what a backend holds.

    def open(self, backend: str, user: str, record_type: str, record_id: str, stored: dict) -> dict:
        """A stored row or record (its columns or fields by name) as a store-shaped record, or a
        marker that it does not open."""
        env = self.app.envelope
        if env.kind == "sealed":
            uid = self.user_ids.get(user, user)
            if self.decoder is not None:  # an external adapter's own `decode`: the app's codec
                return self.decoder.open(self.keys, uid, record_type, record_id, backend, stored)
            opened = self.keys.decode(uid, record_type, record_id, stored.get(env.name("payload", backend)),
                                      stored.get(env.name("key_version", backend)))
        else:
            rt = self.app.type_named(record_type)
            deleted = bool(stored.get(self.app.deleted))
            opened = Opened(write_id=stored.get(env.name("marker", backend)), deleted=deleted,
                            fields=None if deleted else {f: _plain(kind, stored[f]) for f, kind in rt.fields.items()
                                                         if stored.get(f) is not None})
        if opened.undecryptable:
            return {"undecryptable": True}
        return {"fields": opened.fields, "deleted": opened.deleted, "write_id": opened.write_id}

    def final_state(self, users: list[str]) -> dict[str, dict]:
        out = {f"{b}:{u}": {t.name: {} for t in self.app.on(b)} for b in ("supabase", "cloudkit")
               for u in users}
        by_uid = {uid: u for u, uid in self.user_ids.items()}
        owner, tie = self.app.owner, self.app.cursor[1]
        with self.supabase.connect() as conn:
            for rt in self.app.on("supabase"):
                cur = conn.execute(f"select *, {tie}::text as _id, {owner}::text as _owner from public.{rt.table}")
                names = [c.name for c in cur.description]
                for values in cur.fetchall():
                    row = dict(zip(names, values))
                    user = by_uid.get(row["_owner"])
                    if user in users:
                        out[f"supabase:{user}"][rt.name][row["_id"]] = self.open("supabase", user, rt.name, row["_id"], row)
        for user in users:
            for name, rec in self._ck_records(user).items():
                rt = self.app.by_cloudkit_type(rec.type)
                if rt and not rec.deleted:
                    fields = {k: _ck_value(rec.fields, k) for k in rec.fields}
                    out[f"cloudkit:{user}"][rt.name][name] = self.open("cloudkit", user, rt.name, name, fields)
        return out

    def _ck_records(self, user: str) -> dict:
        zone = self.cloudkit.db(user).zones.get(self.app.zone)
        return zone.records if zone is not None else {}

    # Things a scenario does to a backend directly.

    def corrupt(self, user: str, record_type: str, record_id: str, backend: str,
                at_rest: bool = False) -> bool:
        """The row's payload stops decrypting (the row is still there). By default the damage comes
        in as a write (a broken client or migration): the server stamps the row anew, so it sorts
        after every row and reaches each device's next pull. `at_rest` is bit rot in storage: no
        write happened, so the row keeps its place (updated_at, change tag) and only a device
        whose cursor is still before it meets it. Only a sealed envelope can fail to open."""
        if self.app.envelope.kind != "sealed":
            raise NotImplementedError(f"app {self.app.name!r} stores plaintext: nothing there can fail to decrypt")
        rt, time_col, tie = self.app.type_named(record_type), *self.app.cursor
        if backend == "supabase":
            now = dt.datetime.fromtimestamp(self.clock.now(), tz=dt.timezone.utc).isoformat()
            with self.supabase.connect() as conn, conn.transaction():
                # The row's updated_at is stamped by trigger from the server clock (the World's);
                # at rest, the clock is pinned to the row's own stamp, which the trigger then keeps.
                if at_rest:
                    conn.execute(f"select set_config('dualsync.now', (select {time_col}::text from "
                                 f"public.{rt.table} where {tie} = %s), true)", (record_id,))
                else:
                    conn.execute("select set_config('dualsync.now', %s, true)", (now,))
                cur = conn.execute(f"update public.{rt.table} set {self.app.envelope.payload} = %s where {tie} = %s",
                                   (GARBAGE, record_id))
                return cur.rowcount > 0
        zone = self.cloudkit.db(user).zones.get(self.app.zone)
        rec = zone.records.get(record_id) if zone else None
        if rec is None:
            return False
        rec.fields[self.app.envelope.name("payload", "cloudkit")] = ("BYTES", GARBAGE)
        if not at_rest:
            zone.changed(rec)
        return True

    def delete_zone(self, user: str) -> None:
        self.cloudkit.user_delete_zone(user, self.app.zone)


def _plain(kind: str, value: Any) -> Any:
    """A plaintext column or field as its value reads on the wire: a null column is an absent field
    (above), a CloudKit INT64 of a bool field a bool, a timestamp read from Postgres ISO text."""
    if kind == "bool" and isinstance(value, int):
        return bool(value)
    if kind in ("date", "datetime") and hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _ck_value(fields: dict, name: str) -> Any:
    value = fields.get(name)
    return value[1] if isinstance(value, tuple) else (value or {}).get("value") if isinstance(value, dict) else value


class CommitRecorder:
    """A Conductor observer: every write a backend acknowledged becomes a `commit` event.

    For Supabase it reads the rows the reply says were written when the client asked for
    `return=representation` (an ignore-duplicates insert or a filtered PATCH may write fewer rows
    than it sent, or none), else the request's rows (`return=minimal` answers with no body); a reply
    whose Preference-Applied says `tx=rollback` wrote nothing. For
    CloudKit it pairs each operation with its per-record result, since a 200 can carry per-record
    errors."""

    def __init__(self, backends: Backends, history: History, device_user: dict[str, str]):
        self.backends, self.history, self.device_user = backends, history, device_user

    def __call__(self, device: str, backend: str, request: httpx.Request, reply: httpx.Response):
        if request.method not in ("POST", "PATCH") or reply.status_code >= 300:
            return
        user = self.device_user[device]
        if backend == "supabase" and "/rest/v1/" in request.url.path:
            self._supabase(user, request, reply)
        elif backend == "cloudkit" and request.url.path.endswith("/records/modify"):
            self._cloudkit(user, request, reply)

    def _supabase(self, user: str, request: httpx.Request, reply: httpx.Response) -> None:
        if "tx=rollback" in reply.headers.get("preference-applied", ""):
            return  # PostgREST ran the write and rolled it back (db-tx-end allows the override)
        rt = self.backends.app.by_table(request.url.path.rsplit("/", 1)[-1])
        represented = "return=representation" in request.headers.get("prefer", "")
        if request.method == "PATCH" and not represented:
            return  # which rows a minimal PATCH hit is not observable; no client here sends one
        rows = _json(reply.content if represented else request.content)
        tie = self.backends.app.cursor[1]
        for row in rows if isinstance(rows, list) else [rows]:
            if rt is not None and isinstance(row, dict) and tie in row:
                self._commit("supabase", user, rt.name, str(row.get(tie)), row)

    def _cloudkit(self, user: str, request: httpx.Request, reply: httpx.Response) -> None:
        ops = (_json(request.content) or {}).get("operations", [])
        results = (_json(reply.content) or {}).get("records", [])
        for op, result in zip(ops, results):
            record = op.get("record", {}) if isinstance(op, dict) else {}
            rt = self.backends.app.by_cloudkit_type(record.get("recordType"))
            if rt is None or not isinstance(result, dict) or "serverErrorCode" in result:
                continue
            fields = {k: _ck_value(record.get("fields", {}), k) for k in record.get("fields", {})}
            self._commit("cloudkit", user, rt.name, str(record.get("recordName")), fields)

    def _commit(self, backend, user, record_type, record_id, stored: dict) -> None:
        opened = self.backends.open(backend, user, record_type, record_id, stored)
        version = stored.get(self.backends.app.envelope.name("key_version", backend))
        self.history.commit(backend, user, record_type, record_id, time=self.backends.clock.now(),
                            write_id=opened.get("write_id"), deleted=bool(opened.get("deleted")),
                            decryptable=not opened.get("undecryptable"),
                            key_version=version if isinstance(version, int) else None)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content or b"null")
    except ValueError:
        return None
