"""Hostile embedding requests, generated: loops, unknown and ambiguous relationships, bad hints,
spreads, malformed nested parameters, on reads, writes and set-returning RPC. Never a 5xx (a 501
naming what is missing is the one allowed), never a traceback, always PostgREST's error shape, and no
stored row changed except by a successful write.

At least 1,000 requests per run (EXAMPLES x REQUESTS_PER_EXAMPLE), derandomized: each example draws
one integer and builds its requests from it with plain `random`, so generation costs next to nothing
and a failure replays exactly.
"""

from __future__ import annotations

import os
import random

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_fuzz import Fuzzer, fuzzer  # noqa: F401  (the fixture: gateway, users, contract schema)

EXAMPLES = int(os.environ.get("DUALSYNC_FUZZ_EMBED_EXAMPLES", "125"))
REQUESTS_PER_EXAMPLE = 8
RELS = ["emb_parents", "emb_children", "emb_tags", "emb_messages", "emb_nodes", "emb_secrets", "emb_profiles",
        "emb_children_view", "emb_children_named", "emb_kids", "emb_eldest", "emb_parent_tags", "up_id",
        "sender_id", "receiver_id", "emb_messages_sender_fkey", "emb_childrn", "nowhere", "daily_logs", "count",
        '"emb_children"', '"a""b"', "emb_children->x", "", " ", "'; drop table emb_parents; --", "\x00", "é€𝄞"]
HINTS = ["", "", "!inner", "!left", "!emb_parent_tags", "!sender_id", "!receiver_id", "!emb_messages_sender_fkey",
         "!bogus", "!", "!!", "!inner!left", "!a!b!c", "!id", "!inner!sender_id", "!up_id", '!"x"']
COLS = ["*", "*", "id", "name", "parent_id", "label", "body", "bogus", "a:name", "name::text", "id::bogus",
        "id->x", "count()", "id.sum()", "", "*,*", "x:", ":x", "..."]
PREFIXES = ["", "", "", "kids:", "...", "x:...", "a:b:", "\"q\":", "...x:"]
CLOSERS = [")", ")", ")", ")", "", "))", ")("]
SUFFIXES = ["order", "limit", "offset", "or", "and", "not.or", "id", "name", "select", "not.and", "x->y"]
VALUES = {"order": ["id", "id.desc", "name.asc.nullsfirst", "bogus", "id.up", "", "emb_parents(name)", "id,,"],
          "limit": ["1", "0", "-1", "x", "", "99999999999999999999"],
          "offset": ["1", "-3", "x", ""],
          "or": ["(id.eq.1,name.eq.a1)", "(id.eq.1", "()", "(emb_children.is.null)", "(and(id.gt.1,id.lt.3))"],
          "filter": ["eq.1", "is.null", "not.is.null", "in.(1,2)", "zz.1", "eq", "like.*a*", "is.bogus", "eq.\x00"]}
TABLES = ["emb_parents", "emb_parents", "emb_children", "emb_nodes", "emb_messages", "emb_tags", "emb_children_view",
          "rpc/emb_parents_named", "rpc/contract_numbers", "rpc/contract_my_logs", "emb_nowhere"]
TAME_TABLES = ["emb_parents", "emb_children", "emb_nodes", "emb_tags", "emb_children_view", "rpc/emb_parents_named",
               "emb_messages"]     # whose embeds are all ambiguous: 300
DIGEST = ("select md5(concat_ws('|', (select string_agg(t::text, ',' order by t::text) from public.{} t)))")
TABLES_DIGESTED = ["emb_parents", "emb_children", "emb_profiles", "emb_tags", "emb_parent_tags", "emb_messages",
                   "emb_nodes", "emb_secrets"]
SNAPSHOT = "select md5(concat(" + ", ".join(
    f"(select string_agg(t::text, ',' order by t::text) from public.{t} t)" for t in TABLES_DIGESTED) + "))"


# A tame request (half of them) embeds only what exists from where it is, so the SQL paths run,
# loops (parents -> children -> parents ...) included.
EMBEDDABLE = {"emb_parents": ["emb_children", "emb_kids", "emb_eldest", "emb_tags", "emb_profiles", "emb_secrets",
                              "emb_children_view", "emb_parent_tags", "emb_children_named"],
              "emb_children": ["emb_parents"], "emb_tags": ["emb_parents", "emb_parent_tags"],
              "emb_profiles": ["emb_parents"], "emb_nodes": ["emb_nodes", "up_id"], "emb_secrets": ["emb_parents"],
              "emb_children_view": ["emb_parents"], "emb_children_named": ["emb_parents"],
              "emb_parent_tags": ["emb_parents", "emb_tags"], "emb_messages": [], "rpc/emb_parents_named": []}
EMBEDDABLE["rpc/emb_parents_named"] = EMBEDDABLE["emb_parents"]
RESULT = {"emb_kids": "emb_children", "emb_eldest": "emb_children", "up_id": "emb_nodes"}
TAME = {"cols": ["*", "id"], "hints": ["", "", "!inner", "!left"], "prefixes": ["", "", "kids:", "..."], "closers": [")"]}
WILD = {"cols": COLS, "hints": HINTS, "prefixes": PREFIXES, "closers": CLOSERS}


def embed(r: random.Random, depth: int, pools: dict, origin: str | None) -> str:
    name = r.choice(EMBEDDABLE.get(origin) or ["emb_parents"]) if origin else r.choice(RELS)
    target = RESULT.get(name, name) if origin else None
    items = [r.choice(pools["cols"]) for _ in range(r.randint(0, 3))]
    if depth < (3 if origin else 6) and r.random() < 0.55:
        items += [embed(r, depth + 1, pools, target) for _ in range(r.randint(1, 2))]
    return (f"{r.choice(pools['prefixes'])}{name}{r.choice(pools['hints'])}({','.join(items)}"
            f"{r.choice(pools['closers'])}")


def select(r: random.Random, pools: dict, origin: str | None) -> str:
    return ",".join([r.choice(pools["cols"]) for _ in range(r.randint(0, 2))]
                    + [embed(r, 1, pools, origin) for _ in range(r.randint(1, 3))])


def nested(r: random.Random) -> tuple[str, str]:
    path = ".".join(r.choice(RELS[:12] + ["kids", "x", ""]) for _ in range(r.randint(1, 3)))
    suffix = r.choice(SUFFIXES)
    kind = suffix if suffix in ("order", "limit", "offset") else "or" if "or" in suffix or "and" in suffix else "filter"
    return f"{path}.{suffix}", r.choice(VALUES[kind])


def spec(r: random.Random) -> dict:
    tame = r.random() < 0.5
    table = r.choice(TAME_TABLES if tame else TABLES)
    params = [("select", select(r, TAME, table) if tame else select(r, WILD, None))]
    if not tame and r.random() < 0.02:      # nested past the gateway's limit: its 501
        params = [("select", "id," + "emb_children(id,emb_parents(id," * 33 + "id" + "))" * 33)] + [nested(r) for _ in range(r.randint(0, 0 if tame else 3))]
    if not tame and r.random() < 0.3:
        params.append((r.choice(RELS[:8] + ["kids"]), r.choice(["is.null", "not.is.null", "eq.1", "is.true"])))
    if not tame and r.random() < 0.15:
        params.append(("order", r.choice(VALUES["order"])))
    if table == "rpc/emb_parents_named":
        params.append(("prefix", r.choice(["A", "", "%", "\x00"])))
    elif table == "rpc/contract_numbers":
        params.append(("n", "2"))
    method = "GET" if tame else r.choice(["GET"] * 6 + ["HEAD", "POST", "PATCH", "DELETE"])
    row = {"id": r.choice([990, 991, 10, "x"]), "parent_id": r.choice([1, 2, None, 77]), "name": "fz"}
    return {"method": method, "table": table, "params": params, "body": r.choice([row, [row], {}, b"{"]),
            "auth": r.choice(["anon", "user", "service"] + ([] if tame else ["garbage"])),
            "prefer": r.choice(["", "return=representation", "count=exact", "return=representation,count=exact"]),
            "accept": None if tame else r.choice([None, "application/vnd.pgrst.object+json"]), "content_type": None}


def check(spec: dict, response: httpx.Response, before: str, after: str) -> None:
    status = response.status_code
    assert status < 500 or status == 501, (spec, status, response.text)
    assert "Traceback" not in response.text, (spec, response.text)
    if status >= 400 and spec["method"] != "HEAD":
        body = response.json()
        assert set(body) == {"code", "details", "hint", "message"}, (spec, body)
        assert status != 501 or body["code"] == "DUALSYNC501", body
    if not (200 <= status < 300 and spec["method"] in ("POST", "PATCH", "DELETE")):
        assert before == after, (spec, status, "rows changed without a successful write")


@pytest.fixture
def embed_fuzzer(fuzzer):  # noqa: F811
    fuzzer.tokens["service"] = fuzzer.gateway.config.service_key
    fuzzer.admin.execute("select public.emb_seed()")
    return fuzzer


@pytest.mark.slow
def test_generated_hostile_embedding_requests(embed_fuzzer):
    f = embed_fuzzer
    statuses: dict[int, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(min_value=0, max_value=2**32))
    def run(seed):
        r = random.Random(seed)
        f.admin.execute("select public.emb_seed()")
        before = f.admin.execute(SNAPSHOT).fetchone()[0]
        for _ in range(REQUESTS_PER_EXAMPLE):
            s = spec(r)
            response = f.send(s)
            after = f.admin.execute(SNAPSHOT).fetchone()[0]
            check(s, response, before, after)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            before = after
    sent = f.sent
    run()
    assert f.sent - sent >= 1000, f"only {f.sent - sent} requests were generated"
    assert statuses.get(200, 0) > 100 and statuses.get(400, 0) > 100, statuses    # both paths were exercised
    assert statuses.get(300, 0) > 0, statuses                                     # ambiguity was reached


def test_the_embed_fuzz_checks_have_teeth():
    get = {"method": "GET"}
    ok = {"code": "x", "details": None, "hint": None, "message": "m"}
    faults = [(get, httpx.Response(500, json=ok), "a", "a"),
              (get, httpx.Response(502, json=ok), "a", "a"),
              (get, httpx.Response(501, json=ok), "a", "a"),                      # a 501 that is not ours
              (get, httpx.Response(200, text="Traceback (most recent call last)"), "a", "a"),
              (get, httpx.Response(400, json={"error": "x"}), "a", "a"),
              (get, httpx.Response(200, json=[]), "a", "b"),
              ({"method": "POST"}, httpx.Response(400, json=ok), "a", "b")]
    for s, response, before, after in faults:
        with pytest.raises(AssertionError):
            check(s, response, before, after)
    check(get, httpx.Response(501, json=dict(ok, code="DUALSYNC501")), "a", "a")
    check({"method": "DELETE"}, httpx.Response(204), "a", "b")
