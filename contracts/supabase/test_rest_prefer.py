"""Query grammar and Prefer behaviours of PostgREST v14 beyond plain CRUD: `{}` arrays inside logic
trees, count=planned / estimated, missing=default on a bulk body, Prefer: timezone, and the
request.* settings functions and RLS policies read. Every test writes contract_rest_items rows under
its own tag, with the anon key (the table's policy lets anon in)."""

from __future__ import annotations

import uuid

import pytest

from .targets import error_shape

ITEMS = "/rest/v1/contract_rest_items"
pytestmark = pytest.mark.usefixtures("target")


def anon(target, **extra) -> dict:
    return {"apikey": target.anon_key, **extra}


def service(target, **extra) -> dict:
    return {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}", **extra}


def add(http, target, *rows: dict, prefer: str = "return=representation", query: str = "") -> list:
    response = http.post(f"{ITEMS}{query}", json=list(rows), headers=anon(target, Prefer=prefer))
    assert response.status_code == 201, response.text
    return response.json() if "representation" in prefer else []


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex


def test_or_accepts_array_values(http, target, tag):
    """`{...}` inside or=/and= is one value (v14's pPgArray), quoted elements and nesting included."""
    add(http, target, {"tag": tag, "labels": ["test", "one"], "note": "a"}, {"tag": tag, "labels": ["two"], "note": "b"},
        {"tag": tag, "labels": ["a,b"], "note": "c"})
    cases = {
        "or=(note.eq.zz,labels.cs.{test,one})": "a",
        "or=(labels.cs.{test,one},labels.ov.{two,zzz})": "ab",
        'or=(labels.cs.{"a,b"},and(labels.ov.{two},note.eq.b))': "bc",
        "not.or=(labels.cs.{test},labels.cs.{two})": "c",
        "or=(labels.eq.{two},note.eq(any).{a,zz})": "ab",
    }
    got = {}
    for query, _ in cases.items():
        response = http.get(f"{ITEMS}?tag=eq.{tag}&select=note&order=note&{query}", headers=anon(target))
        got[query] = "".join(r["note"] for r in response.json()) if response.status_code == 200 else response.text
    assert got == cases
    outside = http.get(f"{ITEMS}?tag=eq.{tag}&select=note&labels=cs.{{test,one}}", headers=anon(target))
    assert outside.json() == [{"note": "a"}]


def test_logic_trees_allow_whitespace_and_name_the_value_in_errors(http, target, tag):
    add(http, target, {"tag": tag, "n": 1, "note": "a"}, {"tag": tag, "n": 2, "note": "b"})
    spaced = http.get(f"{ITEMS}?tag=eq.{tag}&select=note&and=( or ( n.eq.1 , n.eq.2 ) , not.and ( note.eq.b ) )",
                      headers=anon(target))
    assert spaced.json() == [{"note": "a"}]
    empty = http.get(f"{ITEMS}?or=()", headers=anon(target))
    assert empty.status_code == 400
    assert empty.json() == {"code": "PGRST100", "hint": None,
                            "details": 'unexpected ")" expecting field name (* or [a..z0..9_$]), negation operator '
                                       "(not) or logic operator (and, or)",
                            "message": '"failed to parse logic tree (())" (line 1, column 4)'}
    unclosed = http.get(f"{ITEMS}?or=(labels.cs.{{test,one)", headers=anon(target))
    assert unclosed.status_code == 400 and error_shape(unclosed)["code"] == "PGRST100"


def test_count_planned_is_the_planner_estimate(http, target, tag):
    """The planner never estimates fewer than one row; a primary-key list, one row per key."""
    rows = add(http, target, {"tag": tag}, {"tag": tag})
    missing = str(uuid.uuid4())
    none = http.get(f"{ITEMS}?id=eq.{missing}", headers=service(target, Prefer="count=planned"))
    assert (none.status_code, none.headers["content-range"], none.json()) == (206, "*/1", [])
    assert none.headers["preference-applied"] == "count=planned"
    ids = ",".join([rows[0]["id"], rows[1]["id"], missing])
    some = http.get(f"{ITEMS}?id=in.({ids})&select=id", headers=service(target, Prefer="count=planned"))
    assert (some.status_code, some.headers["content-range"], len(some.json())) == (206, "0-1/3", 2)
    exact = http.get(f"{ITEMS}?id=in.({ids})&select=id", headers=service(target, Prefer="count=exact"))
    assert (exact.status_code, exact.headers["content-range"]) == (200, "0-1/2")


def test_count_estimated_is_exact_under_max_rows(http, target, tag):
    rows = add(http, target, {"tag": tag}, {"tag": tag})
    ids = ",".join([rows[0]["id"], rows[1]["id"], str(uuid.uuid4())])
    response = http.get(f"{ITEMS}?id=in.({ids})", headers=service(target, Prefer="count=estimated"))
    assert (response.status_code, response.headers["content-range"]) == (200, "0-1/2")
    assert response.headers["preference-applied"] == "count=estimated"


def test_count_estimated_past_max_rows_takes_the_larger_of_the_two(http, target, tag):
    """Past max-rows (1000) v14 counts at most 1001 rows exactly and answers max(that, the estimate)."""
    add(http, target, *({"tag": tag} for _ in range(1005)), prefer="return=minimal")
    query = f"{ITEMS}?tag=eq.{tag}&select=id"
    for _ in range(3):      # autovacuum may analyze the table between the two requests; then ask again
        planned = http.head(query, headers=service(target, Prefer="count=planned")).headers["content-range"]
        estimated = http.head(query, headers=service(target, Prefer="count=estimated"))
        again = http.head(query, headers=service(target, Prefer="count=planned")).headers["content-range"]
        if planned == again:
            break
    guess = int(planned.split("/")[1])
    assert estimated.status_code == 206
    assert estimated.headers["content-range"] == f"0-999/{max(1001, guess)}"


def test_missing_default_evaluates_every_default_for_every_element(http, target, tag):
    """v14 builds each element as (all defaults) || element: the sequence advances for the row that
    gives `n` too, so the next row gets the value after next."""
    start = add(http, target, {"tag": tag}, query="?select=n")[0]["n"]
    response = http.post(f"{ITEMS}?columns=tag,n&select=n,labels", json=[{"tag": tag, "n": -5}, {"tag": tag}],
                         headers=anon(target, Prefer="missing=default,return=representation"))
    assert response.status_code == 201, response.text
    assert response.json() == [{"n": -5, "labels": []}, {"n": start + 2, "labels": []}]
    assert response.headers["preference-applied"] == "missing=default, return=representation"
    nulls = http.post(f"{ITEMS}?columns=tag,note&select=note", json=[{"tag": tag}],
                      headers=anon(target, Prefer="return=representation"))
    assert nulls.json() == [{"note": None}]


def test_prefer_timezone_sets_the_transaction_timezone(http, target, tag):
    add(http, target, {"tag": tag, "at": "2026-01-15T12:00:00Z"})
    query = f"{ITEMS}?tag=eq.{tag}&select=at"
    zoned = http.get(query, headers=anon(target, Prefer="timezone=America/Los_Angeles"))
    assert zoned.json() == [{"at": "2026-01-15T04:00:00-08:00"}]
    assert zoned.headers["preference-applied"] == "timezone=America/Los_Angeles"
    strict = http.get(query, headers=anon(target, Prefer="handling=strict, timezone=America/Los_Angeles"))
    assert strict.headers["preference-applied"] == "handling=strict, timezone=America/Los_Angeles"
    unknown = http.get(query, headers=anon(target, Prefer="handling=lenient, timezone=Mars/Olympus"))
    assert unknown.json() == [{"at": "2026-01-15T12:00:00+00:00"}]
    assert unknown.headers["preference-applied"] == "handling=lenient"
    refused = http.get(query, headers=anon(target, Prefer="handling=strict, timezone=Mars/Olympus"))
    assert refused.status_code == 400
    assert refused.content == (b'{"code":"PGRST122","details":"Invalid preferences: timezone=Mars/Olympus",'
                               b'"hint":null,"message":"Invalid preferences given with handling=strict"}')


def test_request_settings_reach_functions(http, target):
    headers = anon(target, **{"X-Contract-Probe": "abc", "Cookie": "first=1; second=two=2"})
    got = http.get("/rest/v1/rpc/contract_request_settings", headers=headers).json()
    assert got["headers"]["x-contract-probe"] == "abc" and "cookie" not in got["headers"]
    assert got["cookies"] == {"first": "1", "second": "two=2"}
    assert (got["path"], got["method"], got["timezone"]) == ("/rpc/contract_request_settings", "GET", "UTC")
    posted = http.post("/rest/v1/rpc/contract_request_settings", json={},
                       headers=anon(target, Prefer="timezone=Asia/Tokyo")).json()
    assert (posted["method"], posted["timezone"]) == ("POST", "Asia/Tokyo")


def test_request_headers_reach_rls_policies(http, target, tag):
    other = uuid.uuid4().hex
    add(http, target, {"tag": tag, "note": "mine"}, {"tag": other, "note": "other"})
    query = f"{ITEMS}?tag=in.({tag},{other})&select=note&order=note"
    assert [r["note"] for r in http.get(query, headers=anon(target)).json()] == ["mine", "other"]
    narrowed = http.get(query, headers=anon(target, **{"X-Contract-Tag": tag}))
    assert narrowed.json() == [{"note": "mine"}]


def test_through_supabase_py(target, tag):
    """The same behaviours as supabase-py asks for them: or_() with an array, count='planned',
    insert(default_to_null=False) on a bulk body, csv()."""
    table = target.supabase().table("contract_rest_items")
    start = table.insert({"tag": tag, "labels": ["test", "one"], "note": "a"}).execute().data[0]["n"]
    bulk = table.insert([{"tag": tag, "labels": ["two"], "n": -1}, {"tag": tag, "labels": ["two"]}],
                        default_to_null=False).execute().data
    assert [r["n"] for r in bulk] == [-1, start + 2]
    found = table.select("note").eq("tag", tag).or_("note.eq.zz,labels.cs.{test,one}").execute()
    assert found.data == [{"note": "a"}]
    planned = table.select("id", count="planned").eq("id", str(uuid.uuid4())).execute()
    assert planned.count == 1 and planned.data == []
    csv = table.select("n").eq("tag", tag).eq("note", "a").csv().execute()
    assert csv.data == f"n\n{start}"
