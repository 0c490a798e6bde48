"""A crash (SIGKILL) of the Node client at each fault point it declares, on `fixed`: after a
relaunch on the same store directory and another sync, no acknowledged write is lost, on the
device or on either backend."""

from __future__ import annotations

import pytest

from tests.node.driver import Crashed
from tests.node.support import reads, rid, seeded

pytestmark = pytest.mark.node

POINTS = ("before_send", "after_reply", "before_persist", "mid_persist")


def kill_at(device, point: str, nth: int):
    seen = []

    def gate(event: dict):
        if event["point"] == point:
            seen.append(event)
            if len(seen) == nth:
                return "kill"
        return None

    return gate


def crash_and_recover(backends, variant: str, point: str, nth: int):
    """B (fresh install, two offline edits) is killed at the nth `point` of its first syncs,
    relaunched, and syncs again; A then pulls both paths."""
    async def scenario():
        a, ids = await seeded(backends)
        b = await backends.node(variant, "B")
        assert point in b.hello["fault_points"]
        await b.command("sign_in", **backends.auth("B"))
        mine = {"weekly_snapshots": rid(), "cardio_sessions": rid()}
        acked = {}
        for table, record in mine.items():       # offline edits, before the first sync
            await b.command("write", type=table, id=record, fields={"by": "B", "table": table})
            acked[table] = {"by": "B", "table": table}
        b.gate = kill_at(b, point, nth)
        try:
            await b.command("login_sync")
            await b.command("sync", path="supabase")
            await b.command("sync", path="cloudkit")
        except Crashed:
            pass
        assert b.killed_at is not None, f"the client never reached {point} #{nth}"
        await b.relaunch()
        await b.command("login_sync")
        await b.command("sync", path="supabase")
        await b.command("sync", path="cloudkit")
        on_b = await reads(b, {**ids, **mine})
        snapshot = await b.command("snapshot")
        await a.command("sync", path="supabase")
        on_a_via_supabase = await reads(a, mine)
        await a.command("sync", path="cloudkit")
        return on_b, snapshot, on_a_via_supabase, await reads(a, mine), acked, ids

    return backends.run(scenario)


# Every point at its first stop; the 3rd stop of two of them lands later in the round (an upload's
# reply, the persist of a later sync). The harness's sweep of crash-at-fault-points.yaml covers
# every stop of one scenario (see examples/node-sync/README.md).
CASES = [(p, 1) for p in POINTS] + [("after_reply", 3), ("mid_persist", 3)]


@pytest.mark.parametrize(("point", "nth"), CASES, ids=[f"{p}-{n}" for p, n in CASES])
def test_fixed_loses_no_acknowledged_write_when_killed_at_a_fault_point(backends, point, nth):
    on_b, snapshot, on_a_supabase, on_a, acked, ids = crash_and_recover(backends, "fixed", point, nth)
    assert on_b == {"profiles": {"display_name": "Ana"}, "photos": {"caption": "day one"},
                    "daily_logs": {"steps": 9000}, **acked}, "B lost a write after the crash"
    assert not [r for rows in snapshot.values() for r in rows.values() if r["needs_sync"]], "uploads left queued"
    assert on_a_supabase == acked, "Supabase lacks B's acknowledged writes"
    assert on_a == acked


def test_legacy_killed_before_persisting_its_login_pull_never_fetches_it_again(backends):
    """The same check catches the shipped app: its pull positions were saved the moment they
    moved (UserDefaults), the records they cover were not, so the relaunched app never asks again."""
    on_b, *_ = crash_and_recover(backends, "legacy", "before_persist", 1)
    lost = [t for t, v in {"profiles": {"display_name": "Ana"}, "photos": {"caption": "day one"}}.items() if on_b[t] != v]
    assert lost, f"legacy kept every pulled record: {on_b}"
