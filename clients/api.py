"""The device port: everything the harness asks of a client under test, and nothing else.

The harness imports this module and no other of `dualsync.clients` (a test holds it to that). A
client suite (`load_suite`) names its clients and builds devices; a device (`DeviceClient`) signs in
and out, edits, reads, syncs, reports its store, restarts, and takes the faults it declares. The
users' cloud keychain (`Keys`) is shared by a user's devices and opens sealed payloads for the
harness, so commit attribution never depends on a client's codec being importable by the harness.
Nothing here knows about the fakes: a client reaches its backends through the `httpx.AsyncClient`
it is given, whose transport the harness owns (that is where the Conductor sits).
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Awaitable, Callable, Literal, Protocol

PROTOCOL_VERSION = 1  # of the device protocol external devices speak (docs/device-protocol.md)

SyncPath = str
"""A backend name from `dualsync.apps.BACKENDS` ("supabase", "cloudkit"): one sync path."""

# Named fault points, in the order a sync round trip passes them. A client calls
# `hooks.fault_point(name, **context)` at each; in production the hook does nothing.
FAULT_POINTS = (
    "before_send",            # request built, not yet sent
    "after_reply",            # reply received, before records are marked synced
    "before_persist",         # remote changes applied in memory, store not yet written
    "mid_persist",            # the store file is partly written
)


class DeviceError(Exception):
    """A client's own error while carrying out an operation: an observation the harness records
    (the operation failed), not a failure of the harness."""


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


DISK_FAULTS = ("io_error", "no_space", "lose_unsynced")


@dataclasses.dataclass(frozen=True)
class Opened:
    """A stored payload as the harness reads it: the write it carries, or that it does not open."""

    write_id: str | None = None
    fields: dict[str, Any] | None = None
    deleted: bool = False
    undecryptable: bool = False


class Keys(Protocol):
    """The users' keys in the cloud (an iCloud keychain shared by a user's devices)."""

    def current(self, user_id: str) -> int:
        """The user's current key version."""

    def rotate(self, user_id: str) -> tuple[int, int]:
        """A new current key version for the user: (old, new)."""

    def decode(self, user_id: str, record_type: str, record_id: str, payload: Any,
               key_version: Any) -> Opened:
        """A sealed payload as stored on a backend, opened with the user's keys."""


class DeviceClient(Protocol):
    """One app install on one device, with its own on-disk store."""

    name: str
    policy: ResolutionPolicy
    capabilities: frozenset[str]  # of "disk_faults", "key_lag", "fault_points"

    @property
    def user_id(self) -> str | None:
        """The signed-in Supabase user id (the key owner), None before sign-in."""

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

    def disk_fault(self, fault: str, op: str = "write") -> None:
        """Arm a disk fault (DISK_FAULTS): the next `op` fails with EIO/ENOSPC, or a power cut
        drops every byte not yet made durable (the device then restarts from disk)."""

    def heal_disk(self) -> None:
        """No disk fault armed any more; files stay as they are."""

    def lag_keys(self, user_id: str, known: int) -> None:
        """The device's keychain stays at key version `known` until `catch_up_keys`."""

    def catch_up_keys(self) -> None: ...


class ClientSuite(Protocol):
    """A module that offers clients (default `dualsync.clients`, the reference clients)."""

    def catalogue(self) -> list[tuple[str, str, str | None]]:
        """(name, description, predicted invariant or None) of every selectable client."""

    def keys(self, seed: int | str) -> Keys: ...

    # Optional: `findings()`, the findings a suite's clients carry (hunts measure time to each):
    # `.fixes` {finding: switches}, `.counterfactuals` {finding: client name}, `.register()`,
    # `.reaches(finding, [(op, args), ...])`. The reference suite's is clients/findings.py.

    def make(self, name: str, *, device: str, http: Any, store_path: str, clock: Any, hooks: Hooks,
             keys: Keys, seed: int, supabase_url: str, supabase_key: str, cloudkit_api_token: str,
             cloudkit_sign_in: Callable[[str], Any]) -> DeviceClient: ...


DEFAULT_SUITE = "dualsync.clients"


def load_suite(module: str = DEFAULT_SUITE) -> ClientSuite:
    """The client suite a module offers; ImportError names the module when it is not one."""
    suite = importlib.import_module(module)
    missing = [f for f in ("catalogue", "keys", "make") if not callable(getattr(suite, f, None))]
    if missing:
        raise ImportError(f"{module} is not a client suite: it lacks {', '.join(missing)} "
                          "(see dualsync.clients.api.ClientSuite)")
    return suite  # type: ignore[return-value]


ClientFactory = Callable[..., Awaitable[DeviceClient]]
