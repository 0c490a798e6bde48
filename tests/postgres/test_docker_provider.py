"""The docker provider: a real container starts, answers, reports its version and is removed; a
failed start names the problem, carries a hint, and leaves no container behind.

Tests needing a daemon are marked `docker` and skip with docker_available()'s reason; the
error-path tests that need no daemon are unmarked so they run in every tier.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from types import SimpleNamespace

import psycopg
import pytest

from dualsync.fakes.postgres import docker as provider_module
from dualsync.fakes.postgres.base import ProviderError, server_version
from dualsync.fakes.postgres.docker import (ENGINE_HINT, IMAGE_HINT, LOCAL_IMAGE, REGISTRY_IMAGE, DockerProvider,
                                   docker_available, plan_image)

BOGUS_HOST = "unix:///nonexistent/dualsync/docker.sock"


@pytest.fixture
def daemon():
    """A docker SDK client for the daemon the provider will use, or a skip saying why not."""
    ok, reason = docker_available()
    if not ok:
        pytest.skip(reason)
    client = provider_module._client(provider_module.docker_host(), 10)
    yield client
    client.close()


def provider_containers(client, pid: int | None = None) -> set[str]:
    """Ids of the containers the docker provider started (it labels them), running or not; with
    `pid`, only those of that process (xdist workers start theirs concurrently)."""
    labels = ["dualsync.provider=docker"] + ([f"dualsync.pid={pid}"] if pid else [])
    found = client.containers.list(all=True, sparse=True, filters={"label": labels})
    return {c.id for c in found}


def eventually_gone(client, container_id: str, within: float = 10.0) -> bool:
    """A removal another process started may still be in progress when ours returns."""
    deadline = time.monotonic() + within
    while container_id in provider_containers(client):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.docker
def test_starts_answers_reports_version_and_is_removed(daemon):
    provider = DockerProvider()
    try:
        info = provider.start()
        container_id = provider.container_id
        with psycopg.connect(info.dsn(), autocommit=True) as conn:
            assert conn.execute("select 40 + 2").fetchone()[0] == 42
        assert re.match(r"^\d+(\.\d+)?", server_version(info))
        assert info.host == "127.0.0.1"
        assert provider.plan.image in provider.detail
    finally:
        provider.stop()
    assert container_id not in [c.id for c in daemon.containers.list(all=True)]
    provider.stop()  # idempotent
    assert provider.log_tail() == ""


@pytest.mark.docker
def test_missing_image_names_it_and_hints_at_the_local_build(daemon):
    provider = DockerProvider(image="dualsync/no-such-image:0")
    before = provider_containers(daemon, os.getpid())
    with pytest.raises(ProviderError) as caught:
        provider.start()
    message = str(caught.value)
    assert "dualsync/no-such-image:0" in message
    assert caught.value.hint == IMAGE_HINT and "ci/build-postgres-image.sh" in message
    assert provider_containers(daemon, os.getpid()) == before  # nothing left behind


@pytest.mark.docker
def test_server_that_exits_during_start_reports_its_log(daemon):
    class BadSetting(DockerProvider):
        def _build_container(self, host):
            return super()._build_container(host).with_command(["-c", "no_such_setting=1"])

    before = provider_containers(daemon, os.getpid())
    with pytest.raises(ProviderError) as caught:
        BadSetting(ready_timeout=30).start()
    message = str(caught.value)
    assert "exited during start" in message
    assert "no_such_setting" in message  # from the container's own log
    assert provider_containers(daemon, os.getpid()) == before  # nothing left behind


@pytest.mark.docker
def test_containers_of_a_killed_process_are_reaped_and_live_ones_kept(daemon):
    images = daemon.images.list()
    if not images:
        pytest.skip("no image present locally to create a container from")
    gone = subprocess.Popen(["true"])
    gone.wait()  # a pid that no longer runs, as after a killed pytest
    def labelled(pid):
        return daemon.containers.create(images[0].id, labels={
            "dualsync.provider": "docker", "dualsync.pid": str(pid), "dualsync.host": socket.gethostname()})
    orphan, ours = labelled(gone.pid), labelled(os.getpid())
    try:
        # Another xdist worker's provider may reap the orphan first; what matters is the outcome.
        removed = provider_module.reap_orphans(daemon)
        assert ours.id not in removed
        assert eventually_gone(daemon, orphan.id)
        assert ours.id in provider_containers(daemon)
    finally:
        ours.remove(force=True)


def test_no_daemon_is_reported_with_the_engine_hint(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", BOGUS_HOST)
    ok, reason = docker_available()
    assert not ok
    assert BOGUS_HOST in reason and "ci/docker-engine.sh" in reason


def test_start_without_daemon_raises_provider_error_and_leaves_nothing(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", BOGUS_HOST)
    provider = DockerProvider()
    with pytest.raises(ProviderError) as caught:
        provider.start()
    assert caught.value.provider == "docker"
    assert caught.value.hint == ENGINE_HINT
    assert BOGUS_HOST in str(caught.value)
    assert provider.container is None and provider.info is None


class StubImages:
    """Stands in for docker's client.images: name -> labels of the images present locally."""

    def __init__(self, present: dict[str, dict]):
        self.present = present

    def get(self, name):
        if name not in self.present:
            raise LookupError(name)
        return SimpleNamespace(labels=self.present[name])


def stub_client(present: dict[str, dict]):
    return SimpleNamespace(images=StubImages(present))


def test_plan_prefers_the_local_image_and_runs_it_on_the_host_network(monkeypatch):
    monkeypatch.delenv(provider_module.IMAGE_ENV, raising=False)
    plan = plan_image(stub_client({LOCAL_IMAGE: {"io.dualsync.network": "host"}}))
    assert (plan.image, plan.host_network) == (LOCAL_IMAGE, True)


def test_plan_falls_back_to_the_registry_image(monkeypatch):
    monkeypatch.delenv(provider_module.IMAGE_ENV, raising=False)
    plan = plan_image(stub_client({}))
    assert (plan.image, plan.host_network) == (REGISTRY_IMAGE, False)


def test_plan_honours_the_environment_and_the_image_label(monkeypatch):
    monkeypatch.setenv(provider_module.IMAGE_ENV, "postgres:17")
    assert plan_image(stub_client({})).image == "postgres:17"
    assert not plan_image(stub_client({})).host_network
    monkeypatch.setenv(provider_module.IMAGE_ENV, "mine:1")
    assert plan_image(stub_client({"mine:1": {"io.dualsync.network": "host"}})).host_network
