"""The case study's finding scenario files through the harness, with the Node client as an
external device (`--client=cmd:node examples/node-sync/adapter.js <variant>`): `legacy` declares
`expect_as: legacy` and must show each file's expected violations, `fixed` must pass them all."""

from __future__ import annotations

import pathlib

import pytest

from tests.node.conftest import ADAPTER, ROOT

pytestmark = pytest.mark.node

FINDINGS = sorted((ROOT / "suites" / "scenarios").glob("deep-sync-00*.yaml"))


@pytest.mark.parametrize("variant", ["legacy", "fixed"])
@pytest.mark.parametrize("path", FINDINGS, ids=[p.stem for p in FINDINGS])
def test_finding_scenario_through_the_harness(node_modules, pg_database, path: pathlib.Path, variant: str):
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
