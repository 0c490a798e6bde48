"""PostgREST and GoTrue error bodies, and PostgREST's SQLSTATE -> HTTP status mapping (v14).

Every error the gateway renders goes through here, so status, code and body shape are decided in
one place (sources: PostgREST `src/PostgREST/Error.hs`, GoTrue `internal/api/errors.go`).
"""

from __future__ import annotations

import json
import re

_SURROGATE = re.compile("[\ud800-\udfff]")

# SQLSTATE prefix -> status, checked longest prefix first (Error.hs `mapSQLtoHTTP`).
_SQLSTATE_EXACT = {
    "23505": 409, "23503": 409, "25006": 405, "42883": 404, "42P01": 404, "42P17": 500,
    "57P01": 503,
}
_SQLSTATE_CLASS = {
    "08": 503, "53": 503, "25": 500, "2D": 500, "38": 500, "39": 500, "3B": 500, "40": 500,
    "54": 500, "55": 500, "57": 500, "58": 500, "F0": 500, "HV": 500, "XX": 500,
    "0L": 403, "0P": 403, "28": 403,
}


class ApiError(Exception):
    """A PostgREST error response: `{code, details, hint, message}` with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None,
                 hint: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details, self.hint = details, hint
        self.headers = dict(headers or {})

    def body(self) -> bytes:
        return compact_json({"code": self.code, "details": self.details, "hint": self.hint,
                             "message": self.message})


def compact_json(value) -> bytes:
    """JSON as PostgREST's aeson writes it: no spaces, UTF-8 as is (a lone surrogate becomes U+FFFD)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _SURROGATE.sub("\ufffd", text).encode()


def status_for_sqlstate(sqlstate: str, message: str, anon: bool) -> int:
    if sqlstate == "42501":
        return 401 if anon else 403
    if sqlstate == "22023" and message.startswith("role ") and message.endswith("does not exist"):
        return 401
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate in _SQLSTATE_EXACT:
        return _SQLSTATE_EXACT[sqlstate]
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    if sqlstate.startswith("P0"):
        return 400 if sqlstate == "P0001" else 500
    return _SQLSTATE_CLASS.get(sqlstate[:2], 400)


def from_database(sqlstate: str, message: str, details: str | None, hint: str | None,
                  anon: bool) -> ApiError:
    status = status_for_sqlstate(sqlstate, message, anon)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    return ApiError(status, sqlstate, message, details, hint, headers)


def parse_error(what: str, raw: str, column: int, expected: str) -> ApiError:
    """PGRST100 as PostgREST's parsec parser words it (`select`, `columns` and `on_conflict` are
    "... parameter (...)", the others not)."""
    if what in ("select", "columns", "on_conflict"):
        what += " parameter"
    return ApiError(400, "PGRST100", f'"failed to parse {what} ({raw})" (line 1, column {column})',
                    expected)


def jwt_error(message: str, *, claims: bool = False, details: str | None = None) -> ApiError:
    """PGRST301 (token undecodable) or PGRST303 (claims invalid), both 401."""
    code = "PGRST303" if claims else "PGRST301"
    value = f'Bearer error="invalid_token", error_description="{message}"'
    return ApiError(401, code, message, details, None, {"WWW-Authenticate": value})


def not_found_table(schema: str, table: str, suggestion: str | None) -> ApiError:
    hint = f"Perhaps you meant the table '{schema}.{suggestion}'" if suggestion else None
    return ApiError(404, "PGRST205", f"Could not find the table '{schema}.{table}' in the schema cache",
                    None, hint)


def unknown_column(column: str, table: str) -> ApiError:
    return ApiError(400, "PGRST204", f"Could not find the '{column}' column of '{table}' in the schema cache")


def invalid_json(message: str = "Empty or invalid json") -> ApiError:
    return ApiError(400, "PGRST102", message)


def singular(rows: int) -> ApiError:
    return ApiError(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                    f"The result contains {rows} rows")


def not_implemented(feature: str) -> ApiError:
    """The fake does not emulate this part of PostgREST: say so loudly, never a silent 200."""
    return ApiError(501, "DUALSYNC501", f"not implemented by the dualsync gateway: {feature}",
                    None, "Extend fakes/supabase or run this case against a real Supabase stack.")


class AuthError(Exception):
    """A GoTrue error: rendered in the 2024-01-01 API shape or the older one, per request."""

    def __init__(self, status: int, error_code: str, message: str, extra: dict | None = None):
        super().__init__(f"{status} {error_code}: {message}")
        self.status, self.error_code, self.message = status, error_code, message
        self.extra = dict(extra or {})

    def body(self, api_version: str | None) -> bytes:
        if api_version:
            payload = {"code": self.error_code, "message": self.message}
        else:
            payload = {"code": self.status, "error_code": self.error_code, "msg": self.message}
        payload.update(self.extra)
        return json.dumps(payload).encode()
