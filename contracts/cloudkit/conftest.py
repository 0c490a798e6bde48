"""Contract targets for the CloudKit suite (the fake's fixtures come from its plugin, registered in
the root conftest)."""

from __future__ import annotations

import os
import uuid

import pytest

from dualsync.fakes.cloudkit.pytest_plugin import API_TOKEN, PRODUCTION_HOST, _config_for

from .target import Target, real_settings

KNOWN = ("fake", "loopback", "real")


def _targets() -> list[str]:
    chosen = os.environ.get("CLOUDKIT_CONTRACT_TARGETS")
    names = chosen.split(",") if chosen else ["fake", "loopback"] + (["real"] if real_settings() else [])
    bad = [n for n in names if n not in KNOWN]
    if bad:
        raise pytest.UsageError(f"CLOUDKIT_CONTRACT_TARGETS has unknown {bad}; choose from {', '.join(KNOWN)}")
    return names


def target_from_settings(name: str, s: dict, control_url: str | None = None) -> Target:
    return Target(name, s["base_url"], s["container"], s["api_token"], s.get("env") or "development",
                  control_url=control_url)


@pytest.fixture(scope="session")
def contract_targets():
    """Targets live for the session (an HTTP client per target is costly); tests reset them."""
    built: dict[str, Target] = {}
    yield built
    for t in built.values():
        t.close()


@pytest.fixture(params=_targets())
def target(request, contract_targets):
    name = request.param
    if name == "fake":
        ck = request.getfixturevalue("cloudkit").ck    # reset, with this test's cloudkit_config
        if name not in contract_targets:
            contract_targets[name] = _fake_target(ck)
        contract_targets[name].tokens.clear()
        return contract_targets[name]
    if name not in contract_targets:
        contract_targets[name] = _build(request, name)
    t = contract_targets[name]
    t.reset()
    if name == "loopback":
        t.control("POST", "config", **_config_for(request).__dict__)
    return t


def _fake_target(ck) -> Target:
    import httpx
    from dualsync.fakes.cloudkit.wire import asgi_app
    return Target("fake", PRODUCTION_HOST, ck.container_id, API_TOKEN,
                  transport=httpx.ASGITransport(asgi_app(ck)), model=ck)


def _build(request, name: str) -> Target:
    if name == "loopback":
        server = request.getfixturevalue("cloudkit_loopback_session")
        settings = {"base_url": server.base_url, "container": server.ck.container_id, "api_token": API_TOKEN}
        return target_from_settings("loopback", settings, control_url=server.base_url + "/_control/")
    return target_from_settings("real", real_settings())


@pytest.fixture
def zone(target):
    """A fresh custom zone for user alice, deleted afterwards (safe on a real container too)."""
    name = "ct_" + uuid.uuid4().hex[:10]
    target.ok("zones/modify", {"operations": [{"operationType": "create", "zone": {"zoneID": {"zoneName": name}}}]})
    yield name
    target.call("zones/modify", {"operations": [{"operationType": "delete", "zone": {"zoneID": {"zoneName": name}}}]})
