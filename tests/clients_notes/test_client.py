"""The notes client on its own: its write ids rank as its policy says, its two variants differ only
in what a pulled version does to a pending edit, and its store is one JSON file written whole."""

from __future__ import annotations

import json

import httpx
import pytest

from dualsync.clients.api import DeviceError, Hooks, load_suite
from dualsync.clients.notes.store import rank

SUITE = load_suite("dualsync.clients.notes")


class Clock:
    def __init__(self, now: float = 1_767_225_600.0):
        self.t = now

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def device(variant: str, tmp_path, name: str = "A", clock: Clock | None = None, persisted: list | None = None):
    hooks = Hooks(on_persist=(persisted.append if persisted is not None else lambda snapshot: None))
    return SUITE.make(variant, device=name, http=httpx.AsyncClient(), store_path=str(tmp_path / name / "store.json"),
                      clock=clock or Clock(), hooks=hooks, keys=SUITE.keys(0), seed=0,
                      supabase_url="https://example.supabase.co", supabase_key="anon",
                      cloudkit_api_token="token", cloudkit_sign_in=None)


def test_the_catalogue_declares_each_variants_policy():
    names = [name for name, _d, _p in SUITE.catalogue()]
    assert names == ["naive", "careful"]
    assert dict((n, p) for n, _d, p in SUITE.catalogue()) == {"naive": "no-lost-write", "careful": None}


def test_write_ids_rank_by_stamp_then_device_then_sequence():
    assert rank("B.1.1@100") < rank("A.1.1@101")     # the stamp first
    assert rank("A.1.9@100") < rank("B.1.1@100")     # then the device
    assert rank("A.1.2@100") < rank("A.1.10@100")    # then the device's own order, numerically
    assert rank("A.2.1@100") > rank("A.1.99@100")    # a later boot after an earlier one
    assert rank(None) < rank("A.1.1@0") and rank("not a rev") < rank("A.1.1@0")


def test_an_edit_outranks_the_version_it_edits_even_when_the_clock_went_back(tmp_path):
    clock = Clock()
    a = device("careful", tmp_path, clock=clock)
    first = a.write("notes", "n-1", {"body": "one"})
    clock.t -= 3600  # the device clock is set back an hour
    second = a.write("notes", "n-1", {"body": "two"})
    assert rank(second) > rank(first)


@pytest.mark.parametrize("variant, kept", [("naive", False), ("careful", True)])
def test_a_pulled_older_version_replaces_a_pending_edit_only_in_naive(tmp_path, variant, kept):
    clock = Clock()
    a = device(variant, tmp_path, clock=clock)
    clock.t += 60
    mine = a.write("notes", "n-1", {"body": "mine, not uploaded yet"})
    older = {"rev": "B.1.1@1767225610000000", "trashed": False, "fields": {"body": "theirs, older"}}
    a.merge("notes", "n-1", older, "cloudkit", {"rev": older["rev"], "tag": "t1"})
    assert a.read("notes", "n-1") == ({"body": "mine, not uploaded yet"} if kept else {"body": "theirs, older"})
    record = a.data["records"]["notes"]["n-1"]
    assert record["rev"] == (mine if kept else older["rev"])
    assert record["held"]["cloudkit"] == {"rev": older["rev"], "tag": "t1"}  # what the server holds, for the next save


@pytest.mark.parametrize("variant", ["naive", "careful"])
def test_a_pulled_newer_version_wins_in_both(tmp_path, variant):
    a = device(variant, tmp_path)
    a.write("notes", "n-1", {"body": "mine"})
    newer = {"rev": "B.1.1@1867225600000000", "trashed": False, "fields": {"body": "theirs, newer"}}
    a.merge("notes", "n-1", newer, "supabase", {"rev": newer["rev"]})
    assert a.read("notes", "n-1") == {"body": "theirs, newer"}


def test_every_edit_is_on_disk_before_it_returns_and_reported_as_the_harness_reads_stores(tmp_path):
    persisted: list = []
    a = device("careful", tmp_path, persisted=persisted)
    rev = a.write("notebooks", "nb-1", {"title": "Travel"})
    gone = a.delete("notebooks", "nb-1")
    on_disk = json.loads((tmp_path / "A" / "store.json").read_text())
    assert on_disk["records"]["notebooks"]["nb-1"]["rev"] == gone
    assert not (tmp_path / "A" / "store.json.tmp").exists()
    assert persisted[0]["notebooks"]["nb-1"] == {"fields": {"title": "Travel"}, "deleted": False,
                                                 "write_id": rev, "needs_sync": True}
    assert persisted[1]["notebooks"]["nb-1"]["deleted"] is True
    assert a.store_snapshot() == persisted[1] and a.read("notebooks", "nb-1") is None


def test_a_restart_reloads_the_store_and_write_ids_never_repeat(tmp_path):
    import asyncio
    a = device("careful", tmp_path)
    before = a.write("notes", "n-1", {"body": "x"})
    asyncio.run(a.restart())
    after = a.write("notes", "n-1", {"body": "y"})
    assert before.split("@")[0] == "A.1.1" and after.split("@")[0] == "A.2.2"
    again = device("careful", tmp_path)  # a new install over the same store file
    assert again.read("notes", "n-1") == {"body": "y"}


def test_bad_edits_and_a_foreign_store_are_refused_with_what_to_fix(tmp_path):
    a = device("careful", tmp_path)
    with pytest.raises(DeviceError, match="no record type 'daily_logs'"):
        a.write("daily_logs", "x", {"steps": 1})
    with pytest.raises(DeviceError, match="notes has no field steps"):
        a.write("notes", "n-1", {"steps": 1})
    with pytest.raises(KeyError, match="no live notes/n-9"):
        a.delete("notes", "n-9")
    with pytest.raises(NotImplementedError, match="disk_faults"):
        a.disk_fault("io_error")
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "store.json").write_text("{not json")
    with pytest.raises(DeviceError, match="store.json: the notes store is not JSON"):
        device("careful", tmp_path, name="B")
    with pytest.raises(ValueError, match="choose one of: naive, careful"):
        device("coordinated", tmp_path)


def borrowed(source: str) -> list[str]:
    """The modules of `dualsync.clients` a source imports other than the device port and its own."""
    import ast
    out = []
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        out += [n for n in names if n.startswith("dualsync.clients") and n != "dualsync.clients.api"
                and not n.startswith("dualsync.clients.notes")]
    return out


def test_the_notes_client_shares_no_code_with_the_reference_clients():
    from pathlib import Path
    here = Path(__file__).resolve().parents[2] / "clients" / "notes"
    assert {p.name: borrowed(p.read_text()) for p in here.glob("*.py")} == {p.name: [] for p in here.glob("*.py")}
    assert borrowed("from dualsync.clients.codec import open_record\nimport dualsync.clients.store\n") == [
        "dualsync.clients.codec", "dualsync.clients.store"]  # the check catches a borrowed module
