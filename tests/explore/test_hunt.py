"""Hunts attribute a legacy failure to a finding counterfactually: legacy with that one bug fixed."""

import dataclasses
import importlib

from dualsync import clients
from dualsync.harness.explore import hunt


def test_each_counterfactual_is_legacy_with_exactly_one_switch_flipped():
    hunt.register_counterfactuals()
    by_name = importlib.import_module("dualsync.clients.catalogue").BY_NAME
    legacy = dataclasses.asdict(by_name["legacy"].behaviour)
    for finding, name in hunt.FINDINGS.items():
        fixed = dataclasses.asdict(by_name[name].behaviour)
        changed = {k for k in legacy if legacy[k] != fixed[k]}
        assert changed == set(hunt.FIXES[finding]), finding
    # The catalogue users see is untouched: the variants are not advertised as clients.
    assert not any(n.startswith("legacy-without:") for n, _d, _p in clients.catalogue())


def test_a_median_over_seeds_counts_a_seed_that_never_found_it_as_the_latest():
    def rows(*examples):
        return [hunt.Detection("DEEP-SYNC-002", i, e, None if e is None else e / 2)
                for i, e in enumerate(examples)]
    assert hunt.medians(rows(4, None, 10)) == {"found": "2/3", "median_examples": 10,
                                               "median_seconds": 5.0}
    assert hunt.medians(rows(4, 8, 10, 30)) == {"found": "4/4", "median_examples": 9.0,
                                                "median_seconds": 4.5}
    # Half the seeds or fewer: no median, whatever the seeds that found it took.
    assert hunt.medians(rows(4, None, 10, None))["median_examples"] is None
    assert hunt.medians(rows(None, None, 1))["median_seconds"] is None


def test_a_run_shows_the_violations_a_replay_of_it_shows(pg_database):
    """Hunts take legacy's side of the counterfactual from the run itself instead of replaying it:
    sound only while a program gives the same violations, word for word, every time it runs."""
    from pathlib import Path

    from dualsync.harness.explore.machine import Failure
    from dualsync.harness.explore.session import Session
    from dualsync.harness.scenario import load

    scenario = load(Path(__file__).resolve().parents[2] / "suites" / "scenarios" / "deep-sync-001.yaml")
    with Session("legacy", pg_database, scenario.devices, seed=scenario.seed, ck_page=2) as s:
        for step in scenario.steps:
            s.do(step)
        seen = s.finish().messages()
    failure = Failure("legacy", scenario.devices, scenario.steps, scenario.seed, 2, [], "", lambda: seen)
    assert {n for n, _m in seen} >= {"no-lost-write", "monotonic-read-your-writes"}
    assert hunt.violations(failure, "legacy", pg_database) == seen
    assert hunt.caused_by("DEEP-SYNC-001", failure, pg_database)
    assert not hunt.caused_by("DEEP-SYNC-002", failure, pg_database)


def test_a_program_that_never_reaches_a_switch_runs_the_same_with_it_flipped(pg_database):
    """The shortcut `reaches` takes: no bit rot and no key rotation, so the cursor switch of
    DEEP-SYNC-002 changes nothing; the same program with daily logs removed never reaches 003's."""
    import dataclasses
    from pathlib import Path

    from dualsync.harness.explore.machine import Failure
    from dualsync.harness.scenario import load

    hunt.register_counterfactuals()
    scenario = load(Path(__file__).resolve().parents[2] / "suites" / "scenarios" / "deep-sync-001.yaml")
    failure = Failure("legacy", scenario.devices, scenario.steps, scenario.seed, 2, [], "")
    assert not hunt.reaches("DEEP-SYNC-002", failure) and hunt.reaches("DEEP-SYNC-003", failure)
    on_legacy = hunt.violations(failure, "legacy", pg_database)
    assert on_legacy and on_legacy == hunt.violations(failure, hunt.FINDINGS["DEEP-SYNC-002"], pg_database)
    no_logs = dataclasses.replace(failure, steps=[s for s in failure.steps if s.args.get("type") != "daily_logs"])
    assert not hunt.reaches("DEEP-SYNC-003", no_logs)
    assert (hunt.violations(no_logs, "legacy", pg_database)
            == hunt.violations(no_logs, hunt.FINDINGS["DEEP-SYNC-003"], pg_database))
    with_rot = dataclasses.replace(failure, steps=failure.steps + [
        dataclasses.replace(failure.steps[0], op="corrupt", args={"user": "alice", "type": "profiles", "id": "x"})])
    assert hunt.reaches("DEEP-SYNC-002", with_rot)


def test_a_tally_counts_each_program_the_finding_causes_once(monkeypatch):
    from dualsync.harness.explore.machine import Failure
    from dualsync.harness.explore.profiles import Result
    from dualsync.harness.scenario import Step

    def program(*ops):
        return Failure("legacy", {}, [Step(op, {"device": "A"}) for op in ops], 0, None, ["x"], "")

    def explore(client, database, profile, *, accept, **_):
        answers = [accept(f) for f in (program("corrupt", "sync"), program("corrupt", "sync"),
                                       program("rotate_key", "sync"), program("sync"))]
        assert answers == [False] * 4  # a tally never stops the run
        return Result(client, profile, 9, 3.0, None)

    monkeypatch.setattr(hunt, "explore", explore)
    monkeypatch.setattr(hunt, "caused_by", lambda finding, f, db: f.steps[0].op != "sync")
    assert hunt.tally("DEEP-SYNC-002", 1, None) == hunt.Tally("DEEP-SYNC-002", 1, 9, 2, 3.0)


def test_a_detection_whose_replay_fails_differently_is_kept_and_flagged(pg_database):
    """Hypothesis runs the example it ends on once more to report it. Should that run not fail as
    the first did (here the filter turns it down), the detection stands and the hunt says the
    program did not replay deterministically, instead of crashing the campaign."""
    from dualsync.harness.explore.profiles import explore
    answers = iter([True])
    result = explore("legacy", pg_database, "hunt", shrink=False, seed=3, max_examples=40,
                     accept=lambda failure: next(answers, False))
    assert result.detected is not None and result.failure is not None
    assert not result.replayed


def test_a_counterfactual_replay_passes_over_a_release_the_fixed_client_never_met(pg_database):
    """A race recorded on legacy releases a request the fixed client does not send by then: the
    replay goes on without that step instead of ending the hunt."""
    from dualsync.harness.explore.machine import Failure
    from dualsync.harness.scenario import Step
    steps = [Step("sign_in", {"device": "A"}), Step("release", {"names": ["h1"]}),
             Step("write", {"device": "A", "type": "profiles", "id": "10000000-0000-4000-8000-0000000e4e00",
                            "fields": {"display_name": "n", "goal": "maintain"}})]
    failure = Failure("legacy", {"A": {"user": "alice"}}, steps, 0, None, [], "")
    assert hunt.violations(failure, "coordinated", pg_database) == set()
