"""Routes: the ASGI app in front of a Gateway.

    /rest/v1/<table>, /rest/v1/rpc/<fn>      PostgREST (operations.py)
    /auth/v1/signup|token|user|logout|...    GoTrue (gotrue.py)
    /__dualsync/...                          control plane (reset, clock, faults, held requests)

Kong's part is here too: the apikey gate (per profile) and, when no Authorization header is sent,
using the apikey as the bearer token.
"""

from __future__ import annotations

import json

import psycopg
from starlette.requests import Request
from starlette.responses import Response

from . import tokens
from .control_routes import CONTROL_PREFIX, control_route
from .errors import ApiError, AuthError, not_implemented
from .db import RequestContext, claims_json
from .operations import Operations

API_VERSION = "2024-01-01"
GOTRUE_UNIMPLEMENTED = {"otp", "magiclink", "verify", "recover", "resend", "factors", "admin", "authorize",
                        "callback", "sso", "reauthenticate", "invite", ".well-known"}
KEYLESS_AUTH = {"verify", "callback", "authorize", ".well-known"}


def build_app(gateway):
    operations = Operations(gateway)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await _lifespan(gateway, receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"the dualsync gateway serves HTTP only, not {scope['type']}")
        request = Request(scope, receive)
        response = await route(gateway, operations, request)
        await response(scope, receive, send)
    return app


async def _lifespan(gateway, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await gateway.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def route(gateway, operations: Operations, request: Request) -> Response:
    path = request.url.path
    if path.startswith(CONTROL_PREFIX):
        return await control_route(gateway, request, path[len(CONTROL_PREFIX):])
    if path.startswith("/rest/v1/") or path == "/rest/v1":
        return await _guarded(_rest, gateway, operations, request, path[len("/rest/v1/"):])
    if path.startswith("/auth/v1/"):
        return await _auth(gateway, request, path[len("/auth/v1/"):])
    return Response(json.dumps({"message": "no Route matched with those values"}).encode(), 404,
                    media_type="application/json")


async def _guarded(handler, gateway, operations, request: Request, rest_path: str) -> Response:
    """Render every ApiError as PostgREST does; anything else is a bug in the fake and propagates."""
    try:
        gate = apikey_gate(gateway, request)
        if gate is not None:
            return gate
        return await handler(gateway, operations, request, rest_path)
    except ApiError as exc:
        headers = {"Proxy-Status": f"PostgREST; error={exc.code}", **exc.headers}
        return Response(exc.body(), exc.status, headers=headers, media_type="application/json; charset=utf-8")


def apikey_gate(gateway, request: Request) -> Response | None:
    if gateway.config.apikey_profile == "cli":
        return None
    key = request.headers.get("apikey") or request.query_params.get("apikey")
    if not key:
        body = {"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."}
    elif key not in (gateway.config.anon_key, gateway.config.service_key):
        body = {"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}
    else:
        return None
    return Response(json.dumps(body).encode(), 401, media_type="application/json")


def bearer(request: Request) -> str | None:
    """Kong sends the client's bearer token on, or the apikey when there is none."""
    header = request.headers.get("authorization")
    if header is None:
        return request.headers.get("apikey") or request.query_params.get("apikey")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None             # PostgREST reads only a Bearer token; anything else is anonymous
    return token.strip()


def authenticate(gateway, request: Request) -> tuple[str, dict]:
    token = bearer(request)
    if token is None:
        return "anon", {"role": "anon"}
    claims = tokens.decode(token, gateway.config.jwt_secret, gateway.clock.now())
    role = claims.get("role", "anon")
    if not isinstance(role, str) or not role:
        role = "anon"
    return role, {**claims, "role": role}


async def _rest(gateway, operations: Operations, request: Request, rest_path: str) -> Response:
    role, claims = authenticate(gateway, request)
    _check_profile(gateway, request)
    fault = gateway.control.take_fault(request.method, request.url.path, ("fail",))
    if fault:
        return _fault_response(fault)
    ctx = RequestContext(request.method, request.url.path, request.url.query, role, claims,
                         *request_settings(request))
    parts = rest_path.split("/")
    if len(parts) == 2 and parts[0] == "rpc" and parts[1]:
        response = await operations.call_function(request, ctx, parts[1])
    elif len(parts) == 1 and parts[0]:
        response = await _table(operations, request, ctx, parts[0])
    elif rest_path == "":
        raise not_implemented("the OpenAPI root document (GET /rest/v1/)")
    else:
        raise ApiError(404, "PGRST125", "Invalid path specified in request URL")
    return _after_commit_fault(gateway, request, response)


def request_settings(request: Request) -> tuple[str, str]:
    """`request.headers` and `request.cookies` as PostgREST sets them: JSON objects, header names
    lower-cased, the Cookie header left out, the last of a repeated name winning."""
    headers, cookies = {}, {}
    for name, value in request.headers.raw:
        key, text = name.decode("latin-1").lower(), value.decode("utf-8", "replace")
        if key == "cookie":
            for part in text.split(";"):
                cookie_name, _, cookie_value = part.lstrip(" ").partition("=")
                if part.strip():
                    cookies[cookie_name] = cookie_value
        else:
            headers[key] = text
    return claims_json(headers), claims_json(cookies)


async def _table(operations: Operations, request: Request, ctx, table: str) -> Response:
    handlers = {"GET": operations.read_rows, "HEAD": operations.read_rows, "POST": operations.insert_rows,
                "PATCH": operations.update_rows, "DELETE": operations.delete_rows, "PUT": operations.put_row}
    handler = handlers.get(request.method)
    if handler is None:
        raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
    return await handler(request, ctx, table)


def _check_profile(gateway, request: Request) -> None:
    header = "accept-profile" if request.method in ("GET", "HEAD") else "content-profile"
    wanted = request.headers.get(header)
    if wanted is not None and wanted != gateway.config.schema:
        raise ApiError(406, "PGRST106", f"Invalid schema: {wanted}",
                       None, f"Only the following schemas are exposed: {gateway.config.schema}")


def _fault_response(fault) -> Response:
    body = {"code": "DUALSYNC_FAULT", "details": f"fault {fault.id} injected by the control plane",
            "hint": None, "message": f"injected {fault.action} fault"}
    return Response(json.dumps(body).encode(), fault.status, media_type="application/json; charset=utf-8")


def _after_commit_fault(gateway, request: Request, response: Response) -> Response:
    """`fail_after_commit`: the write is committed, the client is told it failed (the reply was lost)."""
    fault = gateway.control.take_fault(request.method, request.url.path, ("fail_after_commit",))
    return _fault_response(fault) if fault else response


# ---- GoTrue wire ------------------------------------------------------------------------------

async def _auth(gateway, request: Request, sub: str) -> Response:
    version = request.headers.get("x-supabase-api-version")
    head = sub.split("/")[0]
    if head not in KEYLESS_AUTH:
        gate = apikey_gate(gateway, request)
        if gate is not None:
            return gate
    try:
        fault = gateway.control.take_fault(request.method, request.url.path, ("fail",))
        if fault:
            return _fault_response(fault)
        status, payload = await _auth_operation(gateway, request, sub)
    except AuthError as exc:
        headers = {"x-sb-error-code": exc.error_code, **({"X-Supabase-Api-Version": API_VERSION} if version else {})}
        return Response(exc.body(version), exc.status, headers=headers, media_type="application/json")
    except psycopg.DataError:
        exc = AuthError(400, "validation_failed", "Request contains values the database cannot store")
        return Response(exc.body(version), 400, media_type="application/json")
    headers = {"X-Supabase-Api-Version": API_VERSION} if version else {}
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(payload).encode(), status, headers=headers, media_type="application/json")


async def _auth_operation(gateway, request: Request, sub: str) -> tuple[int, dict | None]:
    method, auth = request.method, gateway.auth
    issuer = str(request.base_url).rstrip("/") + "/auth/v1"
    if sub == "signup" and method == "POST":
        body = await _auth_body(request)
        return 200, await auth.signup(body.get("email"), body.get("password"), body.get("data"), issuer)
    if sub == "token" and method == "POST":
        return 200, await _token(gateway, request, issuer)
    if sub == "user" and method == "GET":
        return 200, await auth.get_user(_auth_bearer(request))
    if sub == "logout" and method == "POST":
        await auth.logout(_auth_bearer(request), request.query_params.get("scope", "global"))
        return 204, None
    if sub == "health" and method == "GET":
        return 200, {"version": "dualsync-gotrue", "name": "GoTrue", "description": "GoTrue subset"}
    if sub == "settings" and method == "GET":
        return 200, {"external": {"email": True}, "disable_signup": False, "mailer_autoconfirm": True,
                     "phone_autoconfirm": False, "sms_provider": "", "saml_enabled": False}
    if sub in ("signup", "token", "user", "logout", "health", "settings"):
        return 405, None            # GoTrue's router: a known route, another method (no body)
    if sub.split("/")[0] in GOTRUE_UNIMPLEMENTED:
        raise AuthError(501, "not_implemented", f"not implemented by the dualsync gateway: {method} /auth/v1/{sub}")
    raise AuthError(404, "not_found", "Not Found")


async def _token(gateway, request: Request, issuer: str) -> dict:
    grant = request.query_params.get("grant_type")
    body = await _auth_body(request)
    if grant == "password":
        return await gateway.auth.token_password_grant(body.get("email"), body.get("password"), issuer)
    if grant == "refresh_token":
        return await gateway.auth.token_refresh_grant(body.get("refresh_token"), issuer)
    raise AuthError(400, "invalid_credentials", "unsupported_grant_type")


async def _auth_body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > 1024 * 1024:
        raise AuthError(413, "request_too_large", "Request body too large")
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict((await request.form()).items())
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: expected an object")
    return body


def _auth_bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
