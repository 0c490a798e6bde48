"""A mixed CloudKit batch (`fail: {ck_item_error: ..., mixed: true}`): the Conductor fails every
other operation with the item error and sends the rest to the server, so one reply carries two
failure kinds. Shown on a scenario file (tests/harness/programs/): B's batch of two gets THROTTLED for the first
record and a save conflict (from the server itself) for the second; coordinated waits and resends
the first, merges and resends the second, and every invariant holds."""

from __future__ import annotations

from pathlib import Path

from dualsync.harness import runner
from dualsync.harness.scenario import load, loads

FILE = Path(__file__).parent / "programs" / "ck-mixed-batch.yaml"


def test_one_reply_carries_an_injected_error_and_the_servers_conflict(pg_database):
    result = runner.run(load(FILE), "coordinated", pg_database, reports=None)
    events = list(result.history)
    mixed = [e for e in events if e.process == "B/cloudkit" and e.f == "fail" and e.value.get("mixed")]
    assert [(e.value["failed"], e.value["forwarded"]) for e in mixed] == [(1, 1)]
    after = [e for e in events if e.index > mixed[0].index and e.process == "B/cloudkit"
             and e.f == "request"]
    ops = [e.value["op"].rsplit("/", 1)[-1] for e in after]
    # the server's conflict is merged at once (a lookup), then the records go out again (the
    # throttled one, stale too, conflicts in its turn and is merged the same way)
    assert ops[:2] == ["lookup", "modify"] and ops.count("modify") >= 2, ops
    assert not [n for n, v in result.verdicts.items() if not v.ok], result.verdicts


def test_a_batch_of_one_or_an_atomic_batch_fails_whole(pg_database):
    # Prediction: with one record in the batch nothing is forwarded (the Conductor falls back to a
    # whole-batch item error), so no fail event says `forwarded`.
    text = FILE.read_text().replace(
        "  - write: {device: B, type: cardio_sessions, id: 41000000-0000-4000-8000-000000000002, "
        "fields: {kind: row, minutes: 40}}\n", "")
    result = runner.run(loads(text, "one-record"), "coordinated", pg_database, reports=None)
    fails = [e for e in result.history if e.process == "B/cloudkit" and e.f == "fail"]
    assert len(fails) == 1 and "forwarded" not in fails[0].value
