"""The World over the real fakes and clients: driven as a plain object, through scenario files,
saved and replayed. Needs the worker's Postgres (the `pg_database` fixture)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dualsync.clients.app import ZONE
from dualsync.harness import runner
from dualsync.harness.history import History
from dualsync.harness.scenario import load
from dualsync.harness.world import World

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"


def test_world_is_a_plain_object_a_driver_can_step(pg_database, tmp_path):
    async def drive():
        pg_database.reset()
        world = World(client="coordinated", database=pg_database, store_root=tmp_path,
                      devices={"A": {"user": "alice"}, "B": {"user": "alice"}})
        try:
            await world.sign_in("A")
            await world.sign_in("B")
            wid = await world.write("A", "daily_logs", "0a000000-0000-4000-8000-000000000001",
                                    {"date": "2026-03-01", "steps": 10})
            await world.sync("A", "supabase")
            final = await world.quiesce()
        finally:
            await world.aclose()
        return world.history, final, wid
    history, final, wid = asyncio.run(drive())
    assert final["device:B"]["daily_logs"]["0a000000-0000-4000-8000-000000000001"]["write_id"] == wid
    assert {c.process for c in history.commits()} == {"supabase", "cloudkit"}
    assert any(e.f == "quiescent" and e.value["settled"] for e in history)


def test_a_probe_the_network_drops_is_recorded_as_unanswered(pg_database, tmp_path):
    async def drive():
        pg_database.reset()
        world = World(client="coordinated", database=pg_database, store_root=tmp_path,
                      devices={"A": {"user": "alice"}})
        try:
            await world.sign_in("A")
            world.decide("fail", device="A", path="supabase", error="drop")
            await world.probe("A", "forged", "supabase")   # lost: no answer, no crash
            await world.probe("A", "forged", "supabase")   # the fault fired once: answered
        finally:
            await world.aclose()
        return [e for e in world.history if e.f == "probe"]
    lost, answered = asyncio.run(drive())
    assert lost.type == "info" and "status" not in lost.value and "ConnectError" in lost.value["error"]
    assert answered.type == "ok" and answered.value["status"] == 401


def test_damage_at_rest_keeps_the_row_in_place_and_damage_written_moves_it(pg_database, tmp_path):
    """Bit rot in storage is no write: the row keeps its updated_at and its place in the CloudKit
    change feed, so only a device still behind it meets it; damage that came in as a write is
    stamped anew and reaches every device's next pull."""
    rid = "0a000000-0000-4000-8000-0000000000d1"

    async def drive():
        pg_database.reset()
        world = World(client="coordinated", database=pg_database, store_root=tmp_path,
                      devices={"A": {"user": "alice"}})

        def place():
            with pg_database.connect() as conn:
                stamp = conn.execute("select updated_at from public.daily_logs where id = %s",
                                     (rid,)).fetchone()[0]
            rec = world.backends.cloudkit.db("alice").zones[ZONE].records[rid]
            return stamp, rec.position, rec.fields["payload"]

        try:
            await world.sign_in("A")
            await world.write("A", "daily_logs", rid, {"date": "2026-03-01", "steps": 10})
            await world.sync("A", "supabase")
            await world.sync("A", "cloudkit")
            world.clock.advance(30)
            places = [place()]
            world.corrupt("alice", "daily_logs", rid, at_rest=True)
            places.append(place())
            world.corrupt("alice", "daily_logs", rid)
            places.append(place())
        finally:
            await world.aclose()
        return places

    healthy, rotten, rewritten = asyncio.run(drive())
    assert rotten[:2] == healthy[:2] and rotten[2] != healthy[2]
    assert rewritten[0] > rotten[0] and rewritten[1] > rotten[1]


def test_a_run_saved_as_a_file_replays_to_the_same_history(pg_database, tmp_path):
    first = runner.run(load(SCENARIOS / "deep-sync-001.yaml"), "legacy", pg_database, reports=None)
    saved = runner.save_run(first, tmp_path)
    again = runner.run(load(saved), "legacy", pg_database, reports=None)
    assert again.history.fingerprint() == first.history.fingerprint()
    assert load(saved).expected_for("legacy") == first.violated and again.judgement()[0]
    kept = History.load(saved.with_suffix("").with_suffix(".history.jsonl"))
    assert kept.fingerprint() == first.history.fingerprint()


@pytest.mark.slow
def test_deep_sync_001_replays_ten_times_out_of_ten(pg_database):
    scenario = load(SCENARIOS / "deep-sync-001.yaml")
    prints = {repr(runner.run(scenario, "legacy", pg_database, reports=None).history.fingerprint())
              for _ in range(10)}
    assert len(prints) == 1


def test_legacy_findings_are_reported_with_invariant_events_diagram_and_replay(pg_database, tmp_path):
    for name, invariant in [("deep-sync-001", "no-lost-write"), ("deep-sync-002", "no-skipped-row"),
                            ("deep-sync-003", "no-lost-unsynced-edit")]:
        result = runner.run(load(SCENARIOS / f"{name}.yaml"), "legacy", pg_database, reports=tmp_path)
        verdict = result.verdicts[invariant]
        assert not verdict.ok and verdict.violations[0].events, name
        assert result.report.exists() and 'class="event blamed"' in result.report.read_text()
        assert f"replay suites/scenarios/{name}.yaml --client=legacy" in result.replay_command() \
            or f"{name}.yaml --client=legacy" in result.replay_command()
