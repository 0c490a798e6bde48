"""Devices in other processes: the reference clients through the Python adapter give the verdicts
they give in process, and the remediated one loses nothing at any fault point."""

from __future__ import annotations

import collections
from pathlib import Path

import psutil
import pytest

from dualsync.harness import runner, sweep
from dualsync.harness.external import missing_capabilities
from dualsync.harness.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"
FINDINGS = ["deep-sync-001.yaml", "deep-sync-002.yaml", "deep-sync-003.yaml"]


def adapter(name: str) -> str:
    return f"cmd:python -m dualsync.clients.adapter {name}"


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.mark.parametrize("file", FINDINGS)
def test_findings_violate_the_same_invariants_out_of_process_on_legacy(file, pg_database, tmp_path):
    scenario = load(SCENARIOS / file)
    inside = runner.run(scenario, "legacy", pg_database, reports=tmp_path / "in")
    outside = runner.run(scenario, adapter("legacy"), pg_database, reports=tmp_path / "out")
    assert inside.violated, f"{file} no longer catches legacy in process"
    assert sorted(outside.violated) == sorted(inside.violated), (
        f"{file}: in process {inside.violated}, out of process {outside.violated}")
    assert outside.judgement()[0], outside.judgement()[1]
    # The same writes were made and lost: the ledger names the same write ids.
    assert [e.value["write_id"] for e in outside.history.writes()] == [
        e.value["write_id"] for e in inside.history.writes()]


@pytest.mark.parametrize("file", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_coordinated_passes_every_scenario_file_out_of_process(file, pg_database, tmp_path):
    scenario = load(SCENARIOS / file)
    client = adapter("coordinated")
    assert not missing_capabilities(scenario, client), "the Python adapter declares every capability"
    before = _children()
    result = runner.run(scenario, client, pg_database, reports=tmp_path)
    ok, why = result.judgement()
    assert ok, f"{file} out of process:\n{why}\ndiagram: {result.report}"
    assert _children() <= before, "an adapter process outlived its World"


def test_a_crash_at_each_declared_fault_point_loses_no_committed_write_on_coordinated(pg_database):
    scenario = load(SCENARIOS / "crash-at-fault-points.yaml")
    client = adapter("coordinated")
    report = sweep.sweep(scenario, client, pg_database, reports=None)
    ok, why = report.judgement("pass")
    assert ok, why
    crashed_at = collections.Counter(
        r.label.split(":")[2] for r in report.runs if r.label.startswith("crash:"))
    declared = {"before_send", "after_reply", "before_persist", "mid_persist"}
    assert declared <= {p for p in crashed_at if crashed_at[p]}, (
        f"the sweep crashed the adapter only at {dict(crashed_at)}; labels: "
        f"{[r.label for r in report.runs][:8]}")
    for run in report.runs:
        assert "no-lost-write" not in run.violated


def test_the_sweep_has_teeth_out_of_process(pg_database):
    """A crash mid-persist on the mutant that rewrites its store in place loses data out of
    process too: the crash really kills the adapter where the in-process hook would raise."""
    scenario = load(SCENARIOS / "crash-at-fault-points.yaml")
    report = sweep.sweep(scenario, adapter("mutant:non-atomic-persist"), pg_database, reports=None)
    assert any(r.violated for r in report.runs), "no crash of the torn-store mutant lost anything"
