"""The standalone server (`python -m dualsync.fakes.cloudkit`) and the contract suite's switch to a real
container, exercised against that server as if it were one (it can't reach Apple from here)."""

from __future__ import annotations

import json
import re
import os
import pathlib
import subprocess
import sys

import httpx
import pytest

from dualsync.fakes.net import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def standalone():
    port = free_port()
    cmd = [sys.executable, "-m", "dualsync.fakes.cloudkit", "--port", str(port), "--container", "iCloud.org.example.test",
           "--api-token", "tok-A", "--web-auth-token", "web-A", "--user", "alice"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail(f"the standalone server printed nothing: {proc.stderr.read()[-1000:]}")
    yield json.loads(line)
    proc.terminate()
    proc.wait(timeout=10)


def test_standalone_prints_what_a_client_needs_and_serves_it(standalone):
    assert standalone["baseURL"].startswith("http://127.0.0.1:")
    assert (standalone["container"], standalone["apiToken"], standalone["webAuthToken"]) == \
        ("iCloud.org.example.test", "tok-A", "web-A")
    url = f"{standalone['baseURL']}/database/1/iCloud.org.example.test/development/public/users/caller"
    resp = httpx.get(url, params={"ckAPIToken": "tok-A", "ckWebAuthToken": "web-A"})
    assert resp.status_code == 200 and resp.json()["userRecordName"].startswith("_")
    assert resp.headers["x-apple-cloudkit-web-auth-token"]
    assert httpx.get(url, params={"ckAPIToken": "other", "ckWebAuthToken": "web-A"}).status_code == 401
    assert httpx.get(standalone["control"] + "state").json()["container"] == "iCloud.org.example.test"


def test_a_per_record_fault_asked_of_the_standalone_server_over_its_control_plane(standalone):
    base = f"{standalone['baseURL']}/database/1/iCloud.org.example.test/development/private/records/modify"
    auth = {"ckAPIToken": "tok-A", "ckWebAuthToken": "web-A"}
    added = httpx.post(standalone["control"] + "record-faults",
                       json={"recordName": "log-2", "serverErrorCode": "TRY_AGAIN_LATER", "retryAfter": 3})
    assert added.status_code == 200 and added.json()["times"] == 1
    ops = [{"operationType": "forceReplace", "record": {"recordName": f"log-{i}", "recordType": "DailyLog",
                                                        "fields": {"km": {"value": i}}}} for i in (1, 2, 3)]
    reply = httpx.post(base, params=auth, content=json.dumps({"operations": ops}))
    assert reply.status_code == 200
    got = [(r["recordName"], r.get("serverErrorCode"), r.get("retryAfter")) for r in reply.json()["records"]]
    assert got == [("log-1", None, None), ("log-2", "TRY_AGAIN_LATER", 3), ("log-3", None, None)]
    bad = httpx.post(standalone["control"] + "record-faults", json={"recordName": "log-2", "serverErrorCode": "NOPE"})
    assert bad.status_code == 400 and "unknown per-record serverErrorCode 'NOPE'" in bad.json()["error"]


def test_bad_cli_options_are_usage_errors():
    done = subprocess.run([sys.executable, "-m", "dualsync.fakes.cloudkit", "--container", "com.nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "iCloud." in done.stderr


def test_contract_suite_runs_against_a_real_target_given_by_env(standalone):
    env = {**os.environ, "CLOUDKIT_CONTRACT_TARGETS": "real", "CLOUDKIT_CONTRACT_URL": standalone["baseURL"],
           "CLOUDKIT_CONTRACT_CONTAINER": standalone["container"], "CLOUDKIT_CONTRACT_API_TOKEN": "tok-A",
           "CLOUDKIT_CONTRACT_WEB_AUTH_TOKEN": "web-A", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
           "contracts/cloudkit/test_change_feed.py", "contracts/cloudkit/test_records_modify.py"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    passed = re.search(r"(\d+) passed", out)
    assert passed and int(passed.group(1)) >= 40 and "failed" not in out, out[-2000:]
    assert "a real container has none" in out, "control-plane tests should skip on a real target"
