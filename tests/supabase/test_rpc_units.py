"""The pure parts of /rpc: the fuzzy hint (PostgREST's own doc examples), function resolution, how a
query string splits into arguments and filters, and Content-Range for calls."""

from __future__ import annotations

import pytest

from dualsync.fakes.supabase import fuzzy, routines, rpc
from dualsync.fakes.supabase.errors import ApiError
from dualsync.fakes.supabase.schema import Argument, Function


def params(*names: str) -> str:
    return "(" + ", ".join(sorted(names)) + ")"


@pytest.mark.parametrize("entries, query, minimum, expected", [
    # Error.hs `noRpcHint` doctests (v14, after #4675 raised the name threshold to 0.75)
    (["test", "another"], "testt", 0.75, "test"),
    (["test", "another"], "other", 0.75, None),
    (["test", "another"], "noclosealternative", 0.75, None),
    (["(name, param, val)", "(attr, id)"], params("vall", "pqaram", "nam"), 0.33, "(name, param, val)"),
    (["(name, param, val)", "(attr, id)"], params("val", "param"), 0.33, "(name, param, val)"),
    (["(name, param, val)", "(attr, id)"], params("id", "attrs"), 0.33, "(attr, id)"),
    (["(name, param, val)", "(attr, id)"], params("id"), 0.33, "(attr, id)"),
    (["(name, param, val)", "(attr, id)"], params("noclosealternative"), 0.33, None),
    # RpcSpec: overloaded(), (a, b), (a, b, c) with a wrong argument name
    (["()", "(a, b)", "(a, b, c)"], params("wrong_arg"), 0.33, None),
    (["()", "(a, b)", "(a, b, c)"], params("a", "b", "wrong_arg"), 0.33, "(a, b, c)"),
    (["(data)"], params("A", "B", "C"), 0.33, None),
    (["Sayhello"], "SAYHELLO", 0.75, "Sayhello"),
])
def test_fuzzy_best_matches_postgrest(entries, query, minimum, expected):
    assert fuzzy.best(entries, query, minimum) == expected


def fn(name: str, *args: tuple, returns_set: bool = False) -> Function:
    arguments = tuple(Argument(n, t, default) for n, t, default in args)
    return Function("public", name, arguments, returns_set, "integer", False, False, False)


OVERLOADS = {"f": [fn("f"), fn("f", ("a", "integer", False), ("b", "integer", False)),
                   fn("f", ("", "json", False))],
             "same": [fn("same", ("arg", "integer", False)), fn("same", ("arg", "text", False))],
             "g": [fn("g", ("", "text", True))]}


def find(name, keys=(), media="json", is_post=True):
    return routines.find(OVERLOADS, "public", routines.Lookup(name, frozenset(keys), media, is_post))


def test_resolution_by_names_then_unnamed_fallback():
    assert find("f", is_post=False).arguments == ()
    assert [a.name for a in find("f", ["a", "b"]).arguments] == ["a", "b"]
    assert find("f", ["zz"]).arguments[0].type == "json"            # POST JSON: the body goes whole
    with pytest.raises(ApiError) as caught:
        find("f", ["zz"], is_post=False)                            # GET: no fallback
    assert caught.value.code == "PGRST202" and caught.value.hint is None
    with pytest.raises(ApiError) as caught:
        find("same", ["arg"])
    assert (caught.value.status, caught.value.code) == (300, "PGRST203")
    assert caught.value.message.endswith("public.same(arg => integer), public.same(arg => text)")
    assert find("g", [""]).name == "g" and find("g", media="text").name == "g"


def test_not_found_wording_by_content_type():
    def error(**kw):
        with pytest.raises(ApiError) as caught:
            find("nope", **kw)
        return caught.value
    assert error(media="text").details.endswith("nope with a single unnamed text parameter, but no matches were "
                                                "found in the schema cache.")
    assert error(media="text").message == "Could not find the function public.nope in the schema cache"
    assert error(keys=["b", "a"], is_post=False).details == (
        "Searched for the function public.nope with parameters a, b, but no matches were found in the schema cache.")
    assert "with parameter a or with a single unnamed json/jsonb parameter" in error(keys=["a"]).details


@pytest.mark.parametrize("value, is_filter", [
    ("5", False), ("hello", False), ("eq.5", True), ("gte.2", True), ("gtx.1", False), ("eq(any).{1}", True),
    ("not.anything", True), ("in.(1,2)", True), ("is.null", True), ("isdistinct.x", True), ("fts(english).a", True),
    ("fts(a-b).x", False), ("eq", False), ("", False), ("like.a*", True), ("imatch.^a", True), ("neq.1", True),
])
def test_query_values_with_an_operator_are_filters(value, is_filter):
    call = rpc.read_get("f", f"x={value}" if value else "x=")
    assert (call.query == [("x", value)]) is is_filter and (call.direct == [("x", value)]) is not is_filter


def test_reserved_and_bare_query_parameters():
    call = rpc.read_get("f", "select=id&order=id&limit=1&bare&name=a+b&emb.limit=2&n=1&n=2")
    assert [k for k, _ in call.query] == ["select", "order", "limit", "emb.limit"]
    assert call.direct == [("name", "a b"), ("n", "1"), ("n", "2")] and call.lookup.keys == {"name", "n"}


@pytest.mark.parametrize("offset, rows, total, expected", [
    (0, 1, None, (200, "0-0/*")), (0, 1, 1, (200, "0-0/1")), (0, 1, 0, (200, "*/0")), (0, 0, None, (200, "*/*")),
    (1, 2, 5, (206, "1-2/5")), (0, 5, 5, (200, "0-4/5")),
])
def test_call_content_range(offset, rows, total, expected):
    assert rpc.content_range(offset, rows, total) == expected


def test_call_offset_past_the_end_is_416():
    with pytest.raises(ApiError) as caught:
        rpc.content_range(10, 0, 5)
    assert caught.value.status == 416 and caught.value.headers == {"Content-Range": "*/5"}
