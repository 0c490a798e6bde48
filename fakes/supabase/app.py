"""Routes: the ASGI app in front of a Gateway.

    /rest/v1/<table>, /rest/v1/rpc/<fn>      PostgREST (operations.py)
    /auth/v1/...                             GoTrue (auth_routes.py)
    /__dualsync/...                          control plane (reset, clock, faults, held requests)

Kong's part is here too: the apikey gate (per profile) and, when no Authorization header is sent,
using the apikey as the bearer token.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from . import rest, tokens
from .control_routes import CONTROL_PREFIX, control_route
from .auth_routes import auth_route, keyless
from .errors import ApiError, compact_json, not_implemented
from .db import PlanReply, RequestContext
from .settings import apply_response_settings, request_settings
from .operations import Operations, info_response



# The rest of a Supabase project's API behind Kong: not emulated, and said so (a 404 would lie).
OTHER_SERVICES = {"storage": "Supabase Storage", "realtime": "Supabase Realtime", "functions": "Edge Functions",
                  "graphql": "pg_graphql", "pg": "postgres-meta", "analytics": "Supabase Analytics"}


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
    service = path.split("/")[1] if path.count("/") > 1 else ""
    if service in OTHER_SERVICES and path.startswith(f"/{service}/"):
        return Response(not_implemented(f"{OTHER_SERVICES[service]} ({path})").body(), 501,
                        media_type="application/json; charset=utf-8")
    return Response(compact_json({"message": "no Route matched with those values"}), 404,
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
    return Response(compact_json(body), 401, media_type="application/json")     # Kong's, compact too


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
    claims = tokens.decode(token, gateway.keys, gateway.clock.now())
    role = claims.get("role", "anon")
    if not isinstance(role, str) or not role:
        role = "anon"
    return role, {**claims, "role": role}


async def _rest(gateway, operations: Operations, request: Request, rest_path: str) -> Response:
    role, claims = authenticate(gateway, request)
    fault = gateway.control.take_fault(request.method, request.url.path, ("fail",))
    if fault:
        return _fault_response(fault)
    ctx = RequestContext(request.method, request.url.path, request.url.query, role, claims,
                         *request_settings(request))
    await gateway.catalog()         # v14: no schema cache, no request (503 PGRST002) before the path is read
    try:
        response = await _dispatch(gateway, operations, request, ctx, rest_path)
    except PlanReply as plan:       # the plan media type: the query's EXPLAIN is the whole reply
        response = Response(plan.body.encode(), 200, headers={"Content-Type": plan.content_type})
        return _with_profile(ctx, response)
    return _after_commit_fault(gateway, request, apply_response_settings(ctx.response, _with_profile(ctx, response)))


async def _dispatch(gateway, operations: Operations, request: Request, ctx, rest_path: str) -> Response:
    parts = rest_path.split("/")
    rpc = len(parts) == 2 and parts[0] == "rpc" and parts[1]
    if not (rpc or len(parts) == 1):
        raise ApiError(404, "PGRST125", "Invalid path specified in request URL")
    await _select_schema(gateway, request, ctx)     # v14: after the path is read, before the method
    if rpc and request.method == "OPTIONS":
        response = await operations.describe_function(request, ctx, parts[1])
    elif rpc:
        response = await operations.call_function(request, ctx, parts[1])
    elif parts[0]:
        response = await _table(operations, request, ctx, parts[0])
    elif request.method == "OPTIONS":
        response = info_response("OPTIONS,GET,HEAD")
    else:
        raise not_implemented("the OpenAPI root document (GET /rest/v1/)")
    return response


async def _select_schema(gateway, request: Request, ctx) -> None:
    """The exposed schema the request selects (Accept-Profile / Content-Profile), and its search_path."""
    catalog = await gateway.catalog()
    ctx.schema, ctx.profiled = rest.request_schema(request.method, request.headers, catalog.schemas)
    ctx.search_path = rest.search_path(ctx.schema, catalog.extra_search_path)


def _with_profile(ctx, response: Response) -> Response:
    """v14 names the schema beside the Content-Type of a reply that has one (not on 204s, errors or
    OPTIONS), when a profile header chose it or several schemas are exposed."""
    if ctx.profiled and "content-type" in response.headers:
        response.raw_headers.append((b"content-profile", ctx.schema.encode("utf-8")))
    return response


async def _table(operations: Operations, request: Request, ctx, table: str) -> Response:
    handlers = {"GET": operations.read_rows, "HEAD": operations.read_rows, "POST": operations.insert_rows,
                "PATCH": operations.update_rows, "DELETE": operations.delete_rows, "PUT": operations.put_row,
                "OPTIONS": operations.describe_table}
    handler = handlers.get(request.method)
    if handler is None:
        raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
    return await handler(request, ctx, table)


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
    if not keyless(sub):
        gate = apikey_gate(gateway, request)
        if gate is not None:
            return gate
    fault = gateway.control.take_fault(request.method, request.url.path, ("fail",))
    if fault:
        return _fault_response(fault)
    return await auth_route(gateway, request, sub)
