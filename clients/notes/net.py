"""HTTP for the notes app: fault points around each request, transient errors waited out on the
device clock, and the GoTrue session (sign-up, password sign-in, refresh, sign-out)."""

from __future__ import annotations

from typing import Any

import httpx

from dualsync.clients.api import DeviceError, Hooks

ATTEMPTS = 3
TRANSIENT = {429, 503}
REFRESH_BEFORE = 60.0  # seconds before the access token expires, by the device clock


class SyncError(DeviceError):
    """A backend refused a request; `code` is its error code (PostgREST, GoTrue or CloudKit)."""

    def __init__(self, backend: str, status: int, code: str, message: str):
        super().__init__(f"{backend} answered {status} {code}: {message}")
        self.backend, self.status, self.code = backend, status, code


def body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def refusal(backend: str, response: httpx.Response) -> SyncError:
    body = body_of(response)
    body = body if isinstance(body, dict) else {}
    code = body.get("serverErrorCode") or body.get("code") or body.get("error_code") or body.get("error")
    message = body.get("reason") or body.get("message") or body.get("msg") or response.text[:160]
    return SyncError(backend, response.status_code, str(code or response.status_code), str(message))


class Net:
    """Requests of one backend, through the harness's httpx client."""

    def __init__(self, http: httpx.AsyncClient, hooks: Hooks, clock: Any, backend: str):
        self.http, self.hooks, self.clock, self.backend = http, hooks, clock, backend

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, retried after a transient refusal (429/503) once its retry-after (or a
        backoff) has passed on the device clock; any other refusal raises SyncError."""
        for attempt in range(1, ATTEMPTS + 1):
            self.hooks.fault_point("before_send", backend=self.backend, method=method, url=url)
            response = await self.http.request(method, url, **kwargs)
            self.hooks.fault_point("after_reply", backend=self.backend, method=method, url=url,
                                   status=response.status_code)
            if response.status_code < 400:
                return response
            if response.status_code not in TRANSIENT or attempt == ATTEMPTS:
                raise refusal(self.backend, response)
            await self.clock.sleep(_retry_after(response) or 2.0 ** attempt)
        raise AssertionError("unreachable")

    def json(self, response: httpx.Response, kind: type) -> Any:
        body = body_of(response)
        if not isinstance(body, kind):
            raise SyncError(self.backend, response.status_code, "garbage",
                            f"{response.request.url.path} did not answer a JSON {kind.__name__}")
        return body


def _retry_after(response: httpx.Response) -> float | None:
    body = body_of(response)
    value = body.get("retryAfter") if isinstance(body, dict) else None
    value = value if value is not None else response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Session:
    """The device's GoTrue session; its state lives in the store (`state["session"]`)."""

    def __init__(self, net: Net, url: str, anon_key: str, state: dict[str, Any]):
        self.net, self.url, self.anon_key, self.state = net, url.rstrip("/"), anon_key, state

    @property
    def current(self) -> dict[str, Any] | None:
        return self.state.get("session")

    async def _grant(self, path: str, body: dict) -> dict:
        response = await self.net.request("POST", f"{self.url}/auth/v1/{path}", json=body,
                                          headers={"apikey": self.anon_key})
        return self.net.json(response, dict)

    def _keep(self, body: dict, email: str) -> None:
        try:
            self.state["session"] = {"access_token": body["access_token"],
                                     "refresh_token": body["refresh_token"],
                                     "expires_at": float(body["expires_at"]),
                                     "user_id": body["user"]["id"], "email": email}
        except (KeyError, TypeError, ValueError):
            raise SyncError("supabase", 200, "garbage", "the GoTrue session lacks a token or user id") from None

    async def sign_up(self, email: str, password: str) -> None:
        body = await self._grant("signup", {"email": email, "password": password})
        if "access_token" in body:
            self._keep(body, email)
        else:  # e-mail confirmations on: the account exists, sign in for a session
            await self.sign_in(email, password)

    async def sign_in(self, email: str, password: str) -> None:
        self._keep(await self._grant("token?grant_type=password", {"email": email, "password": password}), email)

    async def headers(self, refresh: bool = False) -> dict[str, str]:
        session = self.current
        if session is None:
            raise DeviceError("not signed in to Supabase: sign in first")
        if refresh or self.net.clock.now() >= session["expires_at"] - REFRESH_BEFORE:
            body = await self._grant("token?grant_type=refresh_token", {"refresh_token": session["refresh_token"]})
            self._keep(body, session["email"])
            session = self.current
        return {"apikey": self.anon_key, "Authorization": f"Bearer {session['access_token']}"}

    async def sign_out(self) -> None:
        session = self.current
        self.state["session"] = None
        if session is not None:
            await self.net.request("POST", f"{self.url}/auth/v1/logout?scope=local",
                                   headers={"apikey": self.anon_key,
                                            "Authorization": f"Bearer {session['access_token']}"})
