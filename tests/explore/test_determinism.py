"""Exploration's determinism check: the same program twice, histories compared event by event."""

from __future__ import annotations

import asyncio

from dualsync.harness.explore import determinism
from dualsync.harness.explore.profiles import explore
from dualsync.harness.explore.session import Session
from dualsync.harness.history import History
from dualsync.harness.scenario import Step


def history(*steps: int) -> History:
    h = History()
    for n in steps:
        h.append("note", "world", "advance", time=float(n), seconds=n)
    return h


def test_compare_names_the_first_event_where_two_runs_part():
    assert determinism.compare(history(1, 2, 3), history(1, 2, 3)).ok
    v = determinism.compare(history(1, 2, 3), history(1, 5, 3))
    assert not v.ok and "part at event 1" in v.violations[0].message
    assert '"seconds": 5' in v.violations[0].message
    short = determinism.compare(history(1, 2, 3), history(1, 2))
    assert not short.ok and "3 events, then 2" in short.violations[0].message


def test_wall_clock_time_is_not_a_difference():
    a, b = History(), History()
    a.append("note", "world", "x", time=1.0, k=1)
    b.append("note", "world", "x", time=2.0, k=1)
    assert determinism.compare(a, b).ok


def test_the_machine_reports_a_program_that_does_not_replay(pg_database, monkeypatch):
    """A World whose second run differs (here: the rerun is tampered with) fails the example by
    invariant 6, on a client that otherwise passes."""
    real = determinism.rerun

    def tampered(*args, **kwargs):
        h = real(*args, **kwargs)
        h.append("note", "world", "extra", time=0.0)
        return h

    monkeypatch.setattr(determinism, "rerun", tampered)
    result = explore("coordinated", pg_database, "pr", shrink=False, max_examples=2,
                     stateful_step_count=2, determinism=1)
    assert result.failure is not None and result.caught == ["determinism"]
    assert "ran twice" in result.failure.explanation


def test_an_honest_rerun_passes(pg_database):
    result = explore("coordinated", pg_database, "pr", shrink=False, max_examples=3,
                     stateful_step_count=4, determinism=1)
    assert result.failure is None, result.failure and result.failure.explanation



class _Slow:
    """A backend transport whose every reply comes 20 ms of real time late."""

    def __init__(self, inner):
        self.inner = inner

    async def handle_async_request(self, request):
        reply = await self.inner.handle_async_request(request)
        await asyncio.sleep(0.02)
        return reply

    async def aclose(self):
        await self.inner.aclose()


class _NoLock:
    async def __aenter__(self):
        return None

    async def __aexit__(self, *exc):
        return False


def _quick_and_slow(pg_database, *, unlocked: bool = False) -> tuple[History, History]:
    """One program, four syncs in flight at once and two login syncs (both paths at once), run
    as is and with every Supabase reply late (and, `unlocked`, the Conductor's one-request-at-a-
    time lock taken away in the late run)."""
    rid = "10000000-0000-4000-8000-0000000000{:02d}".format
    steps = [Step("sign_in", {"device": "A"}), Step("sign_in", {"device": "B"})]
    for i in range(3):
        for device, n in (("A", i), ("B", i + 10)):
            steps.append(Step("write", {"device": device, "type": "profiles", "id": rid(n),
                                        "fields": {"display_name": f"{device}{i}", "goal": "maintain"}}))
    paths = (("A", "supabase"), ("B", "cloudkit"), ("A", "cloudkit"), ("B", "supabase"))
    steps += [Step("sync", {"device": d, "path": p, "wait": False, "as": f"{d}-{p}"}) for d, p in paths]
    steps += [Step("wait", {"names": [f"{d}-{p}" for d, p in paths]}),
              Step("login_sync", {"device": "A"}), Step("login_sync", {"device": "B"})]

    def run(slow: bool) -> History:
        devices = {"A": {"user": "alice"}, "B": {"user": "alice"}}
        with Session("coordinated", pg_database, devices, seed=3) as s:
            conductor = s.world.conductor
            if slow:
                conductor.backends["supabase"] = _Slow(conductor.backends["supabase"])
                if unlocked:
                    conductor._lock = _NoLock()
            for step in steps:
                s.do(step)
            s.finish()
            return s.world.history

    return run(False), run(True)


def test_a_programs_history_does_not_depend_on_how_long_postgres_takes(pg_database):
    """Under load Postgres answers later while the other device tasks keep running; the Conductor
    lets one request at a time reach a backend, so the history must not change."""
    quick, slow = _quick_and_slow(pg_database)
    assert len(quick) > 50  # the program did run: requests, replies, commits, persists
    verdict = determinism.compare(quick, slow)
    assert verdict.ok, verdict.violations[0].message


def test_without_the_conductors_lock_a_late_reply_changes_the_history(pg_database):
    """The check above can fail: with requests no longer one at a time, 20 ms of latency moves
    another device's reply ahead of an operation's start."""
    quick, slow = _quick_and_slow(pg_database, unlocked=True)
    verdict = determinism.compare(quick, slow)
    assert not verdict.ok and "histories part" in verdict.violations[0].message
