"""The remote Supabase adapter: scenario files against the standalone gateway in another process,
reached over loopback by URL, its database read and damaged through the DSN.

Every scenario file that needs no gateway hook gives the verdict its file expects, for the shipped
client and the remediated one, exactly as in process; the ones that need a capability a remote
Supabase lacks are skipped with the reason, through the same pytest options a user passes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dualsync.apps import load as load_app
from dualsync.harness import backends, runner
from dualsync.harness.scenario import load

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "suites" / "scenarios").glob("*.yaml"))
REMOTE = backends.capabilities_of(backends.SupabaseTarget("http://remote", "postgresql://remote"))
# Written before the first remote run, from what each file declares or does: the two that cannot
# run against a Supabase in another process.
NEEDS_IN_PROCESS = {"overlapping-transactions.yaml": "hold_at_commit", "token-expiry.yaml": "virtual_server_time"}


@pytest.fixture(scope="module")
def standalone(pg_server):
    """A standalone gateway process on a database of its own: (target, Database over the DSN)."""
    db = pg_server.new_database("remote")
    proc = subprocess.Popen([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0", "--dsn",
                             db.admin.dsn()], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in proc.stdout:
            found = re.match(r"API URL: (\S+)", line)
            if found:
                url = found.group(1)
                break
        assert url, f"the gateway did not start: {proc.stderr.read()[-500:]}"
        yield backends.SupabaseTarget(url, db.admin.dsn()), db
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        pg_server.drop_database(db)


def test_the_capability_list_matches_the_prediction():
    skipped = {p.name for p in SCENARIOS if backends.missing(load(p), REMOTE)}
    assert skipped == set(NEEDS_IN_PROCESS)


@pytest.mark.parametrize("client", ["legacy", "coordinated"])
def test_every_scenario_file_that_can_run_remotely_gives_its_expected_verdict(standalone, client):
    target, db = standalone
    ran, wrong = [], []
    for path in SCENARIOS:
        scenario = load(path)
        if backends.missing(scenario, REMOTE) or scenario.expected_for(client) is None:
            continue
        result = runner.run(scenario, client, db, reports=None, supabase=target)
        ok, why = result.judgement()
        ran.append(path.name)
        if not ok and client not in scenario.known:
            wrong.append(f"{path.name}: {why.splitlines()[0]}")
    assert not wrong, "\n".join(wrong)
    assert {"deep-sync-001.yaml", "deep-sync-002.yaml", "deep-sync-003.yaml"} <= set(ran)
    if client == "coordinated":  # every file says what the remediated client must do
        assert len(ran) == len(SCENARIOS) - len(NEEDS_IN_PROCESS), ran


def test_pytest_options_run_scenario_files_remotely_and_skip_with_the_reason(standalone):
    target, _db = standalone
    files = [str(ROOT / "suites/scenarios" / n) for n in ("deep-sync-001.yaml", *NEEDS_IN_PROCESS)]
    result = subprocess.run([str(ROOT / "dualsync"), "test", *files, "-p", "no:xdist", "--no-sweep", "-rs", "-q",
                             "--client=legacy", f"--supabase-url={target.url}", f"--supabase-dsn={target.dsn}"],
                            capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 0, out[-2000:] + result.stderr[-1000:]
    assert "1 passed, 2 skipped" in out
    assert "supabase lacks hold_at_commit" in out and "supabase lacks virtual_server_time" in out


def test_a_remote_that_does_not_answer_is_one_line_before_any_device_starts(pg_server):
    target = backends.SupabaseTarget("http://127.0.0.1:9", "postgresql://postgres@127.0.0.1:9/x")
    with pytest.raises(backends.RemoteProblem, match=r"--supabase-url http://127.0.0.1:9: does not answer"):
        backends.check_remote(target, load_app())


def test_a_remote_database_without_the_apps_tables_is_named(standalone):
    target, _db = standalone
    with pytest.raises(backends.RemoteProblem, match="lacks the app's tables notebooks, notes"):
        backends.check_remote(target, load_app("notes"))
