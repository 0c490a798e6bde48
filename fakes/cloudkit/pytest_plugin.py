"""pytest fixtures for the CloudKit fake, and one marker.

    cloudkit          in-process model + ASGI app (a per-worker model, reset per test)
    cloudkit_server   the same over loopback: uvicorn on a free 127.0.0.1 port in a thread
    cloudkit_respx    in-process, with respx routing https://api.apple-cloudkit.com to the app

    @pytest.mark.cloudkit_config(atomic_failure_status=400, ...)   per-test Config fields

Register with `pytest_plugins = ["dualsync.fakes.cloudkit.pytest_plugin"]` in the root conftest.py.
"""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from .clock import VirtualClock
from .config import Config
from .model import CloudKit
from .server import LoopbackServer
from .wire import asgi_app

PRODUCTION_HOST = "https://api.apple-cloudkit.com"
API_TOKEN = "fake-ck-api-token"


@dataclasses.dataclass
class CloudKitHandle:
    """What a test needs to talk to one fake: the model, where it listens, and URL helpers."""

    ck: CloudKit
    base_url: str
    transport: httpx.AsyncBaseTransport | None = None   # None: reach base_url over the network

    @property
    def clock(self):
        return self.ck.clock

    @property
    def api_token(self) -> str:
        return next(iter(self.ck.api_tokens))

    def mint(self, user: str, device: str | None = None) -> str:
        return self.ck.mint_web_auth_token(user, device)

    def url(self, op: str, *, database: str = "private", env: str = "development") -> str:
        return f"{self.base_url}/database/1/{self.ck.container_id}/{env}/{database}/{op}"

    def client(self, **kwargs) -> httpx.AsyncClient:
        if self.transport is not None:
            kwargs.setdefault("transport", self.transport)
        return httpx.AsyncClient(**kwargs)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "cloudkit_config(**fields): Config fields for the CloudKit fake in this test")
    config.addinivalue_line("markers", "node: needs node and npm (the CloudKit JS tier); skipped with the reason "
                                       "when missing")  # registered here too, for installs without our pyproject


def _config_for(request) -> Config:
    marker = request.node.get_closest_marker("cloudkit_config")
    try:
        return Config(**(marker.kwargs if marker else {}))
    except TypeError as e:
        raise pytest.UsageError(f"@pytest.mark.cloudkit_config: {e}; fields are {[f.name for f in dataclasses.fields(Config)]}")


def _fresh(ck: CloudKit, request) -> CloudKit:
    ck.reset()
    ck.config = _config_for(request)
    ck.clock = VirtualClock()
    return ck


@pytest.fixture(scope="session")
def cloudkit_model_session() -> CloudKit:
    return CloudKit(api_token=API_TOKEN)


@pytest.fixture
def cloudkit(cloudkit_model_session, request) -> CloudKitHandle:
    ck = _fresh(cloudkit_model_session, request)
    return CloudKitHandle(ck, PRODUCTION_HOST, httpx.ASGITransport(asgi_app(ck)))


@pytest.fixture(scope="session")
def cloudkit_loopback_session():
    server = LoopbackServer(CloudKit(api_token=API_TOKEN)).start()
    yield server
    server.stop()


@pytest.fixture
def cloudkit_server(cloudkit_loopback_session, request) -> CloudKitHandle:
    ck = _fresh(cloudkit_loopback_session.ck, request)
    return CloudKitHandle(ck, cloudkit_loopback_session.base_url)


@pytest.fixture
def cloudkit_respx(cloudkit):
    import respx

    with respx.mock(assert_all_called=False) as router:
        router.route(host="api.apple-cloudkit.com").mock(side_effect=respx.ASGIHandler(asgi_app(cloudkit.ck)))
        yield dataclasses.replace(cloudkit, transport=None)
