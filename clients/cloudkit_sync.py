"""CloudKitSyncService: the private database over CloudKit Web Services.

Wire as documented (reference/cloudkit.md): `POST {base}/database/1/{container}/{env}/private/{op}`
with `ckAPIToken` and `ckWebAuthToken` in the query (the web auth token rotates through the
`X-Apple-CloudKit-Web-Auth-Token` response header), one custom zone, `changes/zone` with a sync
token paged by `moreComing`, `records/modify` with change tags, per-record errors inside a 200.
"""

from __future__ import annotations

from typing import Any

import httpx

from dualsync.clients.api import ROUTES
from dualsync.clients.behaviour import Behaviour
from dualsync.clients.codec import Incoming, open_record, seal_record
from dualsync.clients.crypto import Keychain
from dualsync.clients.errors import BackendError, BackendGarbage, ClientError, DecryptFailed, KeyUnavailable
from dualsync.clients.merge import forget_remote
from dualsync.clients.store import LocalRecord, LocalStore
from dualsync.clients.wire import Wire, error_body, retry_after_of

HOST = "https://api.apple-cloudkit.com"
ZONE = "FitMeZone"
RECORD_TYPES = {"daily_logs": "DailyLog", "weekly_snapshots": "WeeklySnapshot",
                "cardio_sessions": "CardioSession", "photos": "Photo"}
TABLE_OF = {v: k for k, v in RECORD_TYPES.items()}
assert set(RECORD_TYPES) == {t for t, p in ROUTES.items() if "cloudkit" in p}
MAX_OPS = 200
PUSH_ROUNDS = 3


def cloudkit_error(response: httpx.Response) -> BackendError:
    body = error_body(response)
    return BackendError("cloudkit", response.status_code, str(body.get("serverErrorCode", response.status_code)),
                        str(body.get("reason", response.text[:200])), retry_after_of(response, body))


class CloudKitSyncService:
    def __init__(self, wire: Wire, keychain: Keychain, behaviour: Behaviour, cursors: Any, clock: Any,
                 container: str, environment: str, api_token: str, user_id, results_limit: int = 200):
        self.wire, self.keychain, self.behaviour, self.cursors, self.clock = wire, keychain, behaviour, cursors, clock
        self.base = f"{HOST}/database/1/{container}/{environment}/private"
        self.api_token = api_token
        self.web_auth_token: str | None = None
        self.user_id = user_id          # callable: the signed-in user, whose keys seal the payloads
        self.results_limit = results_limit
        self.expired_token_code = "BAD_REQUEST"

    # -- transport ----------------------------------------------------------------------------

    async def _op(self, op: str, body: dict) -> dict:
        if not self.web_auth_token:
            raise ClientError("CloudKit: no web auth token; the device is not signed in to iCloud")
        params = {"ckAPIToken": self.api_token, "ckWebAuthToken": self.web_auth_token}
        response = await self.wire.send_retrying("POST", f"{self.base}/{op}", cloudkit_error, params=params, json=body)
        rotated = response.headers.get("x-apple-cloudkit-web-auth-token")
        if rotated:
            self.web_auth_token = rotated
        return self.wire.json(response, dict)

    def _list(self, body: dict, key: str, expected: int | None = None) -> list:
        items = body.get(key)
        if not isinstance(items, list) or (expected is not None and len(items) != expected):
            raise BackendGarbage("cloudkit", f"expected {expected if expected is not None else 'a list of'} "
                                 f"'{key}' entries", body)
        return items

    # -- zone ---------------------------------------------------------------------------------

    async def ensure_zone(self, store: LocalStore) -> None:
        if self.cursors.get(store, "cloudkit", "zone_ready"):
            return
        body = await self._op("zones/modify", {"operations": [{"operationType": "create", "zone": {"zoneID": {"zoneName": ZONE}}}]})
        result = self._list(body, "zones", 1)[0]
        if isinstance(result, dict) and result.get("serverErrorCode") not in (None, "EXISTS"):
            raise BackendError("cloudkit", 200, result["serverErrorCode"], str(result.get("reason")))
        self.cursors.set(store, "cloudkit", "zone_ready", True)

    def _zone_lost(self, store: LocalStore) -> None:
        """The zone is gone (deleted or reset): recreate it and re-upload everything."""
        self.cursors.set(store, "cloudkit", "zone_ready", False)
        self.cursors.set(store, "cloudkit", "sync_token", None)
        for table in RECORD_TYPES:
            for record in store.records[table].values():
                forget_remote(record, "cloudkit")

    # -- pull ---------------------------------------------------------------------------------

    async def pull(self, store: LocalStore, apply) -> list[str]:
        await self.ensure_zone(store)
        await self._retry_failed(store, apply)
        token = self.cursors.get(store, "cloudkit", "sync_token")
        listed: set | None = set() if token is None else None  # names a fetch from nil lists
        while True:
            zone = await self._fetch_zone_changes(store, token)
            if zone is None:  # token expired: start over from nothing
                token = await self._after_expiry(store)
                listed = set() if token is None else None
                continue
            for item in self._list(zone, "records"):
                self._receive(store, item, apply)
                if listed is not None and isinstance(item, dict):
                    listed.add(item.get("recordName"))
            token = zone.get("syncToken")
            self.cursors.set(store, "cloudkit", "sync_token", token)
            if listed is not None and not zone.get("moreComing") and not self.behaviour.unlisted_kept:
                self._forget_unlisted(store, listed)
            if not zone.get("moreComing") or self.behaviour.ignore_more_coming:
                return [n for names in store.failed["cloudkit"].values() for n in names]

    def _forget_unlisted(self, store: LocalStore, listed: set) -> None:
        """A fetch from nil lists the whole zone. A record we believe the zone holds but that it
        did not list is gone (the zone was deleted and another device re-created it: our token
        expired instead of meeting ZONE_NOT_FOUND), so it is queued to be uploaded again."""
        for table in RECORD_TYPES:
            for record in store.records[table].values():
                if "cloudkit" in record.remote and record.record_id not in listed:
                    forget_remote(record, "cloudkit")

    async def _fetch_zone_changes(self, store: LocalStore, token: str | None) -> dict | None:
        request = {"zoneID": {"zoneName": ZONE}, "resultsLimit": self.results_limit}
        if token:
            request["syncToken"] = token
        zone = self._list(await self._op("changes/zone", {"zones": [request]}), "zones", 1)[0]
        if not isinstance(zone, dict):
            raise BackendGarbage("cloudkit", "a changes/zone entry is not an object", zone)
        code = zone.get("serverErrorCode")
        if code == "ZONE_NOT_FOUND":
            self._zone_lost(store)
            await self.ensure_zone(store)
            return {"records": [], "syncToken": None, "moreComing": True}
        if code == self.expired_token_code and token:
            return None
        if code:
            raise BackendError("cloudkit", 200, code, str(zone.get("reason")), zone.get("retryAfter"))
        return zone

    async def _after_expiry(self, store: LocalStore) -> str | None:
        if not self.behaviour.skip_on_expired_token:
            return None
        # The seeded bug: "recover" by jumping to the zone's current token, skipping the gap.
        body = await self._op("zones/lookup", {"zones": [{"zoneName": ZONE}]})
        return self._list(body, "zones", 1)[0].get("syncToken")

    def _receive(self, store: LocalStore, item: Any, apply) -> None:
        if not isinstance(item, dict) or not isinstance(item.get("recordName"), str):
            raise BackendGarbage("cloudkit", "a change-feed entry lacks recordName", item)
        if item.get("serverErrorCode"):
            self._remember_failure(store, item.get("recordType"), item["recordName"])
        elif item.get("deleted"):
            self._tombstone(store, item["recordName"])
        else:
            self._live(store, item, apply)

    def _live(self, store: LocalStore, item: dict, apply) -> ClientError | None:
        """Merge one server record; the error if it does not open (it is then retried by lookup)."""
        table = TABLE_OF.get(item.get("recordType"))
        if table is None:
            raise BackendGarbage("cloudkit", f"unknown recordType {item.get('recordType')!r}", item)
        fields = item.get("fields") or {}
        try:
            record = open_record(self.keychain, self.user_id(), table, item["recordName"],
                                 _value(fields, "payload"), _value(fields, "keyVersion"))
        except ClientError as exc:
            self._remember_failure(store, table, item["recordName"])
            return exc
        self._forget_failure(store, table, item["recordName"])
        apply(store, Incoming(record, _meta(item)), "cloudkit")
        return None

    def _tombstone(self, store: LocalStore, name: str) -> None:
        """A hard delete made elsewhere (our clients delete softly): the record is gone from the
        zone, so our copy must be re-created there if we still hold it."""
        if self.behaviour.drop_tombstones:
            return
        for table in RECORD_TYPES:
            record = store.records[table].get(name)
            if record is not None:
                forget_remote(record, "cloudkit")

    def _remember_failure(self, store: LocalStore, table: Any, name: str) -> None:
        names = store.failed["cloudkit"].setdefault(str(table), [])
        if name not in names:
            names.append(name)

    def _forget_failure(self, store: LocalStore, table: str, name: str) -> None:
        names = store.failed["cloudkit"].get(table, [])
        if name in names:
            names.remove(name)

    async def _retry_failed(self, store: LocalStore, apply) -> None:
        """Records that failed to decrypt earlier: the token moved past them, so look them up."""
        names = [n for ns in store.failed["cloudkit"].values() for n in ns]
        if not names:
            return
        body = await self._op("records/lookup", {"records": [{"recordName": n} for n in names], "zoneID": {"zoneName": ZONE}})
        for item in self._list(body, "records", len(names)):
            if isinstance(item, dict) and item.get("serverErrorCode") == "NOT_FOUND":
                for ns in store.failed["cloudkit"].values():
                    if item.get("recordName") in ns:
                        ns.remove(item["recordName"])
            elif isinstance(item, dict) and not item.get("serverErrorCode"):
                self._live(store, item, apply)

    # -- push ---------------------------------------------------------------------------------

    async def push(self, store: LocalStore, apply) -> int:
        await self.ensure_zone(store)
        pushed = 0
        for _ in range(PUSH_ROUNDS):
            pending = [r for r in store.pending("cloudkit")][:MAX_OPS]
            if not pending:
                break
            try:
                pushed += await self._modify(store, pending, apply)
            except BackendError as exc:
                if exc.code != "ZONE_NOT_FOUND":
                    raise
                self._zone_lost(store)  # deleted in Settings: re-create it, upload everything again
                await self.ensure_zone(store)
        return pushed

    async def _modify(self, store: LocalStore, records: list[LocalRecord], apply) -> int:
        sent = [(r.record_type, r.record_id, r.write_id) for r in records]
        body = {"operations": [self._operation(r) for r in records], "zoneID": {"zoneName": ZONE}, "atomic": False}
        results = self._list(await self._op("records/modify", body), "records", len(records))
        conflicted, rejected, saved = [], [], 0
        for (table, name, write_id), result in zip(sent, results):
            if not isinstance(result, dict):
                raise BackendGarbage("cloudkit", "a records/modify result is not an object", result)
            code = result.get("serverErrorCode")
            if code is None or self.behaviour.ignore_item_errors:
                saved += self._saved(store, table, name, write_id, result)
            elif code in ("CONFLICT", "EXISTS"):
                conflicted.append(name)
            elif not await self._recoverable(store, table, name, write_id, result):
                rejected.append(f"{table}/{name}: {code} {result.get('reason')}")
        if conflicted:
            await self._merge_server_records(store, conflicted, apply)
        if rejected:  # they stay queued; the others of the batch are saved
            raise BackendError("cloudkit", 200, "RECORDS_REJECTED", "; ".join(rejected))
        return saved

    def _operation(self, record: LocalRecord) -> dict:
        payload, version = seal_record(self.keychain, self.user_id(), record)
        fields = {"payload": {"value": payload, "type": "BYTES"}, "keyVersion": {"value": version, "type": "INT64"},
                  "clientModifiedAt": {"value": record.modified_us // 1000, "type": "TIMESTAMP"},
                  "deleted": {"value": int(record.queued_op == "delete"), "type": "INT64"}}
        wire = {"recordName": record.record_id, "recordType": RECORD_TYPES[record.record_type], "fields": fields}
        tag = record.remote.get("cloudkit", {}).get("change_tag")
        if self.behaviour.ck_save_op == "forceUpdate":
            return {"operationType": "forceUpdate", "record": wire}
        if tag:
            wire["recordChangeTag"] = tag
        return {"operationType": "update" if tag else "create", "record": wire}

    def _saved(self, store: LocalStore, table: str, name: str, write_id: str, result: dict) -> int:
        record = store.get(table, name)
        if record is not None:
            record.remote["cloudkit"] = {"write_id": write_id, "change_tag": result.get("recordChangeTag"),
                                         "modified": (result.get("modified") or {}).get("timestamp")}
        return 1

    async def _recoverable(self, store: LocalStore, table: str, name: str, write_id: str, result: dict) -> bool:
        """Handle a per-record error the next push round can get past; False for the rest."""
        code = result["serverErrorCode"]
        if code == "NOT_FOUND":  # updated a record deleted elsewhere: create it again
            forget_remote(store.get(table, name), "cloudkit")
        elif code == "ZONE_NOT_FOUND":
            self._zone_lost(store)
            await self.ensure_zone(store)
        elif code in ("THROTTLED", "TRY_AGAIN_LATER", "ZONE_BUSY"):
            if self.behaviour.transient_item_error_drops:
                self._saved(store, table, name, write_id, {})
            else:
                await self.clock.sleep(float(result.get("retryAfter") or 1.0))
        else:
            return False
        return True

    async def _merge_server_records(self, store: LocalStore, names: list[str], apply) -> None:
        """A change-tag conflict: fetch the server record, merge it (the store now knows its tag),
        and whatever still wins locally goes out again as an update of that server record."""
        body = await self._op("records/lookup", {"records": [{"recordName": n} for n in names], "zoneID": {"zoneName": ZONE}})
        for item in self._list(body, "records", len(names)):
            if isinstance(item, dict) and not item.get("serverErrorCode"):
                if self.behaviour.ck_conflict_overwrites:
                    self._replace_unreadable(store, item)  # the seeded bug: ours wins, unread
                    continue
                failure = self._live(store, item, apply)
                unreadable = (DecryptFailed, KeyUnavailable) if self.behaviour.missing_key_taken_for_rot \
                    else DecryptFailed
                if isinstance(failure, unreadable) and not self.behaviour.stall_on_unreadable_conflict:
                    self._replace_unreadable(store, item)

    def _replace_unreadable(self, store: LocalStore, item: dict) -> None:
        """The server record is garbage under a key this device holds (bit rot, not a key it
        lacks): there is nothing in it to merge, so our pending write replaces it. Taking its change
        tag makes the next save an update of that record; without it every save conflicts again
        and the upload never drains. Whoever held the write it replaced still has it and ranks
        it against ours when it pulls."""
        record = store.get(TABLE_OF[item["recordType"]], item["recordName"])  # _live checked it
        if record is not None and "cloudkit" in record.pending_paths():
            record.remote["cloudkit"] = {"write_id": None, **_meta(item)}


def _meta(item: dict) -> dict:
    return {"change_tag": item.get("recordChangeTag"), "modified": (item.get("modified") or {}).get("timestamp")}


def _value(fields: dict, name: str) -> Any:
    entry = fields.get(name)
    return entry.get("value") if isinstance(entry, dict) else None
