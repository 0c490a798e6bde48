"""One HTTP round trip as both services make it: fault points around the send, JSON checks, and
waiting out `retryAfter` on the device's clock (virtual time, never a real sleep)."""

from __future__ import annotations

from typing import Any

import httpx

from dualsync.clients.api import Hooks
from dualsync.clients.errors import BackendError, BackendGarbage

MAX_ATTEMPTS = 3


class Wire:
    def __init__(self, http: httpx.AsyncClient, hooks: Hooks, clock: Any, backend: str):
        if not isinstance(http, httpx.AsyncClient):
            raise TypeError(f"{backend}: the client needs the harness's httpx.AsyncClient, got {type(http).__name__}")
        self.http, self.hooks, self.clock, self.backend = http, hooks, clock, backend

    async def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.hooks.fault_point("before_send", backend=self.backend, method=method, url=url)
        response = await self.http.request(method, url, **kwargs)
        self.hooks.fault_point("after_reply", backend=self.backend, method=method, url=url,
                               status=response.status_code)
        return response

    async def send_retrying(self, method: str, url: str, error_of, **kwargs: Any) -> httpx.Response:
        """Send; on a transient error wait its retryAfter (device clock) and try again."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            response = await self.send(method, url, **kwargs)
            if response.status_code < 400:
                return response
            error = error_of(response)
            if not error.transient or attempt == MAX_ATTEMPTS:
                raise error
            await self.clock.sleep(error.retry_after if error.retry_after is not None else 2.0 ** attempt)
        raise AssertionError("unreachable")

    def json(self, response: httpx.Response, expect: type) -> Any:
        try:
            body = response.json()
        except ValueError:
            raise BackendGarbage(self.backend, f"{response.request.method} {response.request.url.path} "
                                 f"returned {response.status_code} with a body that is not JSON",
                                 response.text) from None
        if not isinstance(body, expect):
            raise BackendGarbage(self.backend, f"expected a JSON {expect.__name__} from "
                                 f"{response.request.url.path}", body)
        return body


def retry_after_of(response: httpx.Response, body: Any) -> float | None:
    value = body.get("retryAfter") if isinstance(body, dict) else None
    value = value if value is not None else response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_body(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


__all__ = ["Wire", "BackendError", "retry_after_of", "error_body"]
