"""One install of the notes app: the device port (clients/api.py `DeviceClient`) over its store and
its two sync paths. The two variants differ only in `merge`: what a pulled version does to a
local record whose edit is still waiting to be uploaded."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import httpx

from dualsync import apps
from dualsync.clients.api import DeviceError, Hooks, ResolutionPolicy
from dualsync.clients.notes.icloud import ICloud
from dualsync.clients.notes.net import Net, Session, SyncError
from dualsync.clients.notes.postgrest import Postgrest
from dualsync.clients.notes.store import StoreFile, pending, rank


class NotesDevice:
    capabilities = frozenset({"fault_points"})  # no disk faults, no keys to lag: plaintext notes

    def __init__(self, *, variant: str, careful: bool, policy: ResolutionPolicy, device: str,
                 http: httpx.AsyncClient, store_path: str, clock: Any, hooks: Hooks | None = None,
                 supabase_url: str, supabase_key: str, cloudkit_api_token: str,
                 cloudkit_sign_in: Any = None, app: str = "notes"):
        if not isinstance(http, httpx.AsyncClient):
            raise TypeError(f"the notes client needs an httpx.AsyncClient, got {type(http).__name__}")
        self.name, self.variant, self.careful, self.policy = device, variant, careful, policy
        self.clock, self.hooks = clock, hooks or Hooks()
        self.app = apps.load(app)
        self.routes = {t.name: t.routes for t in self.app.record_types.values()}
        self.file = StoreFile(store_path, device, self.hooks, self.routes)
        self.session = Session(Net(http, self.hooks, clock, "supabase"), supabase_url, supabase_key, {})
        self.supabase = Postgrest(self.session.net, self.session, self.app)
        self.cloudkit = ICloud(Net(http, self.hooks, clock, "cloudkit"), self.app, cloudkit_api_token)
        self._cloudkit_sign_in = cloudkit_sign_in
        self._one_sync = asyncio.Lock()
        self._load()

    def _load(self) -> None:
        self.data = self.file.load()
        self.data["boots"] += 1
        self.session.state = self.data

    def _save(self) -> None:
        self.file.save(self.data)

    async def restart(self) -> None:
        self._one_sync = asyncio.Lock()
        self._load()

    def store_snapshot(self) -> dict[str, Any]:
        return self.file.snapshot()

    @property
    def user_id(self) -> str | None:
        return (self.data.get("session") or {}).get("user_id")

    # Faults this client does not take.

    def disk_fault(self, fault: str, op: str = "write") -> None:
        raise NotImplementedError(f"the notes client ({self.variant}) has no disk-fault seam "
                                  "(capability disk_faults): its store writes go straight to the file system")

    def heal_disk(self) -> None:
        """Nothing to heal: no disk fault is ever armed here."""

    def lag_keys(self, user_id: str, known: int) -> None:
        raise NotImplementedError(f"the notes client ({self.variant}) stores plaintext: it has no keys "
                                  "to lag (capability key_lag)")

    def catch_up_keys(self) -> None:
        """Nothing to catch up: no keys."""

    # Account.

    async def sign_up(self, email: str, password: str) -> None:
        await self.session.sign_up(email, password)
        await self._signed_in(email)

    async def sign_in(self, email: str, password: str) -> None:
        await self.session.sign_in(email, password)
        await self._signed_in(email)

    async def _signed_in(self, email: str) -> None:
        if self._cloudkit_sign_in is not None:
            token = self._cloudkit_sign_in(email)
            self.data["ck_token"] = await token if inspect.isawaitable(token) else token
        if self.data["owner"] not in (None, self.user_id):  # another account's notes never leak
            self.data.update(records={}, cursors={}, ck_sync_token=None, zone_ready=False)
        self.data["owner"] = self.user_id
        self._save()

    async def sign_out(self) -> None:
        try:
            await self.session.sign_out()
        finally:
            self.data["ck_token"] = None
            self._save()

    # Local edits.

    def _check(self, record_type: str, record_id: str) -> None:
        if record_type not in self.routes:
            raise DeviceError(f"the notes app has no record type {record_type!r} (it has {', '.join(self.routes)})")
        if not isinstance(record_id, str) or not record_id:
            raise DeviceError(f"a record id is a non-empty string, not {record_id!r}")

    def write(self, record_type: str, record_id: str, fields: dict[str, Any]) -> str:
        self._check(record_type, record_id)
        unknown = set(fields) - set(self.app.type_named(record_type).fields)
        if unknown:
            raise DeviceError(f"{record_type} has no field {', '.join(sorted(unknown))}")
        return self._edit(record_type, record_id, dict(fields), trashed=False)

    def delete(self, record_type: str, record_id: str) -> str:
        self._check(record_type, record_id)
        rec = self.data["records"].get(record_type, {}).get(record_id)
        if rec is None or rec["trashed"]:
            raise KeyError(f"{self.name}: no live {record_type}/{record_id} to delete")
        return self._edit(record_type, record_id, None, trashed=True)

    def read(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        self._check(record_type, record_id)
        rec = self.data["records"].get(record_type, {}).get(record_id)
        return None if rec is None or rec["trashed"] else dict(rec["fields"])

    def _edit(self, record_type: str, record_id: str, fields: dict | None, trashed: bool) -> str:
        rows = self.data["records"].setdefault(record_type, {})
        before = rows.get(record_id)
        # The stamp never falls at or before the version edited (a hybrid logical clock), so an
        # edit outranks what the device showed even when its clock went back.
        stamp = round(self.clock.now() * 1_000_000)
        if before is not None:
            stamp = max(stamp, rank(before["rev"])[0] + 1)
        self.data["seq"] += 1
        rev = f"{self.name}.{self.data['boots']}.{self.data['seq']}@{stamp}"
        rows[record_id] = {"fields": fields, "trashed": trashed, "rev": rev,
                           "held": dict(before["held"]) if before else {}}
        try:
            self._save()
        except OSError:
            if before is None:
                del rows[record_id]
            else:
                rows[record_id] = before
            raise
        return rev

    # Sync.

    def merge(self, record_type: str, record_id: str, version: dict, backend: str, held: dict) -> None:
        """A version a backend holds. `naive`: it replaces the local record, pending edit or not
        (last arrival wins). `careful`: a local version that ranks after it stays, and stays
        pending on that backend until it is uploaded over it."""
        rows = self.data["records"].setdefault(record_type, {})
        local = rows.get(record_id)
        if local is not None and local["rev"] != version["rev"] and self.careful \
                and rank(local["rev"]) > rank(version["rev"]):
            local["held"][backend] = held
            return
        if local is None or local["rev"] != version["rev"]:
            rows[record_id] = local = {**version, "held": dict(local["held"]) if local else {}}
        local["held"][backend] = held

    def _pending(self, path: str) -> bool:
        return any(path in pending(rec, self.routes[t]) for t, rows in self.data["records"].items()
                   for rec in rows.values())

    async def _round(self, path: str, *, pull_first: bool) -> None:
        """Push (unless pulling first), pull, and push again what the pull left pending. A refused
        upload does not stop the pull; it is raised after the round has been persisted."""
        service = self.supabase if path == "supabase" else self.cloudkit
        refused = None
        try:
            if not pull_first:
                refused = await self._push(service)
            await service.pull(self.data, self.merge)
            if refused is None and self._pending(path):
                refused = await self._push(service)
        except SyncError:
            self._save()  # what was merged stays, with its cursor
            raise
        self.hooks.fault_point("before_persist", device=self.name)
        self._save()
        if refused is not None:
            raise refused

    async def _push(self, service) -> SyncError | None:
        try:
            await service.push(self.data) if service is self.supabase else await service.push(self.data, self.merge)
        except SyncError as exc:
            if exc.status == 401 and service is self.supabase:
                raise
            return exc
        return None

    async def sync(self, path: str) -> None:
        if path not in apps.BACKENDS:
            raise DeviceError(f"unknown sync path {path!r}: use one of {', '.join(apps.BACKENDS)}")
        async with self._one_sync:
            await self._round(path, pull_first=False)

    async def login_sync(self) -> None:
        async with self._one_sync:
            for path in apps.BACKENDS:
                await self._round(path, pull_first=True)
