"""Hunts attribute a legacy failure to a finding counterfactually: legacy with that one bug fixed."""

import dataclasses
import importlib

import clients
from harness.explore import hunt


def test_each_counterfactual_is_legacy_with_exactly_one_switch_flipped():
    hunt.register_counterfactuals()
    by_name = importlib.import_module("clients.catalogue").BY_NAME
    legacy = dataclasses.asdict(by_name["legacy"].behaviour)
    for finding, name in hunt.FINDINGS.items():
        fixed = dataclasses.asdict(by_name[name].behaviour)
        changed = {k for k in legacy if legacy[k] != fixed[k]}
        assert changed == set(hunt.FIXES[finding]), finding
    # The catalogue users see is untouched: the variants are not advertised as clients.
    assert not any(n.startswith("legacy-without:") for n, _d, _p in clients.catalogue())


def test_medians_count_only_seeds_that_found_it():
    rows = [hunt.Detection("DEEP-SYNC-001", 1, 4, 2.0), hunt.Detection("DEEP-SYNC-001", 2, None, None),
            hunt.Detection("DEEP-SYNC-001", 3, 10, 6.0)]
    assert hunt.medians(rows) == {"found": "2/3", "median_examples": 7.0, "median_seconds": 4.0}


def test_a_run_shows_the_violations_a_replay_of_it_shows(pg_database):
    """Hunts take legacy's side of the counterfactual from the run itself instead of replaying it:
    sound only while a program gives the same violations, word for word, every time it runs."""
    from pathlib import Path

    from harness.explore.machine import Failure
    from harness.explore.session import Session
    from harness.scenario import load

    scenario = load(Path(__file__).resolve().parents[2] / "suites" / "scenarios" / "deep-sync-001.yaml")
    with Session("legacy", pg_database, scenario.devices, seed=scenario.seed, ck_page=2) as s:
        for step in scenario.steps:
            s.do(step)
        seen = s.finish().messages()
    failure = Failure("legacy", scenario.devices, scenario.steps, scenario.seed, 2, [], "", seen)
    assert {n for n, _m in seen} >= {"no-lost-write", "monotonic-read-your-writes"}
    assert hunt.violations(failure, "legacy", pg_database) == seen
    assert hunt.caused_by("DEEP-SYNC-001", failure, pg_database)
    assert not hunt.caused_by("DEEP-SYNC-002", failure, pg_database)
