"""The local store file and the storage seam under it."""

import errno
import json

import pytest

from dualsync.clients.api import ClientCrashed, Hooks
from dualsync.clients.errors import StoreError
from dualsync.clients.storage import FaultyStorage
from dualsync.clients.store import LocalRecord, LocalStore, StoreFile


def _record(rid="r1", write_id="A-1.1", **extra):
    return LocalRecord("daily_logs", rid, {"steps": 10}, False, write_id, 1_000, "A", "save", **extra)


def _store_with(*records):
    store = LocalStore(device="A")
    for record in records:
        store.put(record)
    return store


def test_persist_then_load_round_trips_records_cursors_and_session(tmp_path):
    file = StoreFile(tmp_path / "a.json")
    store = _store_with(_record(remote={"supabase": {"write_id": "A-1.1"}}))
    store.cursors["supabase"]["daily_logs"] = {"updated_at": "2026-01-01T00:00:00+00:00", "id": "r1"}
    store.session = {"supabase": {"user_id": "u"}}
    file.persist(store)
    loaded = file.load("A")
    assert loaded.get("daily_logs", "r1") == store.get("daily_logs", "r1")
    assert loaded.cursors == store.cursors and loaded.session == store.session


def test_needs_sync_is_per_path_until_each_backend_holds_the_write():
    record = _record()
    assert record.pending_paths() == ["supabase", "cloudkit"]
    record.remote["supabase"] = {"write_id": "A-1.1"}
    assert record.pending_paths() == ["cloudkit"] and record.needs_sync
    record.remote["cloudkit"] = {"write_id": "A-1.1"}
    assert not record.needs_sync


def test_snapshot_reads_what_is_on_disk_not_memory(tmp_path):
    file = StoreFile(tmp_path / "a.json")
    store = _store_with(_record())
    file.persist(store)
    store.put(_record("r2"))
    assert list(file.snapshot("A")["daily_logs"]) == ["r1"]


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "is corrupt"),
    (json.dumps({"hello": "world"}).encode(), "foreign file"),
    (json.dumps({"format": "dualsync-store", "version": 99, "device": "A"}).encode(), "format version 99"),
    (json.dumps({"format": "dualsync-store", "version": 1, "device": "B"}).encode(), "belongs to device 'B'"),
    (json.dumps({"format": "dualsync-store", "version": 1, "device": "A"}).encode(), "is damaged"),
])
def test_a_bad_store_file_is_a_clear_error_naming_the_file(tmp_path, content, problem):
    path = tmp_path / "a.json"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=problem) as caught:
        StoreFile(path).load("A")
    assert str(path) in str(caught.value)


def _crash_at(point):
    def hook(name, **ctx):
        if name == point:
            raise ClientCrashed(name)
    return Hooks(fault_point=hook)


def test_atomic_persist_crashing_midway_leaves_the_previous_store(tmp_path):
    path = tmp_path / "a.json"
    StoreFile(path).persist(_store_with(_record()))
    with pytest.raises(ClientCrashed):
        StoreFile(path, hooks=_crash_at("mid_persist")).persist(_store_with(_record(), _record("r2")))
    assert list(StoreFile(path).load("A").records["daily_logs"]) == ["r1"]


def test_in_place_persist_crashing_midway_leaves_a_torn_file(tmp_path):
    path = tmp_path / "a.json"
    StoreFile(path, atomic=False).persist(_store_with(_record()))
    with pytest.raises(ClientCrashed):
        StoreFile(path, hooks=_crash_at("mid_persist"), atomic=False).persist(_store_with(_record(), _record("r2")))
    with pytest.raises(StoreError, match="corrupt"):
        StoreFile(path).load("A")


@pytest.mark.parametrize("fault, code", [("EIO", errno.EIO), ("ENOSPC", errno.ENOSPC)])
def test_faulty_storage_fails_the_next_write_with_the_chosen_error(tmp_path, fault, code):
    storage = FaultyStorage()
    path = tmp_path / "a.json"
    StoreFile(path, storage).persist(_store_with(_record()))
    storage.fail_next(fault)
    with pytest.raises(OSError) as caught:
        StoreFile(path, storage).persist(_store_with(_record(), _record("r2")))
    assert caught.value.errno == code
    assert list(StoreFile(path, storage).load("A").records["daily_logs"]) == ["r1"]


def test_losing_unflushed_writes_undoes_an_unsynced_rename_and_unsynced_bytes(tmp_path):
    storage = FaultyStorage()
    path = str(tmp_path / "a.json")
    StoreFile(path, storage).persist(_store_with(_record()))
    storage.write(path + ".tmp", b"new bytes, never flushed")
    storage.rename(path + ".tmp", path)
    storage.lose_unflushed()
    assert list(StoreFile(path, storage).load("A").records["daily_logs"]) == ["r1"]


def test_faulty_storage_rejects_unknown_faults():
    with pytest.raises(ValueError, match="unknown fault 'EBUSYX'"):
        FaultyStorage().fail_next("EBUSYX")
    with pytest.raises(ValueError, match="unknown storage operation"):
        FaultyStorage().fail_next("EIO", op="chmod")
