"""Each checker against a hand-made history that violates it and one that satisfies it."""

from __future__ import annotations

from dualsync.harness import checkers as C
from dualsync.harness.history import History
from tests.harness.builders import Story


def both_devices_hold(s: Story, rid: str, wid: str, fields: dict):
    rec = s.record(wid, fields, "A")
    return {"device:A": {"daily_logs": {rid: rec}}, "device:B": {"daily_logs": {rid: rec}},
            "supabase:alice": {"daily_logs": {rid: rec}}, "cloudkit:alice": {"daily_logs": {rid: rec}}}


def test_convergence_names_the_holders_that_differ():
    s = Story().write("A", "A1", "d1", {"steps": 1})
    final = both_devices_hold(s, "d1", "A1", {"steps": 1})
    assert C.check_convergence(s.h, final).ok
    final["cloudkit:alice"] = {"daily_logs": {}}
    v = C.check_convergence(s.h, final)
    assert not v.ok and "cloudkit:alice has nothing" in v.violations[0].message
    assert "device:A has" in v.violations[0].message


def test_no_lost_write_explains_the_persist_that_lost_it():
    s = Story().write("B", "B1", "d1", {"steps": 1}).write("A", "A1", "d1", {"steps": 2})
    # A's newer write is on A's disk, then a pull persists B's older value over it.
    s.put("A", "daily_logs", "d1", s.record("B1", {"steps": 1}, "B"), by="cloudkit")
    final = both_devices_hold(s, "d1", "B1", {"steps": 1})
    v = C.check_no_lost_write(s.h, final)
    assert not v.ok
    msg = v.violations[0].message
    assert "write A1" in msg and "ranks before it" in msg and "A/cloudkit persist" in msg
    assert C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "A1", {"steps": 2})).ok


def test_no_lost_write_field_granularity_merges_fields():
    s = Story(policy={"order": "client_modified_at", "granularity": "field"})
    s.write("A", "A1", "d1", {"steps": 1, "note": "x"}).write("B", "B1", "d1", {"note": "y"})
    good = both_devices_hold(s, "d1", "B1", {"steps": 1, "note": "y"})
    assert C.check_no_lost_write(s.h, good).ok
    assert not C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B1", {"note": "y"})).ok


def test_no_lost_unsynced_edit_fires_only_while_the_edit_is_pending():
    s = Story().write("B", "B1", "d1", {"steps": 1}).write("A", "A1", "d1", {"steps": 2})
    s.put("A", "daily_logs", "d1", s.record("B1", {"steps": 1}, "B"), by="cloudkit")
    v = C.check_no_lost_unsynced_edit(s.h)
    assert not v.ok and "still marked for upload" in v.violations[0].message
    t = Story().write("B", "B1", "d1", {"steps": 1}).write("A", "A1", "d1", {"steps": 2})
    t.put("A", "daily_logs", "d1", t.record("A1", {"steps": 2}, "A"), by="cloudkit")  # kept
    assert C.check_no_lost_unsynced_edit(t.h).ok and C.check_no_lost_unsynced_edit(t.h).checked


def test_monotonic_store_catches_a_record_going_back():
    s = Story().write("B", "B1", "d1", {"steps": 1}).write("B", "B2", "d1", {"steps": 2})
    s.put("A", "daily_logs", "d1", s.record("B2", {"steps": 2}, "B"), by="supabase")
    s.put("A", "daily_logs", "d1", s.record("B1", {"steps": 1}, "B"), by="cloudkit")
    v = C.check_monotonic_read_your_writes(s.h)
    assert not v.ok and "went back to the write B1" in v.violations[0].message
    t = Story().write("B", "B1", "d1", {"steps": 1}).write("B", "B2", "d1", {"steps": 2})
    t.put("A", "daily_logs", "d1", t.record("B1", {"steps": 1}, "B"), by="supabase")
    t.put("A", "daily_logs", "d1", t.record("B2", {"steps": 2}, "B"), by="cloudkit")
    assert C.check_monotonic_read_your_writes(t.h).ok


def test_monotonic_store_catches_a_record_vanishing_without_a_delete():
    s = Story().write("B", "B1", "p1", {"name": "x"}, rtype="profiles")
    s.put("A", "profiles", "p1", s.record("B1", {"name": "x"}, "B"), by="supabase")
    s.put("A", "profiles", "p1", None, by="cloudkit")
    v = C.check_monotonic_read_your_writes(s.h)
    assert not v.ok and "removed it" in v.violations[0].message


def test_read_your_writes_on_the_write_itself():
    s = Story()
    s.tick()
    s.h.write("A", "alice", "A1", "daily_logs", "d1", {"steps": 3}, time=1, device_time=1,
              after={"fields": {"steps": 2}})
    v = C.check_monotonic_read_your_writes(s.h)
    assert not v.ok and "read back" in v.violations[0].message


def test_no_skipped_row_after_a_complete_sync():
    s = Story().write("B", "B1", "d1", {"steps": 1}).commit("supabase", "B1", "d1")
    s.sync("A", "supabase")
    v = C.check_no_skipped_row(s.h)
    assert not v.ok and "completed without it" in v.violations[0].message
    t = Story().write("B", "B1", "d1", {"steps": 1}).commit("supabase", "B1", "d1")
    t.put("A", "daily_logs", "d1", t.record("B1", {"steps": 1}, "B"), by="supabase")
    t.sync("A", "supabase")
    assert C.check_no_skipped_row(t.h).ok and C.check_no_skipped_row(t.h).checked >= 1


def test_no_skipped_row_exempts_rows_the_device_cannot_decrypt():
    s = Story().write("B", "B1", "d1", {"steps": 1})
    s.commit("supabase", "B1", "d1", decryptable=False).sync("A", "supabase")
    assert C.check_no_skipped_row(s.h).ok


def test_resurrection_and_phantom():
    s = Story().write("A", "A1", "d1", {"steps": 1}).write("B", "B2", "d1", None)
    final = both_devices_hold(s, "d1", "A1", {"steps": 1})
    v = C.check_no_resurrection_no_phantom(s.h, final)
    assert not v.ok and "no later write re-created it" in v.violations[0].message
    t = Story().write("A", "A1", "d1", {"steps": 1})
    v = C.check_no_resurrection_no_phantom(t.h, both_devices_hold(t, "d1", "A1", {"steps": 99}))
    assert not v.ok and "no write to it ever carried" in v.violations[0].message
    assert C.check_no_resurrection_no_phantom(t.h, both_devices_hold(t, "d1", "A1", {"steps": 1})).ok


def test_isolation_catches_a_foreign_record_and_a_probe_that_got_in():
    s = Story(devices={"A": "alice", "C": "carol"})
    s.write("C", "C1", "d9", {"steps": 5}, user="carol")
    s.put("A", "daily_logs", "d9", s.record("C1", {"steps": 5}, "C"), by="supabase")
    v = C.check_isolation(s.h)
    assert not v.ok and "of user carol" in v.violations[0].message
    t = Story()
    t.h.append("invoke", "A", "probe", token="forged")
    t.h.append("ok", "A", "probe", token="forged", status=200)
    assert not C.check_isolation(t.h).ok
    u = Story()
    u.h.append("ok", "A", "probe", token="expired", status=401)
    assert C.check_isolation(u.h).ok and C.check_isolation(u.h).checked == 1
    # A probe the network lost got no answer: nothing to judge, so it is not counted as checked.
    u.h.append("info", "A", "probe", token="forged", error="ConnectError: connection dropped")
    assert C.check_isolation(u.h).ok and C.check_isolation(u.h).checked == 1
    u.h.append("info", "A", "probe", token="forged", status=200)  # an answer, however recorded
    assert not C.check_isolation(u.h).ok


def test_liveness_stall_bound_and_undrained_queue():
    s = Story().write("A", "A1", "d1", {"steps": 1}).commit("supabase", "A1", "d1")
    s.quiesce()
    final = both_devices_hold(s, "d1", "A1", {"steps": 1})
    v = C.check_liveness(s.h, final)
    assert not v.ok and "never reached cloudkit" in v.violations[0].message
    s.commit("cloudkit", "A1", "d1")
    assert C.check_liveness(s.h, final).ok
    stalled = Story().quiesce(settled=False, rounds=9)
    assert "still changing after 9" in C.check_liveness(stalled.h, {}).violations[0].message
    slow = Story(bound=10).quiesce(heal_at=-100)
    assert "the bound is 10s" in C.check_liveness(slow.h, {}).violations[0].message


def test_determinism_compares_runs_under_different_schedules():
    s = Story().write("A", "A1", "d1", {"steps": 1}).write("B", "B1", "d1", {"steps": 2})
    one = both_devices_hold(s, "d1", "B1", {"steps": 2})
    two = both_devices_hold(s, "d1", "A1", {"steps": 1})
    v = C.check_determinism({"as written": (s.h, one), "reversed": (s.h, two)})
    assert not v.ok and "under schedule" in v.violations[0].message
    assert C.check_determinism({"x": (s.h, one), "y": (s.h, one)}).ok


def test_check_all_returns_every_single_run_invariant():
    s = Story().write("A", "A1", "d1", {"steps": 1})
    verdicts = C.check_all(s.h, both_devices_hold(s, "d1", "A1", {"steps": 1}))
    assert set(verdicts) == set(C.INVARIANTS) - {"determinism"}


def test_history_round_trips_through_json_lines(tmp_path):
    s = Story().write("A", "A1", "d1", {"steps": 1}).commit("supabase", "A1", "d1")
    back = History.load(s.h.save(tmp_path / "h.jsonl"))
    assert back.fingerprint() == s.h.fingerprint()
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    try:
        History.load(tmp_path / "bad.jsonl")
    except ValueError as exc:
        assert "bad.jsonl:1" in str(exc)
    else:
        raise AssertionError("a malformed history line must be rejected")


# Hybrid-logical stamps: an edit ranks after the version its device held when it made it.

HYBRID = {"order": "client_modified_at", "granularity": "record", "respects_needs_sync": True,
          "stamps": "hybrid_logical"}
UNSEEN = object()


def edit(s: Story, device: str, wid: str, fields, *, device_time: float, before=UNSEEN,
         rid: str = "d1"):
    """A write at a chosen device time, persisted after it (as the World records it, the write's
    own persist comes first; the ledger must find the held version either way)."""
    s.tick()
    seen = {} if before is UNSEEN else {"before": before}
    s.h.write(device, "alice", wid, "daily_logs", rid, fields, time=s.t, device_time=device_time,
              after=None if fields is None else dict(fields), **seen)
    return s.put(device, "daily_logs", rid, s.record(wid, fields, device))


def clock_set_back(policy) -> Story:
    """B edits, its clock goes back an hour, B edits again; A pulls both."""
    s = Story(policy=policy)
    edit(s, "B", "B1", {"steps": 1}, device_time=5000.0, before=None)
    edit(s, "B", "B2", {"steps": 2}, device_time=1400.0, before={"steps": 1})
    return s


def test_hybrid_stamps_rank_an_edit_after_its_own_earlier_one_despite_a_clock_set_back():
    s = clock_set_back(HYBRID)
    s.put("A", "daily_logs", "d1", s.record("B2", {"steps": 2}, "B"), by="supabase")
    assert C.check_monotonic_read_your_writes(s.h).ok
    assert C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B2", {"steps": 2})).ok
    v = C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B1", {"steps": 1}))
    assert not v.ok and "hybrid-logical" in v.violations[0].message
    # Going back to B1 after B2 is a regression under the declared order.
    s.put("A", "daily_logs", "d1", s.record("B1", {"steps": 1}, "B"), by="cloudkit")
    v = C.check_monotonic_read_your_writes(s.h)
    assert not v.ok and "went back to the write B1" in v.violations[0].message


def test_plain_device_time_still_judges_a_client_that_declares_it():
    s = clock_set_back({**HYBRID, "stamps": "device_clock"})
    assert C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B1", {"steps": 1})).ok
    assert not C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B2", {"steps": 2})).ok
    t = clock_set_back({k: v for k, v in HYBRID.items() if k != "stamps"})  # undeclared: plain
    assert C.check_no_lost_write(t.h, both_devices_hold(t, "d1", "B1", {"steps": 1})).ok


def pulled_then_edited(b_held_a1: bool, **how) -> Story:
    """A (clock an hour ahead) writes A1; B, whose clock is right, writes B1 later in real time.
    Only if B's store held A1 when B wrote does B1 rank after A1."""
    s = Story(policy=HYBRID)
    edit(s, "A", "A1", {"steps": 1}, device_time=9000.0, before=None)
    if b_held_a1:
        s.put("B", "daily_logs", "d1", s.record("A1", {"steps": 1}, "A"), by="cloudkit")
    edit(s, "B", "B1", {"steps": 2}, device_time=5400.0, **how)
    return s


def test_hybrid_ranking_follows_the_version_the_device_held():
    held = pulled_then_edited(True, before={"steps": 1})
    assert C.check_no_lost_write(held.h, both_devices_hold(held, "d1", "B1", {"steps": 2})).ok
    v = C.check_no_lost_write(held.h, both_devices_hold(held, "d1", "A1", {"steps": 1}))
    assert not v.ok and "write B1" in v.violations[0].message  # fails if the held A1 is ignored
    # B never held A1: the two edits are concurrent and device time decides (A1).
    blind = pulled_then_edited(False, before=None)
    assert C.check_no_lost_write(blind.h, both_devices_hold(blind, "d1", "A1", {"steps": 1})).ok
    assert not C.check_no_lost_write(blind.h, both_devices_hold(blind, "d1", "B1", {"steps": 2})).ok


def test_hybrid_ranking_reads_the_held_version_from_persists_when_no_read_was_recorded():
    s = pulled_then_edited(True)  # no `before`: the persist of A1 on B's disk is the evidence
    assert C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B1", {"steps": 2})).ok
    assert not C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "A1", {"steps": 1})).ok


def test_hybrid_ranking_sees_a_held_version_only_in_memory_through_the_read_before():
    s = Story(policy=HYBRID)
    edit(s, "A", "A1", {"steps": 1}, device_time=9000.0, before=None)
    edit(s, "B", "B1", {"steps": 2}, device_time=5400.0, before={"steps": 1})  # merged, unpersisted
    assert C.check_no_lost_write(s.h, both_devices_hold(s, "d1", "B1", {"steps": 2})).ok


def test_a_recreate_ranks_after_the_tombstone_its_device_held():
    s = Story(policy=HYBRID)
    edit(s, "A", "A1", {"steps": 1}, device_time=9000.0, before=None)
    edit(s, "A", "A2", None, device_time=9001.0, before={"steps": 1})
    s.put("B", "daily_logs", "d1", s.record("A2", None, "A"), by="cloudkit")  # B pulls the delete
    edit(s, "B", "B1", {"steps": 3}, device_time=5400.0, before=None)  # a tombstone reads as nothing
    final = both_devices_hold(s, "d1", "B1", {"steps": 3})
    assert C.check_no_resurrection_no_phantom(s.h, final).ok
    assert C.check_no_lost_write(s.h, final).ok


def test_no_skipped_row_exempts_a_record_whose_cloudkit_zone_was_deleted_since():
    def story(zone_deleted: bool, backend: str = "cloudkit") -> Story:
        s = Story().write("B", "B1", "d1", {"steps": 1}).commit(backend, "B1", "d1")
        if zone_deleted:
            s.h.append("note", "world", "delete_zone", time=s.t, user="alice")
        return s.sync("A", backend)
    assert C.check_no_skipped_row(story(True).h).ok  # the record left the backend with the zone
    assert not C.check_no_skipped_row(story(False).h).ok
    # Deleting the CloudKit zone leaves Supabase's rows where they are.
    assert not C.check_no_skipped_row(story(True, "supabase").h).ok
    other = Story().write("B", "B1", "d1", {"steps": 1}).commit("cloudkit", "B1", "d1")
    other.h.append("note", "world", "delete_zone", time=other.t, user="bob")
    assert not C.check_no_skipped_row(other.sync("A", "cloudkit").h).ok


def test_liveness_bound_runs_from_the_heal_that_ended_the_faults():
    def story(*between, before=()) -> Story:
        s = Story(bound=600)
        for kind, t, value in before:
            s.h.append(*kind, time=t, **value)
        s.h.append("note", "world", "heal", time=0.0)  # a program may heal mid-way, then go on
        for kind, t, value in between:
            s.h.append(*kind, time=t, **value)
        s.h.append("note", "world", "heal", time=7300.0)
        s.h.append("note", "world", "quiescent", time=7390.0, settled=True, rounds=3)
        return s
    advanced = (("note", "world", "advance"), 7200.0, {"seconds": 7200.0})
    refused = (("net", "A", "decide:fail"), 7200.0, {"op": "POST /auth/v1/token"})
    # Faults armed and fired after the first heal: the bound runs from the heal after them.
    assert C.check_liveness(story(refused).h, {}).ok
    # The program's own advance of the clock is not the client's recovery time.
    assert C.check_liveness(story(advanced).h, {}).ok
    # Time that passed otherwise (a client's own waits) still counts from the first heal.
    v = C.check_liveness(story().h, {})
    assert not v.ok and "took 7390s" in v.violations[0].message
    crash = (("fault", "A", "crash"), 0.0, {"point": "mid_persist"})
    v = C.check_liveness(story(before=[crash]).h, {})  # the first heal ended the only fault
    assert not v.ok and "took 7390s" in v.violations[0].message


def test_a_read_of_nothing_after_a_later_delete_by_another_device_is_no_stale_read():
    def story(deleted_by_b: bool) -> Story:
        s = Story().write("A", "A1", "d1", {"steps": 1})
        if deleted_by_b:
            s.write("B", "B1", "d1", None)
        s.tick()
        s.h.append("ok", "A", "read", time=s.t, record_type="daily_logs", record_id="d1", got=None)
        return s
    assert C.check_monotonic_read_your_writes(story(True).h).ok
    v = C.check_monotonic_read_your_writes(story(False).h)  # nothing deleted it: A's write is gone
    assert not v.ok and "read None" in v.violations[0].message
