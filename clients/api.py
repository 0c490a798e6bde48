"""The seam between the harness and any client under test.

The harness drives a device only through `DeviceClient`; the reference clients implement it in
process, and the external-process adapter implements it over a pipe. Nothing here knows about the
fakes: a client reaches its backends through the `httpx.AsyncClient` it is given, whose transport the
harness owns (that is where the Conductor sits).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Awaitable, Callable, Literal, Protocol

RecordType = Literal["profiles", "daily_logs", "weekly_snapshots", "cardio_sessions", "photos"]
SyncPath = Literal["supabase", "cloudkit"]

# Which backends carry each record type (the app's data map, from the case study).
ROUTES: dict[str, tuple[SyncPath, ...]] = {
    "profiles": ("supabase",),
    "photos": ("cloudkit",),
    "daily_logs": ("supabase", "cloudkit"),
    "weekly_snapshots": ("supabase", "cloudkit"),
    "cardio_sessions": ("supabase", "cloudkit"),
}

# Named fault points, in the order a sync round trip passes them. A client calls
# `hooks.fault_point(name, **context)` at each; in production the hook does nothing.
FAULT_POINTS = (
    "before_send",            # request built, not yet sent
    "after_reply",            # reply received, before records are marked synced
    "before_persist",         # remote changes applied in memory, store not yet written
    "mid_persist",            # the store file is partly written
)


class ClientCrashed(Exception):
    """Raised by a fault hook to crash the client exactly at a fault point."""

    def __init__(self, point: str):
        super().__init__(f"client crashed at fault point {point!r}")
        self.point = point


@dataclasses.dataclass(frozen=True)
class ResolutionPolicy:
    """What a client declares about how it resolves a conflict; the checkers read this.

    order:       the version order that decides a conflict: "server_updated_at" (the Supabase
                 server clock / CloudKit modification time), "client_modified_at" (the device's
                 own clock), or "arrival" (whichever response lands last: no order at all).
    granularity: "record" or "field".
    respects_needs_sync: a merge never replaces a local edit that is still marked for upload by
                 a value the declared order ranks before it (invariant 3). Under "arrival" there
                 is no such order, so True means pending edits are never replaced at all.
    stamps:      how "client_modified_at" is stamped: "device_clock" (the device's clock as it
                 reads at the edit) or "hybrid_logical" (a hybrid logical clock: the later of the
                 device clock and 1 µs after the stamp of the version the edit replaces, so an
                 edit always ranks after what the device held, even when its clock went back).

    The reference clients declare theirs in clients/behaviour.py: `coordinated` orders writes by
    the hybrid-logical time of the edit, then device name, then write id (each copy of a write
    carries all three through both backends), record-level; `legacy` declares "arrival".
    """

    order: Literal["server_updated_at", "client_modified_at", "arrival"]
    granularity: Literal["record", "field"] = "record"
    respects_needs_sync: bool = True
    stamps: Literal["device_clock", "hybrid_logical"] = "device_clock"


@dataclasses.dataclass
class Hooks:
    """Callbacks the harness installs in a client. Defaults do nothing (production)."""

    fault_point: Callable[..., None] = lambda name, **ctx: None
    on_persist: Callable[[dict[str, Any]], None] = lambda snapshot: None


class DeviceClient(Protocol):
    """One app install on one device, with its own on-disk store."""

    name: str
    policy: ResolutionPolicy

    async def sign_up(self, email: str, password: str) -> None: ...
    async def sign_in(self, email: str, password: str) -> None: ...
    async def sign_out(self) -> None: ...

    def write(self, record_type: str, record_id: str, fields: dict[str, Any]) -> str:
        """A local edit (create or update); returns its unique write id."""

    def delete(self, record_type: str, record_id: str) -> str:
        """A local delete; returns its unique write id."""

    def read(self, record_type: str, record_id: str) -> dict[str, Any] | None: ...

    async def login_sync(self) -> None:
        """What the app does on login: pull (and push) both paths, as this client sequences them."""

    async def sync(self, path: SyncPath) -> None:
        """One complete round of one sync path: push pending, pull changes, persist."""

    def store_snapshot(self) -> dict[str, Any]:
        """The store as it is on disk now: {record_type: {record_id: {...}}}."""

    async def restart(self) -> None:
        """Drop all in-memory state and reload from disk, as after a crash or relaunch."""


ClientFactory = Callable[..., Awaitable[DeviceClient]]
