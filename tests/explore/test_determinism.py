"""Exploration's determinism check: the same program twice, histories compared event by event."""

from __future__ import annotations

from dualsync.harness.explore import determinism
from dualsync.harness.explore.profiles import explore
from dualsync.harness.history import History


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
