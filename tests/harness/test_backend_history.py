"""Invariant 10 (backend history): each backend's committed versions of a record only move forward."""

from __future__ import annotations

from dualsync.harness import checkers as C
from tests.harness.builders import Story


def two_edits() -> Story:
    """B edits first, A later: A's write ranks after B's in every order the policies declare."""
    return Story().write("B", "B1", "d1", {"steps": 1}).write("A", "A1", "d1", {"steps": 2})


def test_a_backend_going_back_to_an_older_write_is_a_violation_even_if_it_recovers():
    s = two_edits().commit("cloudkit", "A1", "d1").commit("cloudkit", "B1", "d1")
    s.commit("cloudkit", "A1", "d1")  # the newer write's author put it back: the end looks fine
    v = C.check_backend_history(s.h)
    assert not v.ok and len(v.violations) == 1
    msg = v.violations[0].message
    assert "cloudkit's copy of daily_logs/d1 of alice went back in time" in msg
    assert "write A1" in msg and "write B1" in msg and "ranks before it" in msg


def test_forward_moves_and_recommits_of_the_same_write_hold():
    s = two_edits().commit("cloudkit", "B1", "d1").commit("cloudkit", "A1", "d1")
    s.commit("cloudkit", "A1", "d1").commit("supabase", "B1", "d1").commit("supabase", "A1", "d1")
    v = C.check_backend_history(s.h)
    assert v.ok and v.checked == 5


def test_each_backend_and_record_has_its_own_history():
    # Supabase getting the older write after CloudKit got the newer one is no regression.
    s = two_edits().commit("cloudkit", "A1", "d1").commit("supabase", "B1", "d1")
    s.write("B", "B2", "d2", {"steps": 3}).commit("cloudkit", "B2", "d2")
    assert C.check_backend_history(s.h).ok


def test_the_ranking_is_the_declared_order():
    # Under device time, a write made later in real time by a device whose clock is behind ranks
    # first; under arrival, real-time order decides.
    s = Story(policy={"order": "client_modified_at", "granularity": "record"})
    s.write("A", "A1", "d1", {"steps": 1})
    s.tick()
    s.h.write("B", "alice", "B1", "daily_logs", "d1", {"steps": 2}, time=s.t, device_time=0.5,
              after={"steps": 2})
    s.commit("supabase", "A1", "d1").commit("supabase", "B1", "d1")
    assert not C.check_backend_history(s.h).ok
    t = Story(policy={"order": "arrival", "granularity": "record"})
    t.write("A", "A1", "d1", {"steps": 1})
    t.tick()
    t.h.write("B", "alice", "B1", "daily_logs", "d1", {"steps": 2}, time=t.t, device_time=0.5,
              after={"steps": 2})
    t.commit("supabase", "A1", "d1").commit("supabase", "B1", "d1")
    assert C.check_backend_history(t.h).ok


def test_a_lost_version_starts_the_history_afresh():
    # Bit rot destroyed the newer version: whatever comes next replaces garbage, not a newer write.
    s = two_edits().commit("cloudkit", "A1", "d1").commit("cloudkit", None, "d1", decryptable=False)
    assert C.check_backend_history(s.commit("cloudkit", "B1", "d1").h).ok
    # The zone was deleted: the record went with it.
    z = two_edits().commit("cloudkit", "A1", "d1")
    z.h.append("note", "world", "delete_zone", time=z.t, user="alice")
    assert C.check_backend_history(z.commit("cloudkit", "B1", "d1").h).ok
    # Another user's zone, or Supabase, keeps its history.
    o = two_edits().commit("cloudkit", "A1", "d1").commit("supabase", "A1", "d1")
    o.h.append("note", "world", "delete_zone", time=o.t, user="bob")
    o.h.append("note", "world", "delete_zone", time=o.t, user="alice")
    assert len(C.check_backend_history(o.commit("cloudkit", "B1", "d1").commit(
        "supabase", "B1", "d1").h).violations) == 1


def test_a_write_the_backend_rolled_back_is_not_a_commit(pg_database, tmp_path):
    """A 201 whose Preference-Applied says tx=rollback (PostgREST under db-tx-end
    commit-allow-override) wrote nothing: no commit event; the same reply without it is one."""
    import asyncio

    import httpx

    from dualsync.harness.backends.reading import CommitRecorder
    from dualsync.harness.world import World

    async def body() -> list[int]:
        pg_database.reset()
        world = World(client="coordinated", database=pg_database, store_root=tmp_path,
                      devices={"A": {"user": "alice"}})
        try:
            recorder = next(o for o in world.conductor.observers if isinstance(o, CommitRecorder))
            row = {"id": "0d000000-0000-4000-8000-000000000001", "payload": "bm90IGEgcGF5bG9hZA==", "key_version": 1}
            request = httpx.Request("POST", "https://project.supabase.co/rest/v1/daily_logs", json=[row],
                                    headers={"Prefer": "return=minimal, tx=rollback"})
            counts = []
            for applied in ("return=minimal, tx=rollback", "return=minimal"):
                recorder("A", "supabase", request, httpx.Response(201, headers={"Preference-Applied": applied}))
                counts.append(len(world.history.commits()))
            return counts
        finally:
            await world.aclose()
    assert asyncio.run(body()) == [0, 1]
