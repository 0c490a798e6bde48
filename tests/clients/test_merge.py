"""The merge coordinator, without any backend."""

from dualsync.clients.behaviour import COORDINATED, LEGACY
from dualsync.clients.codec import Incoming
from dualsync.clients.store import LocalRecord, LocalStore


def rec(write_id, at, fields=None, *, rtype="daily_logs", device="A", deleted=False, remote=None):
    return LocalRecord(rtype, "r1", None if deleted else (fields or {"v": write_id}), deleted, write_id, at,
                       device, "delete" if deleted else "save", dict(remote or {}))


def store_with(record):
    store = LocalStore(device="A")
    store.put(record)
    return store


def deliver(store, record, path="supabase", behaviour=COORDINATED):
    from dualsync.clients.merge import apply_incoming
    return apply_incoming(store, Incoming(record, {"updated_at": "t"}), path, behaviour)


def test_lww_keeps_the_later_edit_whichever_arrives_last():
    early, late = rec("A-0001.000001", 10), rec("B-0001.000001", 20, device="B")
    one, other = store_with(early), store_with(late)
    deliver(one, late)
    deliver(other, rec("A-0001.000001", 10))
    assert one.get("daily_logs", "r1").write_id == other.get("daily_logs", "r1").write_id == "B-0001.000001"


def test_same_device_time_breaks_ties_in_edit_order():
    store = store_with(rec("A-0001.000002", 10))
    assert deliver(store, rec("A-0001.000010", 10))
    assert store.get("daily_logs", "r1").write_id == "A-0001.000010"


def test_a_pending_local_edit_is_not_replaced_by_an_older_write_and_is_queued_again():
    store = store_with(rec("A-0001.000002", 20, remote={"supabase": {"write_id": "A-0001.000001"}}))
    assert not deliver(store, rec("B-0001.000001", 10, device="B"))
    kept = store.get("daily_logs", "r1")
    assert kept.write_id == "A-0001.000002" and "supabase" in kept.pending_paths()


def test_a_backend_that_fell_behind_is_repaired_by_the_device_that_holds_the_later_write():
    synced = {"supabase": {"write_id": "B-0001.000001"}, "cloudkit": {"write_id": "B-0001.000001"}}
    store = store_with(rec("B-0001.000001", 20, device="B", remote=synced))
    deliver(store, rec("A-0001.000001", 10))
    assert store.get("daily_logs", "r1").pending_paths() == ["supabase"]


def test_a_value_learned_from_one_backend_is_queued_for_the_other():
    store = LocalStore(device="A")
    deliver(store, rec("B-0001.000001", 10, device="B"), path="cloudkit")
    assert store.get("daily_logs", "r1").pending_paths() == ["supabase"]


def test_legacy_remote_wins_unless_pending_and_ignores_pending_for_cloudkit_daily_logs():
    def pending(rtype):
        return store_with(rec("A-0001.000002", 99, rtype=rtype))

    older = {"rtype": "weekly_snapshots", "device": "B"}
    week = pending("weekly_snapshots")
    assert not deliver(week, rec("B-0001.000001", 1, **older), "cloudkit", LEGACY)
    log = pending("daily_logs")
    assert deliver(log, rec("B-0001.000001", 1, device="B"), "cloudkit", LEGACY)
    log_via_supabase = pending("daily_logs")
    assert not deliver(log_via_supabase, rec("B-0001.000001", 1, device="B"), "supabase", LEGACY)


def test_a_later_tombstone_wins_and_an_older_live_copy_does_not_resurrect_it():
    store = store_with(rec("A-0001.000001", 10))
    assert deliver(store, rec("B-0001.000001", 20, device="B", deleted=True))
    assert not deliver(store, rec("C-0001.000001", 15, device="C"))
    assert store.get("daily_logs", "r1").deleted


def test_declared_policies():
    assert (COORDINATED.policy.order, COORDINATED.policy.granularity, COORDINATED.policy.respects_needs_sync) == \
        ("client_modified_at", "record", True)
    assert (LEGACY.policy.order, LEGACY.policy.respects_needs_sync) == ("arrival", False)
