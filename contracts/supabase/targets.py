"""What the Supabase contract suite runs against, and the few helpers every contract test uses.

A target is a base URL, its anon and service keys, and (in-process only) a transport. Tests never
reach around the HTTP surface, so the same test runs against the gateway and a real Supabase stack.
Every test makes its own users and record ids, so no target needs a reset between tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from pathlib import Path

import httpx
from supabase import Client, create_client
from supabase.lib.client_options import SyncClientOptions

from dualsync.fakes.supabase import standalone

SCHEMA_SQL = Path(__file__).with_name("contract_schema.sql")
API_VERSION = {"X-Supabase-Api-Version": "2024-01-01"}
PASSWORD = "correct-horse-1"


@dataclasses.dataclass
class Target:
    name: str
    url: str
    anon_key: str
    service_key: str
    jwt_secret: str | None = None           # known for gateways; tests that mint tokens need it
    apikey_enforced: bool = True            # hosted profile: a missing apikey gets 401
    transport: httpx.BaseTransport | None = None

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, transport=self.transport, timeout=30)

    def supabase(self, key: str | None = None) -> Client:
        http = httpx.Client(transport=self.transport, timeout=30) if self.transport else None
        options = SyncClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http)
        return create_client(self.url, key or self.anon_key, options)


@dataclasses.dataclass
class User:
    email: str
    session: dict

    @property
    def id(self) -> str:
        return self.session["user"]["id"]

    @property
    def token(self) -> str:
        return self.session["access_token"]


def new_email() -> str:
    return f"contract-{uuid.uuid4().hex[:12]}@example.com"


def anon_headers(target: Target, **extra: str) -> dict:
    return {"apikey": target.anon_key, **extra}


def service_headers(target: Target, **extra: str) -> dict:
    """What supabase-py's admin client sends: the service key as apikey and as the bearer token."""
    return {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}", **API_VERSION, **extra}


def user_headers(target: Target, user: User, **extra: str) -> dict:
    return {"apikey": target.anon_key, "Authorization": f"Bearer {user.token}", **extra}


def sign_up(client: httpx.Client, target: Target) -> User:
    email = new_email()
    response = client.post("/auth/v1/signup", json={"email": email, "password": PASSWORD},
                           headers=anon_headers(target, **API_VERSION))
    assert response.status_code == 200, response.text
    return User(email, response.json())


def log_row(**fields) -> dict:
    row = {"id": str(uuid.uuid4()), "payload": "Y2lwaGVy", "client_modified_at": "2026-01-01T00:00:00Z"}
    row.update(fields)
    return row


def error_shape(response: httpx.Response) -> dict:
    """A PostgREST error body has exactly code, details, hint, message."""
    body = response.json()
    assert set(body) == {"code", "details", "hint", "message"}, body
    assert response.headers["content-type"].startswith("application/json")
    return body


def far_future() -> int:
    return int((dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3650)).timestamp())


class StandaloneGateway(standalone.StandaloneGateway):
    """`python -m dualsync.fakes.supabase` in a child process over its own database: the `external` target
    when no real Supabase is given, so that code path is exercised on every run."""

    def __init__(self, admin_dsn: str):
        super().__init__("--dsn", admin_dsn, "--sql", str(SCHEMA_SQL), cwd=Path(__file__).resolve().parents[2])

    def target(self) -> Target:
        from dualsync.fakes.supabase import DEFAULT_SECRET
        return Target("external", self.url, self.anon_key, self.service_key, jwt_secret=DEFAULT_SECRET)
