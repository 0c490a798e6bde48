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
