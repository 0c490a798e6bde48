"""Scenario files through the harness, with the Node client as an external device
(`--client=cmd:node examples/node-sync/adapter.js <variant>`): the case study's finding files,
where `legacy` (which declares `expect_as: legacy`) must show each file's expected violations and
`fixed` must pass, and the files that found bugs in `fixed`."""

from __future__ import annotations

import pathlib

import pytest

from tests.node.conftest import ADAPTER, ROOT

pytestmark = pytest.mark.node

SCENARIOS = ROOT / "suites" / "scenarios"
FINDINGS = sorted(SCENARIOS.glob("deep-sync-00*.yaml"))
# Files that once failed on `fixed` (the bug they found in node-sync is fixed; they stay here), and
# the one that exercises the disk_faults capability node-sync claims.
REGRESSIONS = [SCENARIOS / "ck-conflict-under-key-rotation.yaml", SCENARIOS / "disk-faults.yaml"]
CASES = [(p, v) for p in FINDINGS for v in ("legacy", "fixed")] + [(p, "fixed") for p in REGRESSIONS]


@pytest.mark.parametrize(("path", "variant"), CASES, ids=[f"{p.stem}-{v}" for p, v in CASES])
def test_scenario_through_the_harness(node_modules, pg_database, path: pathlib.Path, variant: str):
    from dualsync.harness import runner
    from dualsync.harness.scenario import load

    scenario = load(path)
    result = runner.run(scenario, f"cmd:node {ADAPTER} {variant}", pg_database, reports=None)
    ok, why = result.judgement()
    assert ok, f"{scenario.id} against node-sync {variant}:\n{why}"
    violated = sorted(name for name, v in result.verdicts.items() if not v.ok)
    if variant == "legacy":
        assert violated and set(scenario.expect["legacy"]) <= set(violated), violated
    else:
        assert violated == [], violated
