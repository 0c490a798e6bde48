"""Hostile /rest/v1/rpc requests, generated: odd function and argument names, values of every JSON
type, unnamed parameters, overloads, Prefer combinations, media types and methods. Never a 5xx or a
traceback; errors in PostgREST's shape (300 only as PGRST203); no stored row changed except by a
successful POST; another user's rows never visible.

At least 1,000 requests per run (RPC_EXAMPLES examples of REQUESTS_PER_EXAMPLE), derandomized so a
failure replays exactly. The machinery (in-process client, snapshots, checks) is test_fuzz.py's.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .test_fuzz import HOSTILE, JSON_VALUES, Fuzzer, drive, make_fuzzer

RPC_EXAMPLES = int(os.environ.get("DUALSYNC_RPC_FUZZ_EXAMPLES", "300"))
REQUESTS_PER_EXAMPLE = 4
# Each contract function with the argument names it can be called with (overloads and defaults
# give several): most requests use one of them, so calls get past
# resolution and reach the database (odd values, filters, counts, writes); the rest are hostile.
SIGNATURES = {"contract_add": [["a", "b"], ["a"]], "contract_echo": [["message"]], "contract_noop": [[]],
              "contract_numbers": [["n"]], "contract_my_logs": [[]], "contract_rpc_pair": [["id"], []],
              "contract_rpc_pairs": [["n"]], "contract_rpc_over": [[], ["a", "b"], ["a", "b", "c"]],
              "contract_rpc_same": [["arg", "num"], ["arg"]], "contract_rpc_unnamed_json": [[""]],
              "contract_rpc_unnamed_text": [[""]], "contract_rpc_unnamed_int": [[""]], "contract_rpc_poly": [[""]],
              "contract_rpc_unnamed_default": [[""], []], "contract_rpc_named_json": [["data"]],
              "contract_rpc_make_logs": [["n", "tag"]], "contract_rpc_make_log": [["tag"]],
              "contract_rpc_types": [["d", "b", "arr", "n", "j"], ["d", "b", "arr", "n"]],
              "contract_rpc_variadic": [["v"], []], "contract_rpc_inout": [["num"]], "contract_rpc_table": [["n"]],
              "contract_rpc_unnamed_bytea": [[""], []], "contract_rpc_unnamed_xml": [[""], []],
              "contract_rpc_mixed": [["", "b"], ["b"]]}
ODD_FUNCTIONS = ["contract_nope", "Contract_Add", "contract_add ", "", "%00", "a/b", "é", "x" * 70, "pg_sleep",
                 "contract_add;drop table daily_logs", "contract_add(1)"]
ARG_NAMES = ["a", "b", "c", "n", "id", "tag", "arg", "num", "message", "v", "d", "arr", "j", "data", "", " ", "A",
             "zzz", "a.b", "select", "order", "limit", "columns", '"', "\x00", "é", "a" * 70]
GOOD_VALUES = ["1", "2", "3", "0", "x", "true", "{a,b}", "2026-01-02", "[1]", '{"k":1}']
GET_VALUES = GOOD_VALUES + HOSTILE[:30] + ["eq.1", "gt.1", "not.eq.1", "in.(1,2)", "is.null", "like.*", "fts.x",
                                           "eq(any).{1,2}", "1.5", "-3", "9" * 40]
EXTRAS = [("select", v) for v in ("*", "id", "label", "pgrst_scalar", "x:id::text", "*,daily_logs(*)", "id,id",
                                  "", "payload", "a->b", "sum()")]
EXTRAS += [(k, v) for k in ("id", "label", "pgrst_scalar", "payload", "key_version")
           for v in ("gt.1", "eq.x", "is.null", "not.in.(1,2)", "bogus.1")]
EXTRAS += [("order", v) for v in ("id.desc", "pgrst_scalar", "label.nullsfirst", "x.y.z")]
EXTRAS += [(k, v) for k in ("limit", "offset") for v in ("0", "1", "2", "-1", "x", "99999999999999999999")]
EXTRAS += [("columns", v) for v in ("a,b", "n,tag", "", "(", "a")] + [("or", "(id.eq.1,id.eq.2)"), ("and", "(")]
PREFER = ["", "", "", "count=exact", "count=planned", "handling=strict, max-affected=1",
          "handling=strict, max-affected=0", "max-affected=1", "handling=strict, max-affected=99", "params=single-object",
          "handling=strict, params=single-object", "tx=rollback", "return=representation", "count=exact, handling=strict",
          "handling=strict, max-affected=-1", "max-affected=x"]
BODIES = [{}, [], None, "x", 1, [{}], [{"a": 1}, {"b": 2}], [1, 2], b"", b"  ", b"{", b"\xff\xfe", b"\x00",
          b'{"": 1}', b'{"": "t"}', b'{"": {"k": [1]}}', b"<a/>", b"plain text", b'{"a": NaN}', b'[{"a": 1}, 5]',
          b"a,b\n1,2\n", b"n,tag\n2,csv\n", b"a=1&b=2", b"n=1&tag=form&n=2", b"v=x&v=y"]
arg_value = st.one_of(st.sampled_from(GOOD_VALUES + JSON_VALUES), st.integers(-3, 5), st.sampled_from([[1, "a"], ["x"]]))


@st.composite
def call(draw, clean: bool) -> dict:
    """A function and its arguments. A clean call gives each of the function's parameters a plausible
    value, so it reaches the function (odd values, filters, counts and writes then meet the
    database); a hostile one may name anything and give anything."""
    if not clean and draw(st.integers(0, 4)) == 0:
        name, names = draw(st.sampled_from(ODD_FUNCTIONS)), ARG_NAMES
    else:
        name = draw(st.sampled_from(sorted(SIGNATURES)))
        names = draw(st.sampled_from(SIGNATURES[name])) if clean or draw(st.integers(0, 4)) else ARG_NAMES
    values = st.sampled_from(GOOD_VALUES if clean or draw(st.integers(0, 3)) else GET_VALUES)
    every = st.fixed_dictionaries({n: values for n in names}).map(lambda d: list(d.items()))
    some = st.lists(st.tuples(st.sampled_from(names or [""]), values), max_size=3)
    whole = st.fixed_dictionaries({n: arg_value for n in names})
    body = st.dictionaries(st.sampled_from(names or [""]), arg_value, max_size=len(names) + 1)
    return {"table": f"rpc/{name}", "args": draw(every if clean else st.one_of(every, some)),
            "body": draw(whole if clean else st.one_of(whole, body, st.sampled_from(BODIES)))}


HOSTILE_PARTS = st.fixed_dictionaries({
    "method": st.sampled_from(["POST", "POST", "GET", "HEAD", "PATCH", "DELETE", "OPTIONS"]),
    "params": st.lists(st.sampled_from(EXTRAS), max_size=2),
    "auth": st.sampled_from(["user"] * 4 + ["anon", "garbage"]),
    "prefer": st.sampled_from(PREFER),
    "accept": st.sampled_from([None] * 6 + ["application/json", "application/vnd.pgrst.object+json", "text/csv", "x/y"]),
    "content_type": st.sampled_from([None] * 6 + ["application/json", "text/plain", "text/xml",
                                                  "application/octet-stream", "text/csv",
                                                  "application/x-www-form-urlencoded", "image/png"]),
})
CLEAN_PARTS = st.fixed_dictionaries({
    "method": st.sampled_from(["POST", "GET", "HEAD"]),
    "params": st.lists(st.sampled_from(EXTRAS), max_size=1),
    "auth": st.just("user"),
    "prefer": st.sampled_from(["", "count=exact", "handling=strict, max-affected=1", "params=single-object"]),
    "accept": st.just(None),
    "content_type": st.sampled_from([None, "application/json"]),
})
request = st.one_of(st.tuples(call(True), CLEAN_PARTS), st.tuples(call(False), HOSTILE_PARTS)).map(
    lambda parts: {**parts[0], **parts[1]})


class RpcFuzzer(Fuzzer):
    statuses: Counter

    def send(self, spec: dict):
        query = list(spec["params"]) + (list(spec["args"]) if spec["method"] in ("GET", "HEAD", "OPTIONS") else [])
        response = super().send(dict(spec, params=query))
        self.statuses = getattr(self, "statuses", Counter())
        self.statuses[response.status_code] += 1
        return response

    def check(self, spec: dict, response, before, after) -> None:
        super().check(spec, response, before, after)
        if response.status_code == 300 and spec["method"] != "HEAD":
            assert response.json()["code"] == "PGRST203", (spec, response.text)
        if response.status_code >= 400 and spec["method"] != "HEAD":
            assert response.headers["content-type"].startswith("application/json"), (spec, response.headers)


@pytest.fixture
def rpc_fuzzer(supabase_client, supabase_gateway, pg):
    fuzzer = make_fuzzer(RpcFuzzer, supabase_client, supabase_gateway, pg, rows=(0, 1))
    yield fuzzer
    fuzzer.close()


@pytest.mark.slow
def test_generated_hostile_rpc_requests(rpc_fuzzer):
    @settings(max_examples=RPC_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(request, min_size=REQUESTS_PER_EXAMPLE, max_size=REQUESTS_PER_EXAMPLE))
    def run(specs):
        drive(rpc_fuzzer, specs)
    run()
    assert rpc_fuzzer.sent >= 1000, f"only {rpc_fuzzer.sent} requests were generated"
    # The generator reaches every outcome: calls that work, overloads, unknown functions, bad input.
    assert {200, 204, 300, 400, 404, 405, 406} <= set(rpc_fuzzer.statuses), rpc_fuzzer.statuses
    print(f"rpc fuzz: {rpc_fuzzer.sent} requests, statuses {dict(sorted(rpc_fuzzer.statuses.items()))}")


def test_the_rpc_checks_have_teeth(rpc_fuzzer):
    """The checks this module adds fail on their faults; the inherited ones are shown in test_fuzz.py."""
    spec = {"method": "POST", "table": "rpc/contract_add"}
    calm = rpc_fuzzer.snapshot()
    pgrst = {"code": "PGRST202", "details": None, "hint": None, "message": ""}
    with pytest.raises(AssertionError):         # 300 that is not PGRST203
        rpc_fuzzer.check(spec, httpx.Response(300, json=pgrst), calm, calm)
    with pytest.raises(AssertionError):         # an error body in plain text
        rpc_fuzzer.check(spec, httpx.Response(400, text=json.dumps(pgrst)), calm, calm)
    rpc_fuzzer.check(spec, httpx.Response(300, json=dict(pgrst, code="PGRST203")), calm, calm)
