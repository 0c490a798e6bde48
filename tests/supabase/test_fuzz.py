"""Hostile and malformed requests, generated: never a 5xx or a traceback, the right error shape,
no stored row changed except by a valid write, and another user's rows never visible.

At least 2,000 requests per run (FUZZ_EXAMPLES examples of REQUESTS_PER_EXAMPLE requests each),
derandomized so a CI failure replays exactly.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from urllib.parse import quote
import uuid

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualsync.fakes.supabase import tokens

FUZZ_EXAMPLES = int(os.environ.get("DUALSYNC_FUZZ_EXAMPLES", "500"))
REQUESTS_PER_EXAMPLE = 4
COLUMNS = ["id", "user_id", "payload", "key_version", "client_modified_at", "updated_at", "deleted"]
HOSTILE = ["'; drop table daily_logs; --", '"', "\\", "\x00", "\ud800", "é€𝄞", "*", "%", "(", ")", ",", ".", ":",
           "::", "->", "->>", "a" * 300, "null", "true", "-1", "1e309", "NaN", "{", "}", "[", "]", " ", "", "\n",
           "select", "or", "and", "not", "eq", "in.(", "is.", "%00", "%ZZ"]
# One round trip: a digest of every row, and one of the other user's rows.
SNAPSHOT = """select md5(coalesce(string_agg(t::text, '|' order by id), '')),
                    md5(coalesce(string_agg(t::text, '|' order by id) filter (where user_id = %s), ''))
             from public.daily_logs t"""

# Pools built once: a request is a handful of sampled draws, so drawing stays cheap next to sending
# it (hypothesis generation, not the gateway, was the cost of a 2,000-request run).
OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is", "cs", "ov", "fts", "match",
             "isdistinct", "eq(any)", "zz", ""]
VALUES = HOSTILE[:24] + ["(a,b)", "(\"x,y\",'z')", "()", "{a,b}", "2030-01-01", "1"]
PARAMS = (
    [(c, f"{neg}{op}.{v}") for c in COLUMNS + ["bogus", "a->b", "x.y"] for op in OPERATORS[::3]
     for neg in ("", "not.") for v in VALUES[::4]]
    + [(k, v) for k in ("select", "order", "limit", "offset", "columns", "on_conflict") for v in HOSTILE + COLUMNS]
    + [("select", "id,payload:text,kv:key_version::text"), ("order", "updated_at.desc.nullsfirst,id"),
       ("select", "id,photos(id)"), ("photos.order", "id"), ("select", "sum()"), ("limit", "0")]
    + [(k, f"({c}.{op}.{v},{c}.is.null)") for k in ("or", "and", "not.or") for c in COLUMNS[::2]
       for op in OPERATORS[::4] for v in VALUES[::6]]
    + [("or", v) for v in ("()", "(", "(a.eq.1", "(and(a.eq.1)", "(x)", "((()))")]
    + [("or", v) for v in ("(payload.cs.{a,b},id.eq.1)", "(payload.ov.{\"a,}\",b})", "(payload.cs.{a,b)",
                           "(payload.eq(any).{a,b},and(payload.cs.{},key_version.eq.1))", "(payload.cs.{{a}})")]
)
JSON_VALUES = [None, True, False, 0, -1, 2**70, 1.5, -0.0, "x", "", "\x00", "\ud800", "2030-01-01", [], {},
               [1, "a"], {"a": {"b": [None]}}, [[[[[]]]]], "e3e70682-c209-4cac-629f-6fbed82c07cd"]
BODIES = ([{k: v} for k in COLUMNS + HOSTILE[:8] for v in JSON_VALUES[::3]] + JSON_VALUES
          + [b"", b"{", b"[1,", b"\xff\xfe", b'{"id": 1', b"null", b"\x00", b'"' * 50, [{"a": 1}, {"b": 2}]])
text = st.one_of(st.sampled_from(HOSTILE + COLUMNS), st.text(alphabet="ab.,()*:\"'\\%- \x00é", max_size=8))
param = st.one_of(st.sampled_from(PARAMS), st.tuples(st.sampled_from(COLUMNS), text), st.tuples(text, text))


IDS = [str(uuid.UUID(int=i * 7919 + 1)) for i in range(12)]      # few ids: repeats make conflicts and upserts


def valid_row(owner_field: bool):
    base = {"id": st.sampled_from(IDS), "payload": st.sampled_from(["ok", "'; drop table x; --", "é€𝄞", "*"]),
            "client_modified_at": st.just("2030-01-01T00:00:00Z")}
    return st.fixed_dictionaries(base, optional={"key_version": st.sampled_from([-1, 2]), "deleted": st.booleans(),
                                                 **({"user_id": st.sampled_from(IDS)} if owner_field else {})})


body = st.one_of(valid_row(True), st.lists(valid_row(False), max_size=2), st.sampled_from(BODIES))
request = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"]),
    "table": st.sampled_from(["daily_logs", "daily_logs", "profiles", "daily_logz", "rpc/contract_add", "a/b", "%00",
                              "rpc/", "\u00e9t\u00e9", "rpc/contract_my_logs"]),
    "params": st.lists(param, max_size=4),
    "body": body,
    "auth": st.sampled_from(["user", "user", "anon", "forged", "expired", "garbage", "none", "service_alg_none",
                             "unknown_role"]),
    "prefer": st.sampled_from(["", "return=representation", "return=minimal", "return=headers-only",
                               "resolution=merge-duplicates,return=representation", "resolution=ignore-duplicates",
                               "count=exact", "missing=default", "handling=strict,max-affected=1", "bogus=1",
                               "handling=strict,bogus", "return=representation,count=exact", "count=planned",
                               "count=estimated", "missing=default,return=representation",
                               "timezone=America/Los_Angeles", "handling=strict,timezone=Mars/Olympus"]),
    "accept": st.sampled_from([None, "application/json", "application/vnd.pgrst.object+json", "text/csv", "*/*", "x/y",
                               "application/vnd.pgrst.object+json;nulls=stripped", "text/csv, */*;q=0.5",
                               "application/vnd.pgrst.array+json;nulls=stripped", "application/vnd.pgrst.plan+json"]),
    "content_type": st.sampled_from([None, "application/json", "text/plain", "application/json; charset=utf-8",
                                     "text/csv", "application/x-www-form-urlencoded"]),
    # schema profiles: the exposed one, unexposed ones, empty, a list, bytes that are not UTF-8
    "profile": st.sampled_from([None, None, None, None, ("Accept-Profile", "public"), ("Content-Profile", "public"),
                                ("Accept-Profile", ""), ("Content-Profile", "auth"), ("Accept-Profile", "pg_catalog"),
                                ("Content-Profile", "public, private"), ("Accept-Profile", "\u00e9".encode()),
                                ("Content-Profile", b"\xff\xfe"), ("Accept-Profile", '"public"')]),
})


class Fuzzer:
    def __init__(self, gateway, pg, owner, other):
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(gateway.app), base_url="http://gateway.local")
        self.gateway, self.pg = gateway, pg
        self.owner, self.other = owner, other
        self.admin = psycopg.connect(pg.admin.dsn(), autocommit=True)
        self.sent = 0
        now = int(time.time())
        secret = gateway.config.jwt_secret
        self.tokens = {
            "user": owner["access_token"], "anon": gateway.config.anon_key,
            "forged": tokens.encode({"sub": other["user"]["id"], "role": "service_role", "exp": now + 600}, "x" * 40),
            "expired": tokens.encode({"sub": owner["user"]["id"], "role": "authenticated", "exp": now - 600}, secret),
            "garbage": "Bearer-ish.not.a.jwt", "none": None,
            "unknown_role": tokens.encode({"role": "no_such_role", "exp": now + 600}, secret),
            "service_alg_none": tokens.b64(b'{"alg":"none"}') + "." + tokens.b64(b'{"role":"service_role"}') + ".",
            "service": gateway.config.service_key,
        }

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.gateway.aclose())
        self.loop.close()
        self.admin.close()

    def snapshot(self) -> tuple[str, str]:
        return self.admin.execute(SNAPSHOT, (self.other["user"]["id"],)).fetchone()

    def send(self, spec: dict):
        headers = {"apikey": self.gateway.config.anon_key}
        token = self.tokens[spec["auth"]]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if spec["prefer"]:
            headers["Prefer"] = spec["prefer"]
        for name, key in (("Accept", "accept"), ("Content-Type", "content_type")):
            if spec[key]:
                headers[name] = spec[key]
        if spec.get("profile"):
            headers[spec["profile"][0]] = spec["profile"][1]
        raw = spec["body"] if isinstance(spec["body"], bytes) else json.dumps(spec["body"]).encode()
        self.sent += 1
        # Built by hand: lone surrogates go out as the invalid UTF-8 bytes a hostile client can send.
        query = "&".join(f"{quote(k, errors='surrogatepass')}={quote(v, errors='surrogatepass')}"
                         for k, v in spec["params"])
        path = quote(spec["table"], safe="/", errors="surrogatepass")
        # Straight into the ASGI app on this thread's own loop: no sockets, no thread hop per request.
        return self.loop.run_until_complete(self.client.request(
            spec["method"], f"/rest/v1/{path}?{query}", headers=headers,
            content=raw if spec["method"] not in ("GET", "HEAD") else None))

    def send_auth(self, spec: dict):
        headers = {"apikey": self.gateway.config.anon_key}
        if spec["versioned"]:
            headers["X-Supabase-Api-Version"] = "2024-01-01"
        if self.tokens[spec["auth"]] is not None:
            headers["Authorization"] = f"Bearer {self.tokens[spec['auth']]}"
        body = spec["body"]
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.loop.run_until_complete(self.client.request(
            spec["method"], f"/auth/v1/{spec['path']}", headers=headers, content=raw))

    def check(self, spec: dict, response, before, after) -> None:
        assert response.status_code < 500, (spec, response.status_code, response.text)
        if response.status_code >= 400 and spec["method"] != "HEAD":
            body = response.json()
            assert set(body) == {"code", "details", "hint", "message"} or set(body) == {"message", "hint"}, body
        assert before[1] == after[1], "another user's rows changed"
        if not (200 <= response.status_code < 300 and spec["method"] in ("POST", "PATCH", "DELETE", "PUT")):
            assert before[0] == after[0], (spec, response.status_code, "rows changed without a successful write")
        assert self.other["user"]["id"] not in response.text, "another user's rows are visible"


def make_fuzzer(cls, client, gateway, pg, rows: tuple[int, int] = (3, 3)):
    """Two signed-up users (the owner writes, the other's rows must never change or show), `rows` seed
    rows each, and the contract schema's functions: the ground every fuzz module starts from."""
    def sign_up():
        r = client.post("/auth/v1/signup", json={"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "secret-1"},
                        headers={"apikey": gateway.config.anon_key})
        return r.json()
    owner, other = sign_up(), sign_up()
    for who, count in zip((owner, other), rows):
        seed = [{"id": str(uuid.uuid4()), "payload": "seed", "client_modified_at": "2030-01-01T00:00:00Z"}
                for _ in range(count)]
        if seed:
            r = client.post("/rest/v1/daily_logs", json=seed, headers={
                "apikey": gateway.config.anon_key, "Authorization": f"Bearer {who['access_token']}"})
            assert r.status_code == 201
    with psycopg.connect(pg.admin.dsn(), autocommit=True) as conn:
        from dualsync.contracts.supabase.targets import SCHEMA_SQL
        conn.execute(SCHEMA_SQL.read_text())
    return cls(gateway, pg, owner, other)


def drive(fuzzer, specs) -> None:
    """Send each request, checking it against the stored rows just before and just after."""
    before = fuzzer.snapshot()
    for spec in specs:
        response = fuzzer.send(spec)
        after = fuzzer.snapshot()
        fuzzer.check(spec, response, before, after)
        before = after


@pytest.fixture
def fuzzer(supabase_client, supabase_gateway, pg):
    fuzzer = make_fuzzer(Fuzzer, supabase_client, supabase_gateway, pg)
    yield fuzzer
    fuzzer.close()


@pytest.mark.slow
def test_generated_hostile_requests(fuzzer):
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(request, min_size=REQUESTS_PER_EXAMPLE, max_size=REQUESTS_PER_EXAMPLE))
    def run(specs):
        drive(fuzzer, specs)
    run()
    assert fuzzer.sent >= 2000, f"only {fuzzer.sent} requests were generated"


AUTH_BODIES = BODIES[-12:] + [{"email": e, "password": p} for e in ("a@b.co", "", None, 5, "x" * 300, "\x00@a.b",
                                                                   "\ud800@a.b", "no-at-sign", ["a@b.co"])
                              for p in ("secret-1", "", None, "short", 7, "\ud800" * 8)]
AUTH_BODIES += [{"refresh_token": t} for t in ("", "short", "x" * 12, None, 12, "\x00" * 20, "'; drop --" * 3)]
# The admin API, PUT /user and generate_link: GoTrue's fields with hostile values and wrong JSON types.
AUTH_BODIES += [{k: v} for k in ("email", "password", "phone", "email_confirm", "user_metadata", "app_metadata",
                                 "ban_duration", "role", "data", "type", "new_email", "should_soft_delete", "id",
                                 "redirect_to")
                for v in ("x", "", None, True, 0, [], {"a": None}, "\x00", "\ud800", "24h", "none", "-1h",
                          "1.5.5h", "not-a-uuid", "00000000-0000-0000-0000-000000000000")]
AUTH_BODIES += [{"type": t, "email": e, "password": "secret-1"} for t in ("signup", "magiclink", "recovery", "invite",
                                                                          "email_change_new", "x", "")
                for e in ("fuzz@example.com", "", "nope")]
AUTH_BODIES += [{"email": "fuzz-admin@example.com", "password": "secret-1", "email_confirm": True,
                 "ban_duration": b} for b in ("1h", "none", "h", "9999999999999h")]
ROUTES = ["signup", "token?grant_type=password", "token?grant_type=refresh_token", "token", "token?grant_type=magic",
          "user", "logout", "logout?scope=nope", "logout?scope=local", "health", "nope", "signup/extra", "admin/users",
          "admin/users?page=x", "admin/users?page=2&per_page=1&sort=created_at%20asc", "admin/users?per_page=0",
          "admin/users/{owner}", "admin/users/{other}", "admin/users/not-a-uuid", f"admin/users/{uuid.UUID(int=7)}",
          "admin/generate_link", "admin/audit", ".well-known/jwks.json"]
# Mostly the method each route takes with a body it accepts, plus at most one hostile field, so
# requests get past routing and validation into the handlers' writes.
EMAILS = st.sampled_from([f"f{i}@example.com" for i in range(40)] + ["F1@Example.com"])
CALLS = {
    ("admin/users", "POST"): st.fixed_dictionaries({"email": EMAILS, "password": st.just("secret-1")},
                                                   optional={"email_confirm": st.booleans()}),
    ("admin/users/{owner}", "PUT"): st.fixed_dictionaries({}, optional={"user_metadata": st.just({"a": 1}),
                                                                        "ban_duration": st.sampled_from(["1h", "none"]),
                                                                        "email": EMAILS, "email_confirm": st.booleans()}),
    ("admin/users/{other}", "DELETE"): st.fixed_dictionaries({}, optional={"should_soft_delete": st.booleans()}),
    ("admin/generate_link", "POST"): st.fixed_dictionaries({"type": st.sampled_from(
        ["signup", "magiclink", "recovery", "invite", "email_change_new"]), "email": EMAILS,
        "password": st.just("secret-1"), "new_email": EMAILS}),
    ("user", "PUT"): st.fixed_dictionaries({}, optional={"data": st.just({"d": 1}), "email": EMAILS,
                                                         "password": st.sampled_from(["secret-2", "secret-1"])}),
    ("signup", "POST"): st.fixed_dictionaries({"email": EMAILS, "password": st.just("secret-1")}),
    ("admin/users?page=2&per_page=1&sort=created_at%20asc", "GET"): st.just({}),
}
HOSTILE_FIELDS = {"email": ["bad", "", 1, "\x00@a.b"], "password": ["abc", "", "x" * 80, 5],
                  "email_confirm": ["yes"], "phone": ["15551234567", "abc"], "user_metadata": [[], "x", {"a": None}],
                  "app_metadata": [{"p": 1}, 2], "data": [3, []], "ban_duration": ["-5m", "h", "1.5h30m", ""],
                  "role": ["service_role", " x "], "type": ["nope", 3], "should_soft_delete": [1],
                  "id": ["not-a-uuid", "00000000-0000-0000-0000-000000000000"],
                  "redirect_to": ["http://127.0.0.1:3000/x", "https://evil.example"]}
hostile_field = st.sampled_from([(k, v) for k, vs in HOSTILE_FIELDS.items() for v in vs])


def _call(draw_call):
    (path, method), body, extra, auth, versioned = draw_call
    body = dict(body, **dict(extra))
    return {"path": path, "method": method, "body": body, "auth": auth, "versioned": versioned}


auth_request = st.one_of(
    st.fixed_dictionaries({"path": st.sampled_from(ROUTES), "method": st.sampled_from(["POST", "GET", "DELETE", "PUT"]),
                           "body": st.sampled_from(AUTH_BODIES),
                           "auth": st.sampled_from(["user", "anon", "forged", "expired", "garbage", "none", "service"]),
                           "versioned": st.booleans()}),
    st.sampled_from(sorted(CALLS)).flatmap(lambda call: st.tuples(
        st.just(call), CALLS[call], st.lists(hostile_field, max_size=1),
        st.sampled_from(["user"] if call[0] in ("user", "signup") else ["service", "service", "service", "user"]),
        st.booleans())).map(_call),
)
USERS = ("select count(*), md5(coalesce(string_agg(t::text, '|' order by id), '')) from "
         "(select u.*, (select json_agg(i order by i.id) from auth.identities i where i.user_id = u.id) "
         "from auth.users u) t")
# Writes the brief allows: (path prefix, method) that may change users when they answer 200.
AUTH_WRITES = {("signup", "POST"), ("admin/users", "POST"), ("admin/users/", "PUT"), ("admin/users/", "DELETE"),
               ("admin/generate_link", "POST"), ("user", "PUT"), ("token", "POST"), ("logout", "POST")}
# GoTrue's own 500s when its unique indexes refuse a duplicate (an email taken by another user).
GOTRUE_500 = {"Database error creating new user", "Error updating user"}


def test_generated_auth_requests(fuzzer):
    """/auth/v1 with hostile bodies and tokens: GoTrue's error shapes, never a 5xx, users only by writes."""
    @settings(max_examples=250, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(auth_request, min_size=2, max_size=2))
    def run(specs):
        for spec in specs:
            spec = dict(spec, path=spec["path"].format(owner=fuzzer.owner["user"]["id"],
                                                       other=fuzzer.other["user"]["id"]))
            before = fuzzer.admin.execute(USERS).fetchone()
            response = fuzzer.send_auth(spec)
            after = fuzzer.admin.execute(USERS).fetchone()
            check_auth(spec, response, before, after)
    run()


def check_auth(spec, response, before, after) -> None:
    body = response.json() if response.content else {}
    message = body.get("message", body.get("msg")) if isinstance(body, dict) else None
    assert response.status_code < 500 or (response.status_code == 500 and message in GOTRUE_500) \
        or response.status_code == 501, (spec, response.status_code, response.text)
    if response.status_code >= 400 and response.content:
        shape = {"code", "message"} if spec["versioned"] else {"code", "error_code", "msg"}
        assert shape <= set(body) or set(body) <= {"message", "hint"}, body
    writes = any(spec["path"].startswith(p) and spec["method"] == m for p, m in AUTH_WRITES)
    if not (response.status_code == 200 and writes):
        assert before == after, (spec, "auth.users changed without a successful write")


def test_the_fuzz_checks_have_teeth(fuzzer):
    """Each check above fails on the fault it exists for (a check that cannot fail is a defect)."""
    spec = {"method": "GET", "table": "daily_logs"}
    calm = fuzzer.snapshot()
    moved = (calm[0] + "x", calm[1])
    leak = httpx.Response(200, text=json.dumps([{"user_id": fuzzer.other["user"]["id"]}]))
    faults = {
        "5xx": (httpx.Response(500, json={}), calm, calm),
        "error shape": (httpx.Response(400, json={"error": "bad"}), calm, calm),
        "rows changed by a refused write": (httpx.Response(400, json={"code": "", "details": "", "hint": "",
                                                                      "message": ""}), calm, moved),
        "other user's rows changed": (httpx.Response(201), calm, (calm[0], calm[1] + "x")),
        "other user's rows visible": (leak, calm, calm),
    }
    for name, (response, before, after) in faults.items():
        with pytest.raises(AssertionError):
            fuzzer.check(dict(spec, method="POST") if name.endswith("changed") else spec, response, before, after)
    fuzzer.check(spec, httpx.Response(200, json=[]), calm, calm)  # and a clean reply passes
    auth = {"path": "admin/users", "method": "GET", "versioned": True}
    for response, before, after in ((httpx.Response(500, json={"code": "x", "message": "boom"}), calm, calm),
                                    (httpx.Response(400, json={"error": "bad"}), calm, calm),
                                    (httpx.Response(200, json={}), calm, moved)):
        with pytest.raises(AssertionError):
            check_auth(auth, response, before, after)
    check_auth(auth, httpx.Response(200, json={}), calm, calm)
