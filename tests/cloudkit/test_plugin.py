"""The pytest plugin, run as a user would: a generated test file in a fresh pytest process."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]

GENERATED = textwrap.dedent('''
    import asyncio, httpx, pytest

    def _get(handle, client):
        token = handle.mint("alice")
        return asyncio.run(_call(handle, client, token))

    async def _call(handle, client, token):
        async with client as c:
            r = await c.get(handle.url("zones/list"), params={"ckAPIToken": handle.api_token, "ckWebAuthToken": token})
            return r.status_code, r.json()

    def test_in_process(cloudkit):
        status, body = _get(cloudkit, cloudkit.client())
        assert status == 200 and body["zones"][0]["zoneID"]["zoneName"] == "_defaultZone"

    def test_respx_routes_the_production_host(cloudkit_respx):
        assert cloudkit_respx.base_url == "https://api.apple-cloudkit.com"
        assert _get(cloudkit_respx, httpx.AsyncClient())[0] == 200

    def test_loopback(cloudkit_server):
        assert cloudkit_server.base_url.startswith("http://127.0.0.1:")
        assert _get(cloudkit_server, cloudkit_server.client())[0] == 200

    def test_state_does_not_leak_between_tests_a(cloudkit):
        cloudkit.ck.db("alice")
        assert cloudkit.ck.stats()["databases"] == 1

    def test_state_does_not_leak_between_tests_b(cloudkit):
        assert cloudkit.ck.stats()["databases"] == 0

    @pytest.mark.cloudkit_config(max_operations=3)
    def test_marker_sets_config(cloudkit):
        assert cloudkit.ck.config.max_operations == 3

    @pytest.mark.cloudkit_config(no_such_option=1)
    def test_marker_misuse(cloudkit):
        pass
''')


def test_plugin_fixtures_and_marker(tmp_path):
    (tmp_path / "test_generated.py").write_text(GENERATED)
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers\n")
    cmd = [sys.executable, "-m", "pytest", "-p", "dualsync.fakes.cloudkit.pytest_plugin", "-q", "-p", "no:cacheprovider", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    out = done.stdout + done.stderr
    assert "6 passed" in out, out[-2500:]
    assert "no_such_option" in out and "fields are" in out, out[-2500:]
