"""The control plane over HTTP, under a prefix no Supabase API uses.

    POST   /__dualsync/reset                      empty app + auth tables, drop faults, release holds
    GET    /__dualsync/clock                      {"now": iso}
    POST   /__dualsync/clock                      {"now": iso | null} or {"advance": seconds}
    GET    /__dualsync/keys                       {"anon_key", "service_key"}
    POST   /__dualsync/faults                     {"action": fail|hold|fail_after_commit, "method", "path",
                                                   "status", "times"} -> the fault
    DELETE /__dualsync/faults                     drop all faults (releases held requests)
    GET    /__dualsync/held                       requests parked before COMMIT
    POST   /__dualsync/held/<seq>/release         let one commit
    POST   /__dualsync/schema/reload              reload the schema cache (NOTIFY pgrst equivalent)
"""

from __future__ import annotations

import datetime as dt
import json

from starlette.requests import Request
from starlette.responses import Response

from .control import ControlError
from .errors import ApiError

CONTROL_PREFIX = "/__dualsync/"


def _json(payload, status: int = 200) -> Response:
    return Response(json.dumps(payload).encode(), status, media_type="application/json")


async def control_route(gateway, request: Request, sub: str) -> Response:
    try:
        body = await _body(request)
        return await _dispatch(gateway, request.method, sub.strip("/"), body)
    except ControlError as exc:
        return _json({"error": "bad_control_request", "message": str(exc)}, 400)


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ControlError("control request body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlError("control request body must be a JSON object")
    return body


async def _dispatch(gateway, method: str, sub: str, body: dict) -> Response:
    control = gateway.control
    if (method, sub) == ("POST", "reset"):
        await control.reset()
        return _json({"reset": True})
    if sub == "clock":
        if method == "POST":
            _clock(control, body)
        return _json({"now": gateway.clock.now().isoformat()})
    if (method, sub) == ("GET", "keys"):
        return _json({"anon_key": gateway.config.anon_key, "service_key": gateway.config.service_key})
    if sub == "faults":
        return _faults(control, method, body)
    if (method, sub) == ("GET", "held"):
        return _json(control.held_requests())
    if method == "POST" and sub.startswith("held/") and sub.endswith("/release"):
        control.release(_seq(sub.split("/")[1]))
        return _json({"released": True})
    if (method, sub) == ("POST", "schema/reload"):
        try:
            await gateway.reload_schema()
        except ApiError as exc:         # an exposed schema the database lacks
            return _json({"error": exc.code, "message": exc.message}, exc.status)
        return _json({"reloaded": True})
    return _json({"error": "unknown_control_operation", "message": f"no control operation {method} {sub!r}"}, 404)


def _clock(control, body: dict) -> None:
    if "advance" in body:
        seconds = body["advance"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ControlError(f"advance must be a number of seconds, got {seconds!r}")
        control.advance_clock(seconds)
    elif "now" in body:
        control.set_clock(_when(body["now"]))
    else:
        raise ControlError('send {"now": "<ISO time with zone>" | null} or {"advance": <seconds>}')


def _when(value) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ControlError(f"now {value!r} is not an ISO 8601 time") from None


def _faults(control, method: str, body: dict) -> Response:
    if method == "DELETE":
        control.clear_faults()
        return _json({"cleared": True})
    if method == "GET":
        return _json([f.as_dict() for f in control.faults])
    allowed = {"action", "method", "path", "status", "times"}
    unknown = set(body) - allowed
    if unknown or "action" not in body:
        raise ControlError(f"fault fields are {sorted(allowed)} (action required); got {sorted(body)}")
    fault = control.add_fault(body["action"], method=str(body.get("method", "*")), path=str(body.get("path", "")),
                              status=body.get("status", 503), times=body.get("times", 1))
    return _json(fault.as_dict(), 201)


def _seq(text: str) -> int:
    if not text.isdigit():
        raise ControlError(f"held request id {text!r} is not a number")
    return int(text)
