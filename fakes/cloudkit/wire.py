"""The Web Services wire layer: an ASGI app over one `CloudKit` model.

It parses the URL (`/database/1/<container>/<env>/<db>/<op>`), authenticates (ckAPIToken plus
ckWebAuthToken, rotated through `X-Apple-CloudKit-Web-Auth-Token`), applies queued faults, calls
the model method named after the operation, and renders the status, headers and body the real
service sends. Bad input becomes a CloudKit-shaped error; only a bug in the fake yields a 500.
"""

from __future__ import annotations

import json
import logging
import uuid
from urllib.parse import parse_qs

import httpx

from . import control
from .errors import CloudKitError, bad_request
from .model import CloudKit
from .routes import DATABASES, NON_PRIVATE_OK, ROUTES, UNIMPLEMENTED

log = logging.getLogger("dualsync.fakes.cloudkit")
TOKEN_HEADER = "X-Apple-CloudKit-Web-Auth-Token"
MAX_BODY = 16 * 1024 * 1024


class ReplyDropped(httpx.RemoteProtocolError):
    """The connection died before the reply arrived (in-process, clients see this exception)."""


class CloudKitApp:
    def __init__(self, ck: CloudKit):
        self.ck = ck
        self._requests = 0   # request uuids count up; they never shift the model's tag sequence

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        path, query = scope["path"], parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if path.startswith(control.PREFIX):
            status, payload = control.handle(self.ck, scope["method"], path, body or b"")
            return await _respond(send, status, payload, {})
        await self._database_request(send, scope["method"], path, query, headers, body)

    async def _database_request(self, send, method, path, query, headers, body) -> None:
        self._requests += 1
        request_id = str(uuid.UUID(int=(self.ck.seed << 64) + self._requests))
        extra: dict[str, str] = {}
        try:
            status, payload = await self._serve(method, path, query, headers, body, extra)
        except CloudKitError as e:
            status, payload = e.status, e.body(request_id)
            if e.retry_after is not None:
                extra["Retry-After"] = _seconds(e.retry_after)
        except ReplyDropped:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            raise
        except Exception as e:   # a bug in the fake: say so, without a traceback in the reply
            log.exception("CloudKit fake failed on %s %s", method, path)
            status, payload = 500, CloudKitError("INTERNAL_ERROR", f"fake bug: {type(e).__name__}").body(request_id)
        await _respond(send, status, payload, extra)

    async def _serve(self, method, path, query, headers, body, extra) -> tuple[int, dict]:
        env, dbname, op, route = self._route(method, path)
        self.ck.check_api_token(_one(query, "ckAPIToken"))
        web_token = _one(query, "ckWebAuthToken") or headers.get(TOKEN_HEADER.lower())
        session = self.ck.session(web_token)
        successor = self.ck.rotate(web_token)
        if successor:
            extra[TOKEN_HEADER] = successor
        fault = self.ck.faults.take(op, session.user_id)
        await self._before(fault)
        payload = self._call(env, dbname, op, route, session, _parse_json(body, route, method))
        if fault is not None and fault.kind == "lose_reply":
            raise ReplyDropped(f"injected: {op} committed, then the reply was lost")
        return payload.pop("_status", 200), payload

    def _route(self, method: str, path: str):
        parts = path.strip("/").split("/")
        if len(parts) < 6 or parts[0] != "database":
            raise CloudKitError("NOT_FOUND", f"no such endpoint {path[:120]!r}")
        version, container, env, dbname, op = parts[1], parts[2], parts[3], parts[4], "/".join(parts[5:])
        if version != "1":
            raise CloudKitError("NOT_FOUND", f"unsupported API version {version[:20]!r}; use 1")
        if container != self.ck.container_id:
            raise CloudKitError("NOT_FOUND", f"container {container[:80]!r} not found")
        if env not in self.ck.config.environments:
            raise bad_request(f"unknown environment {env[:40]!r}; use development or production")
        if dbname not in DATABASES:
            raise bad_request(f"unknown database {dbname[:40]!r}; use private, public or shared")
        if op in UNIMPLEMENTED or (dbname != "private" and op not in NON_PRIVATE_OK and op in ROUTES):
            raise CloudKitError("NOT_IMPLEMENTED", f"{dbname} {op} is not implemented by this fake")
        route = ROUTES.get(op)
        if route is None:
            raise CloudKitError("NOT_FOUND", f"unknown operation {op[:80]!r}")
        if method not in route.methods:
            raise bad_request(f"{op} expects {' or '.join(route.methods)}, not {method}")
        return env, dbname, op, route

    async def _before(self, fault) -> None:
        if fault is None:
            return
        if fault.is_error:
            raise CloudKitError(fault.code, fault.reason, retry_after=fault.retry_after)
        if fault.kind == "delay":
            self.ck.clock.advance(fault.seconds)   # time passes on the clock; nothing sleeps
        elif fault.kind == "drop":
            raise ReplyDropped("injected: connection dropped before the server processed the request")

    def _call(self, env, dbname, op, route, session, body) -> dict:
        if route.handler == "users_caller":
            return self.ck.users_caller(session.user_id)
        db = self.ck.db(session.user_id, env)
        return getattr(db, route.handler)(body, device=session.device)


def _one(query: dict, key: str) -> str | None:
    vals = query.get(key)
    return vals[0] if vals else None


def _parse_json(body: bytes | None, route, method: str) -> dict:
    if body is None:
        raise bad_request(f"request body is larger than {MAX_BODY // 2 ** 20} MiB")
    if method == "GET" or (not body.strip() and not route.needs_body):
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request("request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise bad_request("request body must be a JSON object")
    return parsed


def _seconds(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


async def _read_body(receive) -> bytes | None:
    """The request body, or None when it exceeds MAX_BODY (the rest is read and dropped)."""
    chunks, size = [], 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            break
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not msg.get("more_body"):
            break
    return b"".join(chunks) if size <= MAX_BODY else None


async def _respond(send, status: int, payload: dict, extra: dict) -> None:
    data = json.dumps(payload, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json; charset=UTF-8"),
               (b"content-length", str(len(data)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive, send) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif msg["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def asgi_app(ck: CloudKit) -> CloudKitApp:
    return CloudKitApp(ck)
