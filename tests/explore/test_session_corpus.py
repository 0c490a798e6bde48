"""Session drives a World step by step; the corpus writes failures as scenario files and replays
them with the verdict their file expects."""

from pathlib import Path

from dualsync.harness.explore import corpus
from dualsync.harness.explore.machine import Failure
from dualsync.harness.explore.session import Session
from dualsync.harness.scenario import load

ROOT = Path(__file__).resolve().parents[2]


def _deep_sync_001():
    return load(ROOT / "suites" / "scenarios" / "deep-sync-001.yaml")


def _run(client, pg):
    scenario = _deep_sync_001()
    with Session(client, pg, scenario.devices, seed=scenario.seed) as session:
        for step in scenario.steps:
            session.do(step)
        return session.steps, session.finish()


def test_session_replays_a_scenario_and_sees_deep_sync_001_on_legacy_only(pg_database):
    steps, legacy = _run("legacy", pg_database)
    assert len(steps) == len(_deep_sync_001().steps)
    assert "no-lost-write" in legacy.violated
    _, coordinated = _run("coordinated", pg_database)
    assert coordinated.violated == [], coordinated.explain()


def test_a_failure_round_trips_through_the_corpus(pg_database, tmp_path):
    steps, outcome = _run("legacy", pg_database)
    failure = Failure("legacy", _deep_sync_001().devices, steps, 1, None, outcome.violated,
                      outcome.explain())
    path = corpus.save(failure, tmp_path)
    assert corpus.save(failure, tmp_path) == path  # the same program is one entry
    scenario = load(path)
    assert scenario.expect == {"coordinated": "pass"} and scenario.guards == outcome.violated
    assert "found-on:legacy" in scenario.tags
    ok, replayed, _ = corpus.replay(path, "legacy", pg_database)
    assert not ok and replayed.violated == outcome.violated  # the entry has teeth
    ok, replayed, _ = corpus.replay(path, "coordinated", pg_database)
    assert ok and replayed.violated == []


def test_the_page_cap_survives_the_scenario_format(tmp_path):
    failure = Failure("legacy", {"A": {"user": "alice", "skew": 0.0}}, [], 3, 2, ["convergence"], "x")
    assert corpus.ck_page(load(corpus.save(failure, tmp_path))) == 2



def test_closing_mid_request_ends_the_backend_call_too(pg_database, caplog):
    """A device operation cancelled while its request is still inside a backend (a per-step check
    ended the example) takes that backend call down with it: nothing is left to run, or to be
    destroyed pending, once the Session's loop is closed."""
    import asyncio
    import gc
    from dualsync.harness.scenario import Step
    session = Session("legacy", pg_database, {"A": {"user": "alice"}}, seed=1)
    session.do(Step("sign_in", {"device": "A"}))
    session.do(Step("write", {"device": "A", "type": "profiles",
                              "id": "10000000-0000-4000-8000-0000000e4e00",
                              "fields": {"display_name": "n", "goal": "maintain"}}))
    ended = []

    async def stuck(request):  # a backend that never answers
        try:
            await asyncio.Event().wait()
        finally:
            ended.append(request.url.path)

    session.world.conductor.backends["supabase"].handle_async_request = stuck
    session.do(Step("sync", {"device": "A", "path": "supabase", "wait": False, "as": "s"}))
    session.loop.run_until_complete(asyncio.sleep(0.05))
    session.close()
    gc.collect()
    assert ended, "the backend call was never ended"
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]


def test_store_directories_of_killed_explorations_are_swept(monkeypatch, tmp_path):
    import os
    import subprocess

    from dualsync.harness.explore import session as session_module
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"dualsync-explore-{gone.pid}-abc"
    alive = tmp_path / f"dualsync-explore-{os.getppid()}-def"
    unnamed = tmp_path / "dualsync-explore-q1w2e3"  # made before directories named their maker
    for d in (dead, alive, unnamed):
        (d / "A").mkdir(parents=True)
    monkeypatch.setattr(session_module, "_SCRATCH", str(tmp_path))
    monkeypatch.setattr(session_module, "_swept", [])
    session_module._sweep_once()
    assert not dead.exists() and alive.exists() and unnamed.exists()
