"""Contract targets: one HTTP-speaking object per backend the contract suite runs against.

    fake      the in-process fake (ASGI transport); control ops are direct model calls
    loopback  a second fake over 127.0.0.1, built exactly like `real` from a settings dict,
              so the switch to a real container is exercised on every run
    real      a CloudKit development container from environment variables (see README)

Every target speaks only the public wire protocol; a test that needs the fake's control plane
(faults, token expiry, a second user) skips on targets without one, saying why.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest

ENV_VARS = {
    "base_url": "CLOUDKIT_CONTRACT_URL",            # e.g. https://api.apple-cloudkit.com
    "container": "CLOUDKIT_CONTRACT_CONTAINER",     # iCloud.com.your.app
    "api_token": "CLOUDKIT_CONTRACT_API_TOKEN",
    "web_auth_token": "CLOUDKIT_CONTRACT_WEB_AUTH_TOKEN",
    "web_auth_token_2": "CLOUDKIT_CONTRACT_WEB_AUTH_TOKEN_2",   # optional second user
    "env": "CLOUDKIT_CONTRACT_ENV",                 # development (default)
}
TOKEN_HEADER = "x-apple-cloudkit-web-auth-token"


def real_settings() -> dict | None:
    """Settings of a real container from the environment, or None when not configured."""
    s = {k: os.environ.get(v) for k, v in ENV_VARS.items()}
    if not s["base_url"]:
        return None
    missing = [ENV_VARS[k] for k in ("container", "api_token", "web_auth_token") if not s[k]]
    if missing:
        raise pytest.UsageError(f"CLOUDKIT_CONTRACT_URL is set but {', '.join(missing)} are not")
    s["env"] = s["env"] or "development"
    return s


class Target:
    def __init__(self, name: str, base_url: str, container: str, api_token: str, env: str = "development",
                 transport: httpx.AsyncBaseTransport | None = None, model=None, control_url: str | None = None):
        self.name, self.base_url, self.container, self.env = name, base_url.rstrip("/"), container, env
        self.api_token = api_token
        self.model = model                 # in-process fake: control by direct calls
        self.control_url = control_url     # loopback fake: control over HTTP
        self.tokens: dict[str, str] = {}
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(transport=transport, timeout=10.0)

    @property
    def has_control(self) -> bool:
        return self.model is not None or self.control_url is not None

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()

    # -- the wire ---------------------------------------------------------------------------

    def url(self, op: str, database: str = "private") -> str:
        return f"{self.base_url}/database/1/{self.container}/{self.env}/{database}/{op}"

    def call(self, op: str, body: Any = None, *, user: str = "alice", method: str = "POST",
             raw: bytes | None = None, params: dict | None = None, database: str = "private") -> httpx.Response:
        """One request as `user`; the rotated web auth token is kept for that user's next call."""
        if params is None:
            params = {"ckAPIToken": self.api_token, "ckWebAuthToken": self.token(user)}
        content = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = self.http.request(method, self.url(op, database), params=params, content=content,
                                headers={"content-type": "text/plain"})
        resp = self.loop.run_until_complete(req)
        if resp.headers.get(TOKEN_HEADER) and params.get("ckWebAuthToken") == self.tokens.get(user):
            self.tokens[user] = resp.headers[TOKEN_HEADER]
        return resp

    def ok(self, op: str, body: Any = None, **kw) -> dict:
        resp = self.call(op, body, **kw)
        assert resp.status_code == 200, f"{self.name} {op}: {resp.status_code} {resp.text[:300]}"
        return resp.json()

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.mint(user)
        return self.tokens[user]

    # -- the fake's control plane -------------------------------------------------------------

    def need_control(self, why: str) -> None:
        if not self.has_control:
            pytest.skip(f"{self.name}: needs the fake's control plane ({why}); a real container has none")

    def control(self, method: str, name: str, **args) -> dict:
        self.need_control(name)
        if self.model is not None:
            from dualsync.fakes.cloudkit import control
            status, out = control.handle(self.model, method, control.PREFIX + name, json.dumps(args).encode())
        else:
            resp = self.loop.run_until_complete(
                self.http.request(method, f"{self.control_url}{name}", json=args))
            status, out = resp.status_code, resp.json()
        assert status == 200, f"control {name}: {out}"
        return out

    def mint(self, user: str) -> str:
        if self.has_control:
            return self.control("POST", "tokens", user=user)["webAuthToken"]
        return self._preconfigured_token(user)

    def _preconfigured_token(self, user: str) -> str:
        env = {"alice": "CLOUDKIT_CONTRACT_WEB_AUTH_TOKEN", "bob": "CLOUDKIT_CONTRACT_WEB_AUTH_TOKEN_2"}.get(user)
        if not env or not os.environ.get(env):
            pytest.skip(f"{self.name}: no web auth token configured for user {user!r} ({env or 'unsupported user'})")
        return os.environ[env]

    def fault(self, kind: str, **options) -> dict:
        return self.control("POST", "faults", kind=kind, **options)

    def reset(self) -> None:
        if self.has_control:
            self.control("POST", "reset")
            self.tokens.clear()
