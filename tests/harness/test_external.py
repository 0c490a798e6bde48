"""Devices in other processes: the reference clients through the Python adapter give the verdicts
they give in process, and the remediated one loses nothing at any fault point."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

from dualsync.harness import runner, sweep
from dualsync.harness.external import describe, missing_capabilities
from dualsync.harness.external.decoder import Decoder
from dualsync.harness.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"
FINDINGS = ["deep-sync-001.yaml", "deep-sync-002.yaml", "deep-sync-003.yaml"]


def adapter(name: str) -> str:
    return f"cmd:python -m dualsync.clients.adapter {name}"


def _children() -> set[int]:
    """Our child processes, the embedded Postgres's own backends aside."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if p.name() != "postgres":
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


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


# One file per mechanism the wire must carry (a hold and its release, a transaction held open, a
# lost reply, a retryAfter sleep, token expiry, a rotated key, bit rot, disk faults and a power
# cut); every other file too with DUALSYNC_EXTERNAL_ALL=1, or as the whole set through pytest:
# ./dualsync test suites/scenarios --client='cmd:python -m dualsync.clients.adapter coordinated'
MECHANISMS = {"deep-sync-001.yaml", "deep-sync-002.yaml", "deep-sync-003.yaml", "disk-faults.yaml",
              "key-rotation.yaml", "throttled-retry-after.yaml", "overlapping-transactions.yaml",
              "lost-reply-retry.yaml", "token-expiry.yaml"}
ALL = os.environ.get("DUALSYNC_EXTERNAL_ALL") == "1"


def _files():
    for path in sorted(SCENARIOS.glob("*.yaml")):
        if path.name in MECHANISMS:
            yield path.name
        else:
            yield pytest.param(path.name, marks=[pytest.mark.slow, pytest.mark.skipif(
                not ALL, reason="out of process, only the files in MECHANISMS run by default; "
                                "DUALSYNC_EXTERNAL_ALL=1 runs this one too")])


@pytest.mark.parametrize("file", list(_files()))
def test_coordinated_passes_every_scenario_file_out_of_process(file, pg_database, tmp_path):
    scenario = load(SCENARIOS / file)
    client = adapter("coordinated")
    assert not missing_capabilities(scenario, client), "the Python adapter declares every capability"
    before = _children()
    result = runner.run(scenario, client, pg_database, reports=tmp_path)
    ok, why = result.judgement()
    assert ok, f"{file} out of process:\n{why}\ndiagram: {result.report}"
    assert _children() <= before, "an adapter process outlived its World"


def _first_crash_per_point(scenario, client, pg_database):
    """One injected crash at the first passage of each fault point on device A (the sweep runs
    every passage; that is the [sweep] item of the scenario file)."""
    baseline = runner.run(scenario, client, pg_database, reports=None)
    chosen = {}
    for label, step in sweep.points(baseline, ("crash",), ["A"], scenario.sweep["from_step"]):
        chosen.setdefault(step.args["point"], (label, step))
    return baseline, chosen


def test_a_crash_at_each_declared_fault_point_loses_no_committed_write_on_coordinated(pg_database):
    scenario = load(SCENARIOS / "crash-at-fault-points.yaml")
    client = adapter("coordinated")
    baseline, chosen = _first_crash_per_point(scenario, client, pg_database)
    assert set(chosen) == set(describe(client[4:])["fault_points"]), (
        f"the scenario passes only {sorted(chosen)} on A")
    for point, (label, step) in chosen.items():
        run = runner.run(scenario, client, pg_database, reports=None, extra=[step], label=label)
        crashes = [e for e in run.history if e.type == "fault" and e.f == "crash"]
        assert crashes and crashes[0].value["point"] == point, f"{label} did not crash the adapter"
        assert not run.violated, f"{label}: " + "\n".join(run.verdicts[n].explain() for n in run.violated)


def test_a_crash_mid_persist_has_teeth_out_of_process(pg_database):
    """The mutant that rewrites its store in place loses a write when killed mid-persist out of
    process too: the crash really kills the adapter where the in-process hook would raise."""
    scenario = load(SCENARIOS / "crash-at-fault-points.yaml")
    client = adapter("mutant:non-atomic-persist")
    _baseline, chosen = _first_crash_per_point(scenario, client, pg_database)
    label, step = chosen["mid_persist"]
    run = runner.run(scenario, client, pg_database, reports=None, extra=[step], label=label)
    assert "no-lost-write" in run.violated, f"{label}: {run.violated}"


def _commits(run):
    return [(e.process, e.value["record_id"], e.value["write_id"], e.value["decryptable"])
            for e in run.history.commits()]


def test_the_ledger_opens_backend_rows_through_the_adapters_decode(pg_database, monkeypatch):
    """Attribution without the harness's codec: every commit and every final backend row is
    opened by the adapter's `decode`, and gives the ledger what the reference codec gives it."""
    scenario = load(SCENARIOS / "deep-sync-002.yaml")
    inside = runner.run(scenario, "legacy", pg_database, reports=None)
    asked, real = [], Decoder.open
    monkeypatch.setattr(Decoder, "open", lambda self, *a: asked.append(a[4]) or real(self, *a))
    outside = runner.run(scenario, adapter("legacy"), pg_database, reports=None)
    assert set(asked) == {e.process for e in inside.history.commits()}, asked
    assert _commits(outside) == _commits(inside)
    assert any(not decryptable for *_x, decryptable in _commits(outside)), "no rotten row was seen"
    assert outside.final == inside.final
    # And it is really what the ledger reads: a decoder that opens nothing changes the verdicts.
    monkeypatch.setattr(Decoder, "open", lambda self, *a: {"undecryptable": True})
    blind = runner.run(scenario, adapter("legacy"), pg_database, reports=None)
    assert _commits(blind) != _commits(inside) and blind.violated != inside.violated


def test_a_broken_decoder_ends_the_run_with_its_report(pg_database, monkeypatch):
    from dualsync.harness.external import AdapterFailure
    from dualsync.harness.world import StepError

    def broken(self, *args):
        raise AdapterFailure("the ledger's decoder (adapter 'x') refused decode: boom")
    monkeypatch.setattr(Decoder, "open", broken)
    before = _children()
    with pytest.raises(StepError) as caught:
        runner.run(load(SCENARIOS / "deep-sync-001.yaml"), adapter("coordinated"), pg_database, reports=None)
    assert "the ledger's decoder (adapter 'x') refused decode: boom" in str(caught.value)
    assert _children() <= before


def test_a_delayed_request_out_of_process_waits_on_the_virtual_clock(pg_database, tmp_path):
    """No scenario file delays a request; a World does it directly: the request reaches the
    backend only once the settle has moved virtual time to its due time, and the sync completes."""
    import asyncio

    from dualsync.harness.world import World

    async def drive():
        pg_database.reset()
        world = World(client=adapter("coordinated"), database=pg_database, store_root=tmp_path,
                      devices={"A": {"user": "alice"}})
        try:
            await world.sign_in("A")
            await world.write("A", "profiles", "0d000000-0000-4000-8000-000000000001", {"goal": "gain"})
            world.decide("delay", device="A", path="supabase", match="/rest/v1/profiles", seconds=5)
            start = world.clock.now()
            await world.sync("A", "supabase")
            return world.history, world.clock.now() - start
        finally:
            await world.aclose()
    history, elapsed = asyncio.run(drive())
    assert elapsed >= 5, elapsed
    assert any(e.f == "decide:delay" for e in history)
    assert [e.type for e in history if e.f == "sync"][-1] == "ok"
    assert any(e.type == "commit" and e.value["record_id"].startswith("0d") for e in history)
