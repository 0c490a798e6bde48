"""The merge: what a device's store becomes when a backend delivers a write.

One function for every path and record type, so the resolution is the same whichever service
delivers; the behaviour switches reproduce the shipped merge and the seeded bugs.
"""

from __future__ import annotations

from dualsync.clients.behaviour import Behaviour
from dualsync.clients.codec import Incoming
from dualsync.clients.store import LocalRecord, LocalStore


def apply_incoming(store: LocalStore, incoming: Incoming, path: str, behaviour: Behaviour) -> bool:
    """Merge one delivered write into `store`; returns whether the local value changed.

    Either way the store remembers that `path` now holds the delivered write, so a local value
    that wins is queued to be re-sent there (that is how a backend that fell behind is repaired).
    """
    remote = incoming.record
    local = store.get(remote.record_type, remote.record_id)
    if behaviour.drop_tombstones and remote.deleted:
        return False
    take = local is None or (local.write_id != remote.write_id and _remote_wins(local, remote, path, behaviour))
    if take and remote.deleted and behaviour.pulled_delete_forgets:
        store.records[remote.record_type].pop(remote.record_id, None)  # the seeded bug: no tombstone
        return True
    if take and behaviour.merge_keeps_local_fields and local is not None and local.fields and remote.fields:
        remote.fields = {**local.fields, **remote.fields}  # the seeded bug: a field-union merge
    if take:
        remote.remote = dict(local.remote) if local else {}
        remote.queued_op = "delete" if remote.deleted else "save"
        store.put(remote)
        local = remote
    local.remote[path] = {"write_id": remote.write_id, "rank": list(remote.rank()), **incoming.meta}
    return take


def _remote_wins(local: LocalRecord, remote: LocalRecord, path: str, behaviour: Behaviour) -> bool:
    if behaviour.resurrect_on_pull and local.deleted and not remote.deleted:
        return True  # the bug: a tombstone is treated as "nothing here yet"
    if behaviour.daily_log_ignores_needs_sync and path == "cloudkit" and local.record_type == "daily_logs":
        return True  # DEEP-SYNC-003: this merge's remote-wins branch never looks at needs_sync
    if behaviour.merge == "lww":
        return remote.rank() > local.rank()
    return not local.needs_sync


def forget_remote(record: LocalRecord, path: str) -> None:
    """The backend no longer holds what we thought (a tombstone, a reset zone)."""
    record.remote.pop(path, None)
