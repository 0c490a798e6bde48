"""ReferenceClient: one install of the app on one device, implementing clients.api.DeviceClient.

The store is the device's truth between launches; every local edit is persisted before `write`
returns. How the two sync paths share that store is what separates the shipped app from the
remediation: see `Behaviour.login`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from typing import Any

import httpx

from dualsync.clients.api import ROUTES, Hooks, SyncPath
from dualsync.clients.behaviour import Behaviour
from dualsync.clients.clock import as_clock
from dualsync.clients.cloudkit_sync import CloudKitSyncService
from dualsync.clients.crypto import Keychain, KeyVault
from dualsync.clients.cursors import Cursors
from dualsync.clients.errors import BackendError, ClientError, SessionEnded
from dualsync.clients.merge import apply_incoming
from dualsync.clients.storage import DiskStorage
from dualsync.clients.store import LocalRecord, LocalStore, StoreFile
from dualsync.clients.supabase_sync import SupabaseAuth, SupabaseSyncService
from dualsync.clients.wire import Wire

DEFAULT_SUPABASE_URL = "https://dualsync.supabase.co"
DEFAULT_CONTAINER = "iCloud.com.fitme.app"


class ReferenceClient:
    def __init__(self, *, name: str, behaviour: Behaviour, http: httpx.AsyncClient, store_path: str,
                 variant: str = "coordinated", clock: Any = None, hooks: Hooks | None = None,
                 storage: Any = None, key_vault: KeyVault | None = None, keychain: Keychain | None = None,
                 seed: int | str = 0, supabase_url: str = DEFAULT_SUPABASE_URL, supabase_key: str = "anon-key",
                 cloudkit_container: str = DEFAULT_CONTAINER, cloudkit_environment: str = "development",
                 cloudkit_api_token: str = "api-token", cloudkit_web_auth_token: str | None = None,
                 cloudkit_sign_in: Any = None, page_size: int = 100, results_limit: int = 200):
        self.name, self.variant, self.behaviour, self.policy = name, variant, behaviour, behaviour.policy
        self.hooks = hooks or Hooks()
        self.clock = as_clock(clock)
        self.storage = storage or DiskStorage()
        self.keychain = keychain or Keychain(key_vault or KeyVault(seed))
        self.file = StoreFile(store_path, self.storage, self.hooks, atomic=behaviour.atomic_persist)
        self.cursors = Cursors(behaviour.cursor_in_store, f"{store_path}.settings.json", self.storage)
        self._cloudkit_sign_in = cloudkit_sign_in
        self.auth = SupabaseAuth(Wire(http, self.hooks, self.clock, "supabase"), supabase_url, supabase_key)
        self.supabase = SupabaseSyncService(self.auth.wire, self.auth, self.keychain, behaviour, self.cursors,
                                            self.clock, page_size)
        self.cloudkit = CloudKitSyncService(Wire(http, self.hooks, self.clock, "cloudkit"), self.keychain, behaviour,
                                            self.cursors, self.clock, cloudkit_container, cloudkit_environment,
                                            cloudkit_api_token, lambda: self.auth.user_id, results_limit)
        self.cloudkit.web_auth_token = cloudkit_web_auth_token
        self._coordinator = asyncio.Lock()
        self.upload_paused = False  # only the stalled-queue mutant ever sets it
        self._load()

    # -- lifecycle ----------------------------------------------------------------------------

    def _load(self) -> None:
        self.store = self.file.load(self.name)
        self.cursors.load_settings()
        self.store.boots += 1
        session = self.store.session or {}
        self.auth.session = session.get("supabase")
        self.cloudkit.web_auth_token = session.get("cloudkit_web_auth_token") or self.cloudkit.web_auth_token

    async def restart(self) -> None:
        self.upload_paused = False
        self._load()

    def _persist(self, store: LocalStore) -> None:
        store.session = {"supabase": self.auth.session, "cloudkit_web_auth_token": self.cloudkit.web_auth_token}
        store.write_seq = max(store.write_seq, self.store.write_seq)
        self.file.persist(store)

    def store_snapshot(self) -> dict[str, Any]:
        return self.file.snapshot(self.name)

    # -- account ------------------------------------------------------------------------------

    async def sign_up(self, email: str, password: str) -> None:
        await self.auth.sign_up(email, password)
        await self._signed_in(email)

    async def sign_in(self, email: str, password: str) -> None:
        await self.auth.sign_in(email, password)
        await self._signed_in(email)

    async def _signed_in(self, email: str) -> None:
        if self._cloudkit_sign_in is not None:
            token = self._cloudkit_sign_in(email)
            self.cloudkit.web_auth_token = await token if inspect.isawaitable(token) else token
        if self.store.owner not in (None, self.auth.user_id):
            self.store.forget_data()  # another user's records must never reach this account
        self.store.owner = self.auth.user_id
        self._persist(self.store)

    async def sign_out(self) -> None:
        await self.auth.sign_out()
        self.cloudkit.web_auth_token = None
        if self.behaviour.sign_out_clears_queue:  # the seeded bug: the queue goes with the session
            for table in self.store.records.values():
                for record in table.values():
                    for path in record.pending_paths():
                        record.remote[path] = {**record.remote.get(path, {}), "write_id": record.write_id}
        self._persist(self.store)

    # -- local edits --------------------------------------------------------------------------

    def write(self, record_type: str, record_id: str, fields: dict[str, Any]) -> str:
        if not isinstance(fields, dict):
            raise TypeError(f"fields of {record_type}/{record_id} must be a dict, got {type(fields).__name__}")
        try:
            json.dumps(fields)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"fields of {record_type}/{record_id} must be JSON values: {exc}") from None
        return self._edit(record_type, record_id, dict(fields), deleted=False)

    def delete(self, record_type: str, record_id: str) -> str:
        self._check(record_type, record_id)
        current = self.store.get(record_type, record_id)
        if current is None or current.deleted:
            raise KeyError(f"{self.name}: no live {record_type}/{record_id} to delete")
        return self._edit(record_type, record_id, None, deleted=True)

    def read(self, record_type: str, record_id: str) -> dict[str, Any] | None:
        self._check(record_type, record_id)
        record = self.store.get(record_type, record_id)
        return None if record is None or record.deleted else dict(record.fields)

    def _check(self, record_type: str, record_id: str) -> None:
        if record_type not in ROUTES:
            raise ValueError(f"unknown record type {record_type!r}: use one of {sorted(ROUTES)}")
        if not isinstance(record_id, str) or not record_id:
            raise ValueError(f"record id must be a non-empty string, got {record_id!r}")

    def _edit(self, record_type: str, record_id: str, fields: dict | None, deleted: bool) -> str:
        self._check(record_type, record_id)
        previous = self.store.get(record_type, record_id)
        self.store.write_seq += 1
        record = LocalRecord(record_type, record_id, fields, deleted,
                             write_id=f"{self.name}-{self.store.boots:04d}.{self.store.write_seq:06d}",
                             modified_us=self._stamp(previous), device=self.name,
                             queued_op=self._queued_op(previous, deleted),
                             remote=dict(previous.remote) if previous else {})
        self.store.put(record)
        try:
            self._persist(self.store)
        except OSError:
            self._undo(record_type, record_id, previous)
            raise
        self.upload_paused = False
        return record.write_id

    def _stamp(self, previous: LocalRecord | None) -> int:
        """The edit's position in the declared order. A hybrid logical clock: never at or before
        the version being edited (ours, or one pulled from another device), so a clock set back
        between two edits cannot rank the later edit first."""
        seconds = time.time() if self.behaviour.wall_clock_stamps else self.clock.now()
        clock_us = int(round(seconds * 1_000_000))
        if previous is None or not self.behaviour.hybrid_stamps:
            return clock_us
        return max(clock_us, previous.modified_us + 1)

    def _queued_op(self, previous: LocalRecord | None, deleted: bool) -> str:
        if (self.behaviour.recreate_keeps_delete and previous is not None and previous.needs_sync
                and previous.queued_op == "delete"):
            return "delete"  # the seeded bug: the queue dedups the re-create into the pending delete
        return "delete" if deleted else "save"

    def _undo(self, record_type: str, record_id: str, previous: LocalRecord | None) -> None:
        if previous is None:
            self.store.records[record_type].pop(record_id, None)
        else:
            self.store.put(previous)

    # -- sync ---------------------------------------------------------------------------------

    def _merge(self, store: LocalStore, incoming, path: str) -> bool:
        return apply_incoming(store, incoming, path, self.behaviour)

    async def _round(self, store: LocalStore, path: SyncPath, login: bool = False) -> None:
        """One path on `store`: a regular sync pushes then pulls; on login the app pulls first."""
        service = self.supabase if path == "supabase" else self.cloudkit
        try:
            failed_push = None if login else await self._push(store, path)
            await service.pull(store, self._merge)
            if login or (failed_push is None and store.pending(path)):
                # On login the push comes after the pull; otherwise the pull may have queued work
                # for this path (a repair, a re-created zone), and the round finishes it.
                failed_push = await self._push(store, path)
        except SessionEnded:
            self._end_session(store)
            raise
        if failed_push is not None:
            raise failed_push

    async def _push(self, store: LocalStore, path: SyncPath) -> ClientError | None:
        """Upload what is pending; a refused upload is returned, not raised, so that it does not
        also stop the pull (a poison record must not cut the device off from new data)."""
        if self.upload_paused:
            return None
        try:
            if path == "supabase":
                await self.supabase.push(store)
            else:
                await self.cloudkit.push(store, self._merge)
        except SessionEnded:
            raise
        except BackendError as exc:
            if exc.transient and self.behaviour.stall_after_transient:
                self.upload_paused = True
            return exc
        except ClientError as exc:
            return exc
        return None

    def _end_session(self, store: LocalStore) -> None:
        self.auth.session = None
        if self.behaviour.refresh_failure_wipes:  # the seeded bug: "log out" clears the local cache
            store.forget_data()
        self._persist(store)

    async def sync(self, path: SyncPath) -> None:
        if path not in ("supabase", "cloudkit"):
            raise ValueError(f"unknown sync path {path!r}: use 'supabase' or 'cloudkit'")
        if self.behaviour.login == "parallel_copies":
            return await self._service_round_on_copy(path)
        async with self._coordinator:
            await self._keeping_progress(self._round(self.store, path))
            self._persist_after_sync(self.store)

    async def _keeping_progress(self, work) -> None:
        """A sync that fails (not a crash) still persists what it merged: store and cursor together."""
        try:
            await work
        except ClientError:
            self._persist(self.store)
            raise

    async def login_sync(self) -> None:
        if self.behaviour.login == "parallel_copies":
            # As shipped (DEEP-SYNC-001): both services pull at once, each into its own copy.
            await asyncio.gather(self._service_round_on_copy("supabase", login=True),
                                 self._service_round_on_copy("cloudkit", login=True))
            return
        async with self._coordinator:
            await self._keeping_progress(self._round(self.store, "supabase", login=True))
            await self._keeping_progress(self._round(self.store, "cloudkit", login=True))
            self._persist_after_sync(self.store)

    async def _service_round_on_copy(self, path: SyncPath, login: bool = False) -> None:
        copy = self.store.copy()
        try:
            await self._round(copy, path, login)
        except ClientError:
            self._persist(copy)  # a failed sync still keeps what it merged, as coordinated does
            self.store = copy
            raise
        self._persist_after_sync(copy)
        self.store = copy  # whichever service gets here last wins

    def _persist_after_sync(self, store: LocalStore) -> None:
        self.hooks.fault_point("before_persist", device=self.name)
        self._persist(store)
