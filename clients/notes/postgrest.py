"""The notes app's Supabase path: one table per record type, plaintext columns, pulled by keyset
over (server time, id) and pushed as insert-if-absent, then an update conditional on the rev the
device last saw on the server (so an upload never replaces a row it has not seen)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from dualsync.apps import App, RecordType
from dualsync.clients.notes.net import Net, Session, SyncError
from dualsync.clients.notes.store import pending

PAGE = 100
LOOKBACK = 10.0  # seconds of server time each pull re-reads behind its cursor, for late commits

Merge = Callable[[str, str, dict, str, dict], None]  # (type, id, version, backend, what it holds)


class Postgrest:
    def __init__(self, net: Net, session: Session, app: App):
        self.net, self.session, self.app = net, session, app
        self.time_col, self.id_col = app.cursor

    async def _call(self, method: str, table: str, *, prefer: str | None = None, **kwargs: Any):
        """A REST call; a token the server refused (401) is refreshed once and the call repeated."""
        for refresh in (False, True):
            headers = await self.session.headers(refresh=refresh)
            if prefer:
                headers["Prefer"] = prefer
            try:
                return await self.net.request(method, f"{self.session.url}/rest/v1/{table}",
                                              headers=headers, **kwargs)
            except SyncError as exc:
                if exc.status != 401 or refresh:
                    raise
        raise AssertionError("unreachable")

    # push

    async def push(self, data: dict) -> None:
        for rt in self.app.on("supabase"):
            rows = data["records"].get(rt.name, {})
            waiting = [rid for rid, rec in sorted(rows.items()) if "supabase" in pending(rec, rt.routes)]
            if waiting:
                await self._push(rt, rows, waiting)

    def _row(self, rt: RecordType, rid: str, rec: dict) -> dict:
        fields = rec["fields"] or {}
        return {self.id_col: rid, self.app.envelope.marker: rec["rev"], self.app.deleted: rec["trashed"],
                **{f: fields.get(f) for f in rt.fields}}

    async def _push(self, rt: RecordType, rows: dict, waiting: list[str]) -> None:
        body = [self._row(rt, rid, rows[rid]) for rid in waiting]
        response = await self._call("POST", rt.table, params={"on_conflict": self.id_col}, json=body,
                                    prefer="resolution=ignore-duplicates,return=representation")
        inserted = {str(r.get(self.id_col)) for r in self.net.json(response, list) if isinstance(r, dict)}
        for rid, row in zip(waiting, body):
            rec = rows[rid]
            if rid in inserted:
                rec["held"]["supabase"] = {"rev": rec["rev"]}
                continue
            seen = (rec["held"].get("supabase") or {}).get("rev")
            if seen is None:
                continue  # a row we have never pulled: the pull brings it, the merge decides
            changes = {k: v for k, v in row.items() if k != self.id_col}
            response = await self._call("PATCH", rt.table, json=changes, prefer="return=representation",
                                        params={self.id_col: f"eq.{rid}",
                                                self.app.envelope.marker: f"eq.{seen}"})
            if len(self.net.json(response, list)) == 1:
                rec["held"]["supabase"] = {"rev": rec["rev"]}
            # else the row changed since we saw it: it stays pending, the pull brings the change

    # pull

    async def pull(self, data: dict, merge: Merge) -> None:
        for rt in self.app.on("supabase"):
            await self._pull(data, rt, merge)

    async def _pull(self, data: dict, rt: RecordType, merge: Merge) -> None:
        saved = data["cursors"].get(rt.table)
        position = None if saved is None else {"at": _earlier(saved["at"], LOOKBACK), "id": None}
        reached = saved
        while True:
            rows = self.net.json(await self._call("GET", rt.table, params=self._page(position)), list)
            for row in rows:
                if not isinstance(row, dict) or self.id_col not in row or self.time_col not in row:
                                raise SyncError("supabase", 200, "garbage", f"a {rt.table} row lacks {self.id_col}/{self.time_col}")
                rid, trashed = str(row[self.id_col]), bool(row.get(self.app.deleted))
                version = {"rev": row.get(self.app.envelope.marker), "trashed": trashed,
                           "fields": None if trashed else {f: row.get(f) for f in rt.fields if row.get(f) is not None}}
                merge(rt.name, rid, version, "supabase", {"rev": version["rev"]})
                here = {"at": row[self.time_col], "id": rid}
                reached = here if reached is None or _key(here) > _key(reached) else reached
            if len(rows) < PAGE:
                break
            position = {"at": rows[-1][self.time_col], "id": str(rows[-1][self.id_col])}
        if reached is not None:
            data["cursors"][rt.table] = reached

    def _page(self, position: dict | None) -> dict:
        t, i = self.time_col, self.id_col
        params = {"select": "*", "order": f"{t}.asc,{i}.asc", "limit": str(PAGE)}
        if position and position["id"] is None:
            params[t] = f"gt.{position['at']}"
        elif position:
            params["or"] = f'({t}.gt."{position["at"]}",and({t}.eq."{position["at"]}",{i}.gt."{position["id"]}"))'
        return params


def _earlier(at: str, seconds: float) -> str:
    return (datetime.fromisoformat(at) - timedelta(seconds=seconds)).isoformat()


def _key(position: dict) -> tuple:
    return (datetime.fromisoformat(position["at"]), position["id"])
