"""The notes app's CloudKit path: CloudKit Web Services on the private database, the profile's one
custom zone, `changes/zone` with a sync token, `records/modify` with change tags. A record's fields
are the profile's fields, plus `rev` (the write) and `trashed` (a soft delete)."""

from __future__ import annotations

import json
from typing import Any, Callable

from dualsync.apps import App, RecordType
from dualsync.clients.notes.net import Net, SyncError
from dualsync.clients.notes.store import pending

HOST = "https://api.apple-cloudkit.com"
ROUNDS = 3  # records/modify rounds per push: a conflict is merged, then the winner saved again
CK_TYPES = {"text": "STRING", "date": "STRING", "datetime": "STRING", "json": "STRING",
            "int": "INT64", "bool": "INT64", "float": "DOUBLE"}

Merge = Callable[[str, str, dict, str, dict], None]


class ICloud:
    def __init__(self, net: Net, app: App, api_token: str, environment: str = "development"):
        self.net, self.app, self.api_token = net, app, api_token
        self.base = f"{HOST}/database/1/{app.container}/{environment}/private"
        self.zone = {"zoneName": app.zone}

    async def _op(self, data: dict, op: str, body: dict) -> dict:
        if not data.get("ck_token"):
            raise SyncError("cloudkit", 401, "AUTHENTICATION_REQUIRED", "not signed in to iCloud")
        response = await self.net.request("POST", f"{self.base}/{op}", json=body,
                                          params={"ckAPIToken": self.api_token, "ckWebAuthToken": data["ck_token"]})
        data["ck_token"] = response.headers.get("x-apple-cloudkit-web-auth-token") or data["ck_token"]
        return self.net.json(response, dict)

    def _items(self, body: dict, key: str, count: int | None = None) -> list:
        items = body.get(key)
        if not isinstance(items, list) or (count is not None and len(items) != count):
            raise SyncError("cloudkit", 200, "garbage", f"the reply lacks its {key!r} list")
        return items

    async def _zone(self, data: dict) -> None:
        if data["zone_ready"]:
            return
        body = await self._op(data, "zones/modify", {"operations": [{"operationType": "create", "zone": {"zoneID": self.zone}}]})
        code = (self._items(body, "zones", 1)[0] or {}).get("serverErrorCode")
        if code not in (None, "EXISTS"):
            raise SyncError("cloudkit", 200, code, "the zone could not be created")
        data["zone_ready"] = True

    def _zone_gone(self, data: dict) -> None:
        """The zone was deleted: create it again, fetch from scratch, upload every record again."""
        data["zone_ready"], data["ck_sync_token"] = False, None
        for rows in data["records"].values():
            for rec in rows.values():
                rec["held"].pop("cloudkit", None)

    # encoding

    def _record(self, rt: RecordType, rid: str, rec: dict) -> dict:
        fields = rec["fields"] or {}
        wire = {f: {"value": _encode(kind, fields.get(f)), "type": CK_TYPES[kind]} for f, kind in rt.fields.items()}
        wire[self.app.envelope.name("marker", "cloudkit")] = {"value": rec["rev"], "type": "STRING"}
        wire[self.app.deleted] = {"value": int(rec["trashed"]), "type": "INT64"}
        out = {"recordName": rid, "recordType": rt.cloudkit_type, "fields": wire}
        tag = (rec["held"].get("cloudkit") or {}).get("tag")
        if tag:
            out["recordChangeTag"] = tag
        return {"operationType": "update" if tag else "create", "record": out}

    def _version(self, rt: RecordType, item: dict) -> dict:
        raw = {k: (v or {}).get("value") for k, v in (item.get("fields") or {}).items() if isinstance(v, dict)}
        trashed = bool(raw.get(self.app.deleted))
        return {"rev": raw.get(self.app.envelope.name("marker", "cloudkit")), "trashed": trashed,
                "fields": None if trashed else {f: _decode(kind, raw[f]) for f, kind in rt.fields.items()
                                                if raw.get(f) is not None}}

    def _take(self, item: Any, merge: Merge) -> None:
        rt = self.app.by_cloudkit_type(item.get("recordType")) if isinstance(item, dict) else None
        if rt is None or not isinstance(item.get("recordName"), str):
            raise SyncError("cloudkit", 200, "garbage", f"a record of no type this app knows: {str(item)[:80]}")
        version = self._version(rt, item)
        merge(rt.name, item["recordName"], version, "cloudkit",
              {"rev": version["rev"], "tag": item.get("recordChangeTag")})

    # pull

    async def pull(self, data: dict, merge: Merge) -> None:
        await self._zone(data)
        while True:
            ask = {"zoneID": self.zone, "resultsLimit": 200}
            if data["ck_sync_token"]:
                ask["syncToken"] = data["ck_sync_token"]
            zone = self._items(await self._op(data, "changes/zone", {"zones": [ask]}), "zones", 1)[0]
            code = zone.get("serverErrorCode") if isinstance(zone, dict) else "garbage"
            if code == "ZONE_NOT_FOUND":
                self._zone_gone(data)
                await self._zone(data)
                continue
            if code == "BAD_REQUEST" and data["ck_sync_token"]:  # the token expired: start over
                data["ck_sync_token"] = None
                continue
            if code:
                raise SyncError("cloudkit", 200, code, str(zone.get("reason")))
            for item in self._items(zone, "records"):
                if isinstance(item, dict) and item.get("deleted"):
                    self._forget(data, item.get("recordName"))  # hard-deleted elsewhere: ours goes up again
                else:
                    self._take(item, merge)
            data["ck_sync_token"] = zone.get("syncToken")
            if not zone.get("moreComing"):
                return

    def _forget(self, data: dict, name: Any) -> None:
        for rows in data["records"].values():
            if name in rows:
                rows[name]["held"].pop("cloudkit", None)

    # push

    async def push(self, data: dict, merge: Merge) -> None:
        await self._zone(data)
        refused: list[str] = []
        for _ in range(ROUNDS):
            waiting = [(rt, rid) for rt in self.app.on("cloudkit")
                       for rid, rec in sorted(data["records"].get(rt.name, {}).items())
                       if "cloudkit" in pending(rec, rt.routes)]
            if not waiting:
                return
            refused = await self._modify(data, waiting, merge)
        if refused:
            raise SyncError("cloudkit", 200, "RECORDS_REJECTED", "; ".join(refused))

    async def _modify(self, data: dict, waiting: list, merge: Merge) -> list[str]:
        ops = [self._record(rt, rid, data["records"][rt.name][rid]) for rt, rid in waiting]
        body = await self._op(data, "records/modify", {"operations": ops, "zoneID": self.zone, "atomic": False})
        conflicts, refused = [], []
        for (rt, rid), op, result in zip(waiting, ops, self._items(body, "records", len(ops))):
            rec = data["records"][rt.name][rid]
            code = result.get("serverErrorCode") if isinstance(result, dict) else "garbage"
            if code is None:
                rec["held"]["cloudkit"] = {"rev": op["record"]["fields"][self.app.envelope.name("marker", "cloudkit")]["value"],
                                           "tag": result.get("recordChangeTag")}
            elif code in ("CONFLICT", "EXISTS"):
                conflicts.append(rid)
            elif code == "NOT_FOUND":  # an update of a record deleted elsewhere: create it again
                rec["held"].pop("cloudkit", None)
            elif code == "ZONE_NOT_FOUND":
                self._zone_gone(data)
                await self._zone(data)
            elif code not in ("THROTTLED", "TRY_AGAIN_LATER", "ZONE_BUSY"):
                refused.append(f"{rt.name}/{rid}: {code}")
            else:
                await self.net.clock.sleep(float(result.get("retryAfter") or 1.0))
        if conflicts:  # somebody saved first: merge the server's record, the merge decides who wins
            body = await self._op(data, "records/lookup", {"records": [{"recordName": n} for n in conflicts],
                                                           "zoneID": self.zone})
            for item in self._items(body, "records", len(conflicts)):
                if isinstance(item, dict) and not item.get("serverErrorCode"):
                    self._take(item, merge)
        return refused


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bool":
        return int(bool(value))
    return json.dumps(value, sort_keys=True) if kind == "json" else value


def _decode(kind: str, value: Any) -> Any:
    if kind == "bool":
        return bool(value)
    return json.loads(value) if kind == "json" and isinstance(value, str) else value
