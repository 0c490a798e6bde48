"""SupabaseSyncService: GoTrue sign-in and refresh, cursor pull over PostgREST, upsert push.

Wire as documented (reference/supabase.md): `apikey` + `Authorization: Bearer` on every call,
`X-Supabase-Api-Version` on auth calls, pulls ordered by the server's `updated_at` with the id as
tie-break and paged with `limit`, pushes as `POST ... ?on_conflict=id` with
`Prefer: resolution=merge-duplicates`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx

from dualsync.clients.app import SUPABASE_TABLES
from dualsync.clients.behaviour import Behaviour
from dualsync.clients.codec import Incoming, iso_from_us, open_record, seal_record
from dualsync.clients.crypto import Keychain
from dualsync.clients.errors import (BackendError, BackendGarbage, ClientError, DecryptFailed, KeyUnavailable,
                                     NotSignedIn, SessionEnded)
from dualsync.clients.store import LocalRecord, LocalStore
from dualsync.clients.wire import Wire, error_body, retry_after_of

TABLES = SUPABASE_TABLES
REFRESH_MARGIN = 60.0  # refresh this long before the access token's expiry, by the device clock


@dataclasses.dataclass
class PullResult:
    applied: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)


def supabase_error(response: httpx.Response) -> BackendError:
    body = error_body(response)
    code = str(body.get("code") or body.get("error_code") or body.get("error") or response.status_code)
    message = str(body.get("message") or body.get("msg") or body.get("error_description") or response.text[:200])
    return BackendError("supabase", response.status_code, code, message, retry_after_of(response, body))


class SupabaseAuth:
    """The device's GoTrue session. Refreshes are single-flight: concurrent callers share one."""

    def __init__(self, wire: Wire, url: str, anon_key: str):
        self.wire, self.url, self.anon_key = wire, url.rstrip("/"), anon_key
        self.session: dict[str, Any] | None = None
        self._refreshing: asyncio.Lock = asyncio.Lock()

    @property
    def user_id(self) -> str:
        if not self.session:
            raise NotSignedIn("no Supabase session: sign in first")
        return self.session["user_id"]

    def _headers(self) -> dict[str, str]:
        return {"apikey": self.anon_key, "X-Supabase-Api-Version": "2024-01-01"}

    async def _token_call(self, path: str, body: dict) -> dict:
        response = await self.wire.send("POST", f"{self.url}/auth/v1/{path}", json=body, headers=self._headers())
        if response.status_code >= 400:
            raise supabase_error(response)
        return self.wire.json(response, dict)

    def _adopt(self, body: dict, email: str) -> None:
        try:
            self.session = {"access_token": body["access_token"], "refresh_token": body["refresh_token"],
                            "expires_at": float(body["expires_at"]), "user_id": body["user"]["id"], "email": email}
        except (KeyError, TypeError, ValueError):
            raise BackendGarbage("supabase", "GoTrue session object lacks access_token/refresh_token/expires_at/user.id", body) from None

    async def sign_up(self, email: str, password: str) -> None:
        body = await self._token_call("signup", {"email": email, "password": password})
        if "access_token" in body:
            self._adopt(body, email)
        else:  # confirmations on: the user exists, sign in for a session
            await self.sign_in(email, password)

    async def sign_in(self, email: str, password: str) -> None:
        self._adopt(await self._token_call("token?grant_type=password", {"email": email, "password": password}), email)

    async def refresh(self) -> None:
        stale = self.session
        async with self._refreshing:
            if self.session is not stale:
                return  # another caller refreshed while we waited
            if self.session is None:
                raise NotSignedIn("no Supabase session to refresh: sign in first")
            try:
                body = await self._token_call("token?grant_type=refresh_token",
                                              {"refresh_token": self.session["refresh_token"]})
            except BackendError as exc:
                if exc.status >= 500 or exc.transient:
                    raise
                raise SessionEnded(f"Supabase refused to refresh the session: {exc}") from exc
            self._adopt(body, self.session["email"])

    async def fresh_headers(self, now: float) -> dict[str, str]:
        if self.session is None:
            raise NotSignedIn("no Supabase session: sign in first")
        if now >= self.session["expires_at"] - REFRESH_MARGIN:
            await self.refresh()
        return {"apikey": self.anon_key, "Authorization": f"Bearer {self.session['access_token']}"}

    async def sign_out(self) -> None:
        if self.session is None:
            return
        headers = {**self._headers(), "Authorization": f"Bearer {self.session['access_token']}"}
        try:
            await self.wire.send("POST", f"{self.url}/auth/v1/logout?scope=local", headers=headers)
        finally:
            self.session = None


class SupabaseSyncService:
    def __init__(self, wire: Wire, auth: SupabaseAuth, keychain: Keychain, behaviour: Behaviour,
                 cursors: Any, clock: Any, page_size: int = 100):
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.wire, self.auth, self.keychain, self.behaviour = wire, auth, keychain, behaviour
        self.cursors, self.clock, self.page_size = cursors, clock, page_size

    async def _request(self, method: str, path: str, prefer: str | None = None, **kwargs: Any) -> httpx.Response:
        """A PostgREST call; a rejected JWT (401, e.g. expired by the server's clock) is refreshed
        once and the call repeated."""
        for attempt in (1, 2):
            headers = await self.auth.fresh_headers(self.clock.now())
            if prefer:
                headers["Prefer"] = prefer
            try:
                return await self.wire.send_retrying(method, f"{self.auth.url}/rest/v1/{path}", supabase_error,
                                                     headers=headers, **kwargs)
            except BackendError as exc:
                if exc.status != 401 or attempt == 2:
                    raise
                await self.auth.refresh()
        raise AssertionError("unreachable")

    # -- pull ---------------------------------------------------------------------------------

    async def pull(self, store: LocalStore, apply) -> PullResult:
        result = PullResult()
        for table in TABLES:
            await self._pull_table(store, table, apply, result)
        return result

    async def _pull_table(self, store: LocalStore, table: str, apply, result: PullResult) -> None:
        start = self.cursors.get(store, "supabase", table)
        position = _rewound(start, self.behaviour.cursor_lookback)
        keep, failures = position, []
        while True:
            rows = await self._page(table, position)
            for row in rows:
                if self._receive(store, table, row, apply, result):
                    keep = keep if failures else _cursor_of(row)
                    continue
                failures.append(row["id"])
                if self.behaviour.cursor_past_failures:
                    break  # as shipped: one throw abandons the rest of the batch, the cursor moves anyway
            position = _cursor_of(rows[-1]) if rows else position
            if len(rows) < self.page_size:
                break
        store.failed["supabase"][table] = failures
        # The remediation: never move last_pull past the oldest row that failed to decrypt.
        reached = position if self.behaviour.cursor_past_failures or not failures else keep
        self.cursors.set(store, "supabase", table, reached if failures else _latest(start, reached))

    async def _page(self, table: str, position: dict | None) -> list[dict]:
        params = {"select": "*", "order": "updated_at.asc,id.asc", "limit": str(self.page_size)}
        if position and (position["id"] is None or self.behaviour.keyset_by_time_only):
            params["updated_at"] = f'gt.{position["updated_at"]}'
        elif position:
            ts, rid = position["updated_at"], position["id"]
            params["or"] = f'(updated_at.gt."{ts}",and(updated_at.eq."{ts}",id.gt.{rid}))'
        if self.behaviour.drop_tombstones:
            params["deleted"] = "is.false"
        rows = self.wire.json(await self._request("GET", table, params=params), list)
        for row in rows:
            if not isinstance(row, dict) or not all(k in row for k in ("id", "updated_at", "payload")):
                raise BackendGarbage("supabase", f"a {table} row lacks id/updated_at/payload", row)
        return rows

    def _receive(self, store: LocalStore, table: str, row: dict, apply, result: PullResult) -> bool:
        try:
            record = open_record(self.keychain, self.auth.user_id, table, row["id"], row["payload"], row.get("key_version"))
        except ClientError:
            result.failed.append(f"{table}/{row['id']}")
            return False
        apply(store, Incoming(record, {"updated_at": row["updated_at"]}), "supabase")
        result.applied += 1
        return True

    # -- push ---------------------------------------------------------------------------------

    async def push(self, store: LocalStore) -> int:
        pushed = 0
        for table in TABLES:
            records = [r for r in store.pending("supabase") if r.record_type == table]
            if records:
                await self._push_table(store, table, records)
                pushed += len(records)
        return pushed

    async def _push_table(self, store: LocalStore, table: str, records: list[LocalRecord]) -> None:
        sent = [(r.record_id, r.write_id, list(r.rank())) for r in records]
        rows = [self._row(r) for r in records]
        if self.behaviour.rekey_on_duplicate:
            return await self._insert_rekeying(store, table, records, rows)
        if not self.behaviour.conditional_push:  # as shipped: a blind upsert, last upload wins
            await self._request("POST", f"{table}?on_conflict=id", json=rows,
                                prefer="resolution=merge-duplicates,return=minimal")
            return _mark_synced(store, table, sent)
        inserted, unread = await self._insert_new(table, rows), set(store.failed["supabase"].get(table, []))
        refused = []
        for record, shipped, row in zip(records, sent, rows):
            if shipped[0] in inserted or await self._update_if_not_newer(table, row, self._tie_to_overwrite(record)):
                _mark_synced(store, table, [shipped])
            elif shipped[0] in unread and not self.behaviour.stall_on_unreadable_row:
                refused.append((shipped, row))
        if refused:
            await self._replace_unreadable(store, table, refused)

    async def _insert_new(self, table: str, rows: list[dict]) -> set[str]:
        """Insert the rows the server lacks; returns their ids (existing rows are left alone)."""
        response = await self._request("POST", f"{table}?on_conflict=id", json=rows,
                                       prefer="resolution=ignore-duplicates,return=representation")
        return {str(row.get("id")) for row in self.wire.json(response, list) if isinstance(row, dict)}

    def _tie_to_overwrite(self, record: LocalRecord) -> str | bool | None:
        """The updated_at of the server version the last pull showed ranking below ours (None:
        no such version known); the seeded bug answers only whether it ranked below."""
        known = record.remote.get("supabase", {})
        below = known.get("rank") is not None and tuple(known["rank"]) < record.rank()
        if self.behaviour.stale_tie_overwrite:
            return below
        return known.get("updated_at") if below else None

    async def _update_if_not_newer(self, table: str, row: dict, tie: str | bool | None) -> bool:
        """Overwrite the server's row only if it holds an earlier edit, so an older pending edit
        never replaces a newer row (a blind upsert would). An edit stamped the same microsecond is
        overwritten only while the row is still the version the last pull showed ranking below
        ours (`tie`: that version's updated_at; the tie-break lives in the ciphertext): another
        device's edit of the same microsecond may have replaced it since, and rank above ours.
        False: ours stays queued; the pull brings the other and the merge settles it, and the
        round's second push then knows which one ranks last."""
        stamp, params = row["client_modified_at"], {"id": f"eq.{row['id']}"}
        if isinstance(tie, str):
            params["or"] = f'(client_modified_at.lt."{stamp}",and(client_modified_at.eq."{stamp}",updated_at.eq."{tie}"))'
        else:  # True: the seeded bug, any row of that microsecond is taken for the one pulled
            params["client_modified_at"] = f"{'lte' if tie else 'lt'}.{stamp}"
        body = {k: v for k, v in row.items() if k != "id"}
        response = await self._request("PATCH", table, params=params, json=body, prefer="return=representation")
        return len(self.wire.json(response, list)) == 1

    async def _replace_unreadable(self, store: LocalStore, table: str, refused: list[tuple[tuple, dict]]) -> None:
        """Refused uploads of records whose last pull could not open the server row. A row that
        still does not decrypt under a key this device holds (bit rot, not a key it lacks yet)
        holds nothing to merge, and no pull will ever bring what it held: left alone, its later
        client_modified_at refuses our edit forever. So the pending edit replaces it, as the
        CloudKit path replaces a bit-rotted record (cloudkit_sync._replace_unreadable). The PATCH
        names that unreadable version (its updated_at and payload): a row repaired or replaced
        since is left alone and the pull brings it. Whoever held the write that rotted still has
        it, ranks it against ours when it pulls ours, and uploads it again if it ranks later."""
        ids = ",".join(shipped[0] for shipped, _ in refused)
        response = await self._request("GET", table, params={"select": "id,payload,key_version,updated_at",
                                                             "id": f"in.({ids})"})
        server = {str(r.get("id")): r for r in self.wire.json(response, list) if isinstance(r, dict)}
        for shipped, row in refused:
            current = server.get(shipped[0])
            if current is None or not self._unreadable(table, current):
                continue
            payload = current.get("payload")
            params = {"id": f"eq.{row['id']}", "updated_at": f"eq.{current.get('updated_at')}",
                      "payload": "is.null" if payload is None else f"eq.{payload}"}
            body = {k: v for k, v in row.items() if k != "id"}
            response = await self._request("PATCH", table, params=params, json=body, prefer="return=representation")
            if len(self.wire.json(response, list)) == 1:
                _mark_synced(store, table, [shipped])

    def _unreadable(self, table: str, row: dict) -> bool:
        """Whether `row` is garbage to this device: it fails to decrypt with a key version the
        keychain holds. A key not synced here yet is no proof of rot: the row may be newer."""
        try:
            open_record(self.keychain, self.auth.user_id, table, row["id"], row.get("payload"), row.get("key_version"))
        except KeyUnavailable:
            return False
        except DecryptFailed:
            return True
        return False  # it opens now (repaired): the next pull brings it and the merge decides

    def _row(self, record: LocalRecord) -> dict[str, Any]:
        payload, version = seal_record(self.keychain, self.auth.user_id, record)
        return {"id": record.record_id, "payload": payload, "key_version": version,
                "client_modified_at": iso_from_us(record.modified_us), "deleted": record.queued_op == "delete"}

    async def _insert_rekeying(self, store, table, records, rows) -> None:
        """The seeded bug: new rows are inserted plainly, and a duplicate key is 'fixed' with a new id."""
        for record, row in zip(records, rows):
            fresh = "supabase" not in record.remote
            prefer = "return=minimal" if fresh else "resolution=merge-duplicates,return=minimal"
            try:
                await self._request("POST", table if fresh else f"{table}?on_conflict=id", json=[row], prefer=prefer)
            except BackendError as exc:
                if exc.status != 409:
                    raise
                record = store.rekey(record, str(uuid.uuid5(uuid.NAMESPACE_URL, record.write_id)))
                await self._request("POST", table, json=[self._row(record)], prefer="return=minimal")
            _mark_synced(store, table, [(record.record_id, record.write_id, list(record.rank()))])


def _cursor_of(row: dict) -> dict:
    return {"updated_at": row["updated_at"], "id": row["id"]}


def _instant(position: dict) -> datetime:
    try:
        return datetime.fromisoformat(position["updated_at"])
    except (TypeError, ValueError):
        raise BackendGarbage("supabase", "updated_at is not an ISO timestamp", position) from None


def _rewound(start: dict | None, lookback: float) -> dict | None:
    """Where a pull begins: the saved cursor, moved back `lookback` seconds of server time.

    A row's updated_at is stamped when its transaction starts, but it becomes visible only at
    commit; a transaction that commits late can land behind a cursor that already moved on. No
    PostgREST request outlives Supabase's statement timeout (8 s for `authenticated`), so re-reading
    that window (merges are idempotent) catches every late commit.
    """
    if start is None or lookback <= 0:
        return start
    return {"updated_at": (_instant(start) - timedelta(seconds=lookback)).isoformat(), "id": None}


def _latest(a: dict | None, b: dict | None) -> dict | None:
    if a is None or b is None:
        return b or a
    if b["id"] is None:
        return a
    return b if (_instant(b), b["id"]) > (_instant(a), a["id"]) else a


def _mark_synced(store: LocalStore, table: str, sent: list[tuple[str, str, list]]) -> None:
    for record_id, write_id, rank in sent:
        record = store.get(table, record_id)
        if record is not None:
            record.remote["supabase"] = {"write_id": write_id, "rank": rank}
