"""Apple's own client against the fake: CloudKit JS 2.6.4 (npm tsl-apple-cloudkit) from Node.

The package is installed at test time with --ignore-scripts into .cache/cloudkitjs (ignored by
git, never committed: its bundled CloudKit JS is under Apple's licence). Skipped, with the reason,
where node or npm is missing or the install cannot reach the registry.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

from dualsync.contracts.npm import require_package

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "cloudkitjs"
PACKAGE = "tsl-apple-cloudkit@0.2.34"
DRIVER = pathlib.Path(__file__).with_name("js") / "drive.js"

pytestmark = pytest.mark.node


def _install() -> pathlib.Path:
    return require_package("CloudKit JS tier", PACKAGE, "cloudkitjs", "tsl-apple-cloudkit/lib/index.js", cache=CACHE)


@pytest.fixture(scope="module")
def node_modules():
    return _install()


def _drive(node_modules, server, zone: str, scenario: str = "basic") -> dict:
    env = dict(os.environ, NODE_PATH=str(node_modules), CK_BASE_URL=server.base_url,
               CK_CONTAINER=server.ck.container_id, CK_API_TOKEN=server.api_token,
               CK_WEB_AUTH_TOKEN=server.mint("alice"), CK_ZONE=zone, CK_SCENARIO=scenario)
    done = subprocess.run(["node", str(DRIVER)], env=env, capture_output=True, text=True, timeout=60)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"CloudKit JS printed no result (exit {done.returncode}): {done.stderr[-1500:]}"
    out = json.loads(lines[-1])
    assert out["ok"], f"CloudKit JS failed at {out.get('step')}: {out.get('error')}"
    return out


def test_cloudkit_js_save_fetch_delete_and_zone_changes(node_modules, cloudkit_server):
    out = _drive(node_modules, cloudkit_server, "JsZone")
    ck = cloudkit_server.ck
    assert out["userRecordName"] == ck.user_record_name("alice")
    assert out["fetchedSteps"] == 100 and out["tagChanged"] is True
    assert out["staleSaveError"] == "CONFLICT"           # a per-record error inside a 200
    assert out["pages"] == 3                              # resultsLimit 1, three records, moreComing
    assert out["seen"] == {"js1": 500, "js2": 101, "js3": 102}
    assert out["afterDelete"] == [{"recordName": "js2", "deleted": True}]
    assert out["zones"] == ["JsZone", "_defaultZone"]
    assert "JsZone" in out["changedZones"]
    server = ck.db("alice").records_lookup({"zoneID": {"zoneName": "JsZone"},
                                            "records": [{"recordName": "js1"}, {"recordName": "js2"}]})
    js1, js2 = server["records"]
    assert js1["fields"]["steps"]["value"] == 500 and js2["serverErrorCode"] == "NOT_FOUND"


def test_cloudkit_js_reads_the_fakes_errors(node_modules, cloudkit_server):
    """Throttling, an atomic failure and an expired sync token, as Apple's client surfaces them."""
    out = _drive(node_modules, cloudkit_server, "ErrZone", "errors")
    assert out["throttled"] == {"code": "THROTTLED", "retryAfter": 3}
    assert out["atomic"] == ["ATOMIC_ERROR", "CONFLICT"]
    assert out["expired"]["code"] == "BAD_REQUEST" and out["expired"]["reason"].startswith("sync token expired")
    names = cloudkit_server.ck.db("alice").records_lookup(
        {"zoneID": {"zoneName": "ErrZone"}, "records": [{"recordName": "e2"}]})["records"]
    assert names[0]["serverErrorCode"] == "NOT_FOUND", "the atomic batch saved part of itself"
