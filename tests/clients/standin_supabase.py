"""STAND-IN, not the project's Supabase fake: a tiny in-memory double of the GoTrue and PostgREST
calls the reference clients make, on the documented wire (reference/supabase.md), used until
fakes/supabase's gateway can be mounted in-process. It exists so the clients' tests do not wait for
the gateway; tests that need real Postgres semantics use the gateway (see test_against_gateway.py).
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from datetime import datetime, timezone

import httpx

_CURSOR = re.compile(r'^\(updated_at\.gt\."(?P<ts>[^"]+)",and\(updated_at\.eq\."(?P=ts)",id\.gt\.(?P<id>[0-9a-f-]+)\)\)$')


class StandInSupabase:
    anon_key = "stand-in-anon-key"

    def attach(self, clock) -> None:
        self.clock = clock

    def lose_next_reply(self, path: str = "/rest/v1/") -> None:
        self.lose_next_reply_flag = True

    def fail_next(self, status: int, path: str = "/rest/v1/", times: int = 1) -> None:
        for _ in range(times):
            self.fail_next_responses.append(httpx.Response(status, json={"code": str(status), "message": "stand-in fault"}))

    def __init__(self, clock, token_ttl: float = 3600.0):
        self.clock, self.token_ttl = clock, token_ttl
        self.users: dict[str, tuple[str, str]] = {}            # email -> (user id, password)
        self.refresh: dict[str, str] = {}                      # refresh token -> user id
        self.access: dict[str, tuple[str, float]] = {}         # access token -> (user id, expires at)
        self.tables: dict[str, dict[str, dict]] = {t: {} for t in
                                                   ("profiles", "daily_logs", "weekly_snapshots", "cardio_sessions", "photos")}
        self._n = itertools.count(1)
        self.fail_next_responses: list[httpx.Response] = []
        self.lose_next_reply_flag = False
        self.requests: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- helpers for tests ----------------------------------------------------------------------

    def rows(self, table: str) -> list[dict]:
        return sorted(self.tables[table].values(), key=lambda r: (r["updated_at"], r["id"]))

    def corrupt(self, table: str, row_id: str) -> None:
        row = self.tables[table][row_id]
        row["payload"] = "Z" + row["payload"][1:]
        row["updated_at"] = self._now()

    # -- wire ---------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail_next_responses:
            return self.fail_next_responses.pop(0)
        path = request.url.path
        if path.startswith("/auth/v1/"):
            return self._auth(request, path[len("/auth/v1/"):])
        user = self._user_of(request)
        if isinstance(user, httpx.Response):
            return user
        table = path[len("/rest/v1/"):]
        response = self._get(request, table, user) if request.method == "GET" else self._post(request, table, user)
        if self.lose_next_reply_flag and request.method == "POST":
            self.lose_next_reply_flag = False
            raise httpx.ReadError("stand-in: committed, then the reply was lost", request=request)
        return response

    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock.now(), tz=timezone.utc).isoformat()

    def _session(self, user_id: str, email: str) -> httpx.Response:
        access, refresh = f"at-{next(self._n)}", f"rt{next(self._n):010d}"
        expires = self.clock.now() + self.token_ttl
        self.access[access], self.refresh[refresh] = (user_id, expires), user_id
        return httpx.Response(200, json={"access_token": access, "token_type": "bearer", "expires_in": int(self.token_ttl),
                                         "expires_at": int(expires), "refresh_token": refresh,
                                         "user": {"id": user_id, "email": email, "aud": "authenticated"}})

    def _auth(self, request: httpx.Request, op: str) -> httpx.Response:
        body = json.loads(request.content or b"{}")
        if op == "signup":
            user_id = str(uuid.UUID(int=next(self._n)))
            self.users[body["email"]] = (user_id, body["password"])
            return self._session(user_id, body["email"])
        if op == "token?grant_type=password" or request.url.params.get("grant_type") == "password":
            user = self.users.get(body.get("email"))
            if not user or user[1] != body.get("password"):
                return httpx.Response(400, json={"code": "invalid_credentials", "message": "Invalid login credentials"})
            return self._session(user[0], body["email"])
        if request.url.params.get("grant_type") == "refresh_token":
            user_id = self.refresh.pop(body.get("refresh_token"), None)
            if user_id is None:
                return httpx.Response(400, json={"code": "refresh_token_not_found",
                                                 "message": "Invalid Refresh Token: Refresh Token Not Found"})
            return self._session(user_id, "")
        if op.startswith("logout"):
            return httpx.Response(204)
        return httpx.Response(404, json={"code": "not_found", "message": op})

    def _user_of(self, request: httpx.Request):
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        user_id, expires = self.access.get(token, (None, 0.0))
        if user_id is None or self.clock.now() >= expires:
            return httpx.Response(401, json={"code": "PGRST303", "message": "JWT expired", "details": None, "hint": None})
        return user_id

    def _get(self, request: httpx.Request, table: str, user: str) -> httpx.Response:
        params = request.url.params
        rows = [r for r in self.rows(table) if r["user_id"] == user]
        if "or" in params:
            m = _CURSOR.match(params["or"])
            assert m, f"stand-in does not parse or={params['or']!r}"
            rows = [r for r in rows if (r["updated_at"], r["id"]) > (m["ts"], m["id"])]
        if params.get("deleted") == "is.false":
            rows = [r for r in rows if not r["deleted"]]
        return httpx.Response(200, json=rows[: int(params.get("limit", "1000"))])

    def _post(self, request: httpx.Request, table: str, user: str) -> httpx.Response:
        merge = "resolution=merge-duplicates" in request.headers.get("prefer", "")
        now = self._now()
        for row in json.loads(request.content):
            existing = self.tables[table].get(row["id"])
            if existing is not None and not merge:
                return httpx.Response(409, json={"code": "23505", "message": "duplicate key value violates unique "
                                                 "constraint", "details": None, "hint": None})
            self.tables[table][row["id"]] = {**row, "user_id": user, "updated_at": now}
        return httpx.Response(201)
