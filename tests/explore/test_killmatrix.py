"""The kill matrix answers the acceptance question: each mutant's first kill, and whether some run
of the tier kills it by the invariant the catalogue predicts (which run, and when)."""

import shutil
from pathlib import Path

import pytest

from dualsync.harness.explore import corpus, killmatrix
from dualsync.harness.explore.killmatrix import Kill, Row
from dualsync.harness.explore.machine import Config, Failure, machine_for
from dualsync.harness.explore.moves import Driver
from dualsync.harness.explore.profiles import Result
from dualsync.harness.explore.session import Outcome, Session
from dualsync.harness.scenario import Step, load

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"
QUIESCED = [Step("write", {"device": "A"}), Step("heal", {}), Step("sign_in", {"device": "A"}),
            Step("sign_in", {"device": "B"})]


def failure(*violated, steps=QUIESCED, client="mutant:x"):
    return Failure(client, {"A": {"user": "alice"}, "B": {"user": "alice"}}, list(steps), 0, None,
                   list(violated), "")


def dead(client, *violated, seconds=1.0):
    return Result(client, "replay", 0, seconds, failure(*violated, client=client))


def test_a_first_kill_that_includes_the_prediction_is_the_predicted_kill():
    row = Row("legacy", "no-lost-write", dead("legacy", "convergence", "no-lost-write"), stage="a.yaml")
    assert row.by_prediction == Kill("a.yaml", 1.0, ["convergence", "no-lost-write"])
    assert row.as_predicted and row.ok
    assert "yes, by the first kill" in killmatrix.line(row)


def test_a_kill_by_another_invariant_only_is_reported_and_fails_the_row():
    caught = Row("mutant:x", "convergence", dead("mutant:x", "no-skipped-row"), stage="a.yaml",
                 by_prediction=Kill("b.yaml", 7.25, ["convergence", "no-lost-write"]))
    missed = Row("mutant:y", "determinism", dead("mutant:y", "no-lost-write"), stage="c.yaml",
                 searched="27 replays and 80 examples")
    alive = Row("coordinated", None, Result("coordinated", "pr", 40, 9.0, None))
    assert caught.ok and not missed.ok and alive.ok
    assert "yes, 7.2s: b.yaml (1,2)" in killmatrix.line(caught)
    assert "NEVER (27 replays and 80 examples)" in killmatrix.line(missed)
    text = killmatrix.summary([caught, missed, alive])
    assert "caught, but never by the predicted invariant: mutant:y" in text
    assert text.endswith("killed 2/2\nkilled by the predicted invariant 1/2")


def test_exploration_passes_over_failures_without_the_prediction_until_one_has_it():
    search = killmatrix._Search("convergence", None, lambda: 3.0, budget=5)
    assert search(failure("no-skipped-row")) is False  # rejected: the example does not count
    assert search.first.failure.violated == ["no-skipped-row"] and search.hit is None
    assert search(failure("convergence", "no-lost-write")) is True
    assert search.hit.violated == ["convergence", "no-lost-write"]
    assert search(failure("liveness")) is True  # hypothesis reports the example it ends on again


def test_exploration_ends_once_as_many_failures_again_as_the_budget_were_passed_over():
    search = killmatrix._Search("determinism", None, lambda: 1.0, budget=2)
    assert search(failure("no-lost-write")) is False
    assert search(failure("no-lost-write")) is True
    assert search.hit is None and search.first is not None


def test_a_program_cut_at_a_step_is_played_out_before_it_is_judged(pg_database):
    """The kill matrix (and the hunt) judge a program a per-step check stopped as the teardown
    judges every program: wound down in the same World, then quiescence; the record keeps those
    steps, so its replay elsewhere plays the same."""
    scenario = load(SCENARIOS / "deep-sync-001-older-rows.yaml")
    m = machine_for(Config("mutant:login-race", pg_database))()
    m.session = Session("mutant:login-race", pg_database, scenario.devices, seed=scenario.seed)
    m.driver = Driver(m.session)
    for step in scenario.steps:
        m.session.do(step)
    cut = Failure("mutant:login-race", scenario.devices, list(scenario.steps), scenario.seed, None,
                  ["monotonic-read-your-writes"], "")
    messages = m._judged_to_end(Outcome({}, {}), False, cut)
    assert m.session.closed
    assert {"monotonic-read-your-writes", "no-lost-write"} <= set(cut.violated)
    assert "no-lost-write" in {name for name, _message in messages}
    wound_down = [(s.op, s.args.get("device")) for s in cut.steps[len(scenario.steps):]]
    assert wound_down == [("heal", None)] + [("sign_in", d) for d in scenario.devices]


def test_the_tier_goes_on_past_the_first_kill_to_a_run_with_the_prediction(pg_database, tmp_path,
                                                                            monkeypatch):
    # deep-sync-001 kills login-race only by its store going back; the older-rows variant loses a
    # write for good.
    shutil.copy(SCENARIOS / "deep-sync-001.yaml", tmp_path / "a.yaml")
    shutil.copy(SCENARIOS / "deep-sync-001-older-rows.yaml", tmp_path / "b.yaml")
    monkeypatch.setattr(killmatrix, "SCENARIOS", tmp_path)
    monkeypatch.setattr(corpus, "entries", lambda: [])
    row = killmatrix.tier("mutant:login-race", "no-lost-write", pg_database)
    assert row.stage == "a.yaml" and "no-lost-write" not in row.result.caught
    assert row.by_prediction.run == "b.yaml" and "no-lost-write" in row.by_prediction.violated
    assert row.by_prediction.seconds >= row.result.seconds and row.ok


@pytest.mark.slow
def test_exploration_that_never_meets_the_prediction_says_what_it_searched(pg_database):
    # Legacy fails within the first 25 examples of the pr tier (derandomized), never by isolation.
    row = killmatrix.tier("legacy", "isolation", pg_database, with_corpus=False, max_examples=25)
    assert row.killed and row.stage == "explore" and row.by_prediction is None
    assert row.searched.endswith("examples") and not row.ok
    assert "NEVER" in killmatrix.line(row)
