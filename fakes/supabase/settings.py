"""The request.* settings PostgREST gives every transaction, and the response.* settings it reads back.

    request.headers   JSON object of the request's headers: names lower-cased, Cookie left out
    request.cookies   JSON object of the Cookie header's pairs
    request.path / request.method / request.jwt.claims / role / TimeZone: see db.SETUP_SQL
    response.headers  a function's `[{"Name": "value"}, ...]`: replaces the gateway's header of that name
    response.status   a function's status code for the reply
"""

from __future__ import annotations

import json
import re

from starlette.requests import Request
from starlette.responses import Response

from .db import claims_json
from .errors import ApiError


def request_settings(request: Request) -> tuple[str, str]:
    """`request.headers` and `request.cookies` as PostgREST sets them (the last of a repeated name wins)."""
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


def apply_response_settings(settings: dict, response: Response) -> Response:
    """v14's overrideStatusHeaders: response.status replaces the status, each response.headers entry
    replaces the gateway's header of that name (several entries of one name all go out)."""
    headers, status = settings.get("response_headers"), settings.get("response_status")
    if headers is None and status is None:
        return response
    pairs = _guc_headers(headers) if headers is not None else []
    if status is not None:
        code = re.match(r"[0-9]+", status)
        if not code or not 100 <= int(code.group(0)) <= 999:
            raise ApiError(500, "PGRST112", "response.status guc must be a valid status code")
        response.status_code = int(code.group(0))
    for name in {n.lower() for n, _ in pairs}:
        del response.headers[name]
    for name, value in pairs:
        response.headers.append(name, value)
    return response


def _guc_headers(text: str) -> list[tuple[str, str]]:
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and len(i) == 1 and isinstance(next(iter(i.values())), str) for i in items):
        raise ApiError(500, "PGRST111", "response.headers guc must be a JSON array composed of objects with a "
                       "single key and a string value")
    return [next(iter(i.items())) for i in items]
