"""Session drives a World step by step; the corpus writes failures as scenario files and replays
them with the verdict their file expects."""

from pathlib import Path

from harness.explore import corpus
from harness.explore.machine import Failure
from harness.explore.session import Session
from harness.scenario import load

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
