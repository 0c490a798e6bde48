"""The two backends of a World, and how the harness reads them without trusting any client.

Supabase is the gateway over this worker's real Postgres; CloudKit is the in-process model. Both
read the World's clock. The harness holds the users' key vault (the iCloud keychain a user's
devices share), so it can open what a backend stores and name the write each row carries: that
is how a commit and a final backend state enter the ledger.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx

from dualsync.clients.cloudkit_sync import RECORD_TYPES, TABLE_OF, ZONE
from dualsync.clients.codec import open_record
from dualsync.clients.crypto import Keychain, KeyVault
from dualsync.clients.device import DEFAULT_CONTAINER, DEFAULT_SUPABASE_URL
from dualsync.clients.errors import ClientError
from dualsync.harness.clock import VirtualClock
from dualsync.harness.history import History

TABLES = ("profiles", "daily_logs", "weekly_snapshots", "cardio_sessions", "photos")
GARBAGE = base64.b64encode(b"\x00" * 12 + b"not a sealed payload, bit rot on the server").decode()
CK_API_TOKEN = "api-token"


class Backends:
    """Gateway + CloudKit model for one World, with the harness's reading of them."""

    def __init__(self, database: Any, clock: VirtualClock, vault: KeyVault, seed: int = 0):
        from dualsync.fakes.cloudkit import CloudKit
        from dualsync.fakes.cloudkit.wire import asgi_app
        from dualsync.fakes.supabase.gateway import Gateway, GatewayConfig

        self.database, self.clock, self.vault = database, clock, vault
        utc = lambda: dt.datetime.fromtimestamp(clock.now(), tz=dt.timezone.utc)  # noqa: E731
        self.gateway = Gateway(GatewayConfig(rest_dsn=database.authenticator.dsn(),
                                             admin_dsn=database.admin.dsn()), clock=utc)
        self.cloudkit = CloudKit(DEFAULT_CONTAINER, api_token=CK_API_TOKEN, clock=clock, seed=seed)
        self.transports = {"supabase": httpx.ASGITransport(self.gateway.app),
                           "cloudkit": httpx.ASGITransport(asgi_app(self.cloudkit))}
        self.user_ids: dict[str, str] = {}  # scenario user -> Supabase user id (the key owner)
        self.decoder: Any = None  # harness.external.decoder.Decoder for an adapter that decodes

    @property
    def supabase_url(self) -> str:
        return DEFAULT_SUPABASE_URL

    @property
    def anon_key(self) -> str:
        return self.gateway.config.anon_key

    def cloudkit_sign_in(self, user: str, device: str):
        return lambda email: self.cloudkit.mint_web_auth_token(user, device)

    async def aclose(self) -> None:
        await self.gateway.aclose()

    # Reading what a backend holds.

    def open(self, user: str, record_type: str, record_id: str, payload: Any, version: Any,
             backend: str = "supabase") -> dict:
        """A stored payload as a store-shaped record, or a marker that it does not decrypt.
        With a `decoder` (an external adapter's own `decode`), through the app's codec."""
        uid = self.user_ids.get(user, user)
        if self.decoder is not None:
            return self.decoder.open(self.vault, uid, record_type, record_id, backend, payload, version)
        try:
            rec = open_record(Keychain(self.vault), uid, record_type, record_id, payload, version)
        except ClientError:
            return {"undecryptable": True}
        return {"fields": rec.fields, "deleted": rec.deleted, "write_id": rec.write_id}

    def final_state(self, users: list[str]) -> dict[str, dict]:
        out = {f"supabase:{u}": {t: {} for t in TABLES} for u in users}
        out.update({f"cloudkit:{u}": {t: {} for t in RECORD_TYPES} for u in users})
        by_uid = {uid: u for u, uid in self.user_ids.items()}
        with self.database.connect() as conn:
            for table in TABLES:
                rows = conn.execute(f"select id::text, user_id::text, payload, key_version, deleted "
                                    f"from public.{table}").fetchall()
                for rid, uid, payload, version, _deleted in rows:
                    user = by_uid.get(uid)
                    if user in users:
                        out[f"supabase:{user}"][table][rid] = self.open(user, table, rid, payload, version)
        for user in users:
            for name, rec in self._ck_records(user).items():
                table = TABLE_OF.get(rec.type)
                if table and not rec.deleted:
                    out[f"cloudkit:{user}"][table][name] = self.open(
                        user, table, name, _ck_value(rec.fields, "payload"), _ck_value(rec.fields, "keyVersion"),
                        "cloudkit")
        return out

    def _ck_records(self, user: str) -> dict:
        zone = self.cloudkit.db(user).zones.get(ZONE)
        return zone.records if zone is not None else {}

    # Things a scenario does to a backend directly.

    def corrupt(self, user: str, record_type: str, record_id: str, backend: str,
                at_rest: bool = False) -> bool:
        """The row's payload stops decrypting (the row is still there). By default the damage comes
        in as a write (a broken client or migration): the server stamps the row anew, so it sorts
        after every row and reaches each device's next pull. `at_rest` is bit rot in storage: no
        write happened, so the row keeps its place (updated_at, change tag) and only a device
        whose cursor is still before it meets it."""
        if backend == "supabase":
            now = dt.datetime.fromtimestamp(self.clock.now(), tz=dt.timezone.utc).isoformat()
            with self.database.connect() as conn, conn.transaction():
                # The row's updated_at is stamped by trigger from the server clock (the World's);
                # at rest, the clock is pinned to the row's own stamp, which the trigger then keeps.
                if at_rest:
                    conn.execute("select set_config('dualsync.now', (select updated_at::text from "
                                 f"public.{record_type} where id = %s), true)", (record_id,))
                else:
                    conn.execute("select set_config('dualsync.now', %s, true)", (now,))
                cur = conn.execute(f"update public.{record_type} set payload = %s where id = %s",
                                   (GARBAGE, record_id))
                return cur.rowcount > 0
        zone = self.cloudkit.db(user).zones.get(ZONE)
        rec = zone.records.get(record_id) if zone else None
        if rec is None:
            return False
        rec.fields["payload"] = ("BYTES", GARBAGE)
        if not at_rest:
            zone.changed(rec)
        return True

    def delete_zone(self, user: str) -> None:
        self.cloudkit.user_delete_zone(user, ZONE)


def _ck_value(fields: dict, name: str) -> Any:
    value = fields.get(name)
    return value[1] if isinstance(value, tuple) else (value or {}).get("value") if isinstance(value, dict) else value


class CommitRecorder:
    """A Conductor observer: every write a backend acknowledged becomes a `commit` event.

    For Supabase it reads the rows the reply says were written when the client asked for
    `return=representation` (an ignore-duplicates insert or a filtered PATCH may write fewer rows
    than it sent, or none), else the request's rows (`return=minimal` answers with no body). For
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
        table = request.url.path.rsplit("/", 1)[-1]
        represented = "return=representation" in request.headers.get("prefer", "")
        if request.method == "PATCH" and not represented:
            return  # which rows a minimal PATCH hit is not observable; no client here sends one
        rows = _json(reply.content if represented else request.content)
        for row in rows if isinstance(rows, list) else [rows]:
            if isinstance(row, dict) and table in TABLES and "payload" in row:
                self._commit("supabase", user, table, str(row.get("id")), row.get("payload"),
                             row.get("key_version"))

    def _cloudkit(self, user: str, request: httpx.Request, reply: httpx.Response) -> None:
        ops = (_json(request.content) or {}).get("operations", [])
        results = (_json(reply.content) or {}).get("records", [])
        for op, result in zip(ops, results):
            record = op.get("record", {}) if isinstance(op, dict) else {}
            table = TABLE_OF.get(record.get("recordType"))
            if table is None or not isinstance(result, dict) or "serverErrorCode" in result:
                continue
            fields = record.get("fields", {})
            self._commit("cloudkit", user, table, str(record.get("recordName")),
                         (fields.get("payload") or {}).get("value"),
                         (fields.get("keyVersion") or {}).get("value"))

    def _commit(self, backend, user, table, record_id, payload, version) -> None:
        opened = self.backends.open(user, table, record_id, payload, version, backend)
        self.history.commit(backend, user, table, record_id, time=self.backends.clock.now(),
                            write_id=opened.get("write_id"), deleted=bool(opened.get("deleted")),
                            decryptable=not opened.get("undecryptable"),
                            key_version=version if isinstance(version, int) else None)


def _json(content: bytes) -> Any:
    try:
        return json.loads(content or b"null")
    except ValueError:
        return None
