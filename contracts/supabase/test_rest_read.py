"""GET /rest/v1/<table>: select, filters, logic trees, order, paging, counts, single objects."""

from __future__ import annotations

import pytest

from .targets import error_shape, log_row, sign_up, user_headers

pytestmark = pytest.mark.usefixtures("target")


@pytest.fixture
def seeded(http, target):
    """A user with three logs: key_version 1, 2, 3; payloads a, b, c."""
    user = sign_up(http, target)
    rows = [log_row(payload=p, key_version=k) for p, k in (("a", 1), ("b", 2), ("c", 3))]
    response = http.post("/rest/v1/daily_logs", json=rows, headers=user_headers(target, user))
    assert response.status_code == 201, response.text
    return user, rows


def get(http, target, user, query: str, **headers):
    return http.get(f"/rest/v1/daily_logs?{query}", headers=user_headers(target, user, **headers))


def test_cursor_pull_orders_by_server_time_then_id(http, target, seeded):
    user, rows = seeded
    response = get(http, target, user, "select=id,updated_at&updated_at=gt.2000-01-01T00:00:00Z"
                                       "&order=updated_at.asc,id.asc&limit=500")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["content-range"] == "0-2/*"
    got = response.json()
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in rows)
    assert got == sorted(got, key=lambda r: (r["updated_at"], r["id"]))
    assert set(got[0]) == {"id", "updated_at"}


def test_select_renames_and_casts(http, target, seeded):
    user, _ = seeded
    got = get(http, target, user, "select=text:payload,kv:key_version::text&order=key_version").json()
    assert got == [{"text": "a", "kv": "1"}, {"text": "b", "kv": "2"}, {"text": "c", "kv": "3"}]


FILTER_CASES = [
    ("key_version=eq.2", "b"), ("key_version=neq.2", "ac"), ("key_version=gt.1", "bc"),
    ("key_version=gte.2", "bc"), ("key_version=lt.2", "a"), ("key_version=lte.2", "ab"),
    ("key_version=in.(1,3)", "ac"), ("payload=in.(\"a\",c)", "ac"), ("deleted=is.false", "abc"),
    ("deleted=is.true", ""), ("payload=like.*b*", "b"), ("payload=ilike.B", "b"),
    ("key_version=not.eq.2", "ac"), ("key_version=not.in.(1,2)", "c"), ("user_id=not.is.null", "abc"),
    ("key_version=gt.1&key_version=lt.3", "b"),
    ("or=(key_version.eq.1,payload.eq.c)", "ac"),
    ("and=(key_version.gte.2,or(payload.eq.b,payload.eq.z))", "b"),
    ("not.or=(key_version.eq.1,payload.eq.c)", "b"),
    ("or=(payload.eq.a,and(key_version.eq.3,payload.not.eq.b))", "ac"),
    ("payload=eq(any).{a,c}", "ac"), ("payload=like(any).{a*,*c}", "ac"),
]


def test_filters(http, target, seeded):
    """One seeded user, every operator: the rows each filter keeps, by payload."""
    user, _ = seeded
    failures = []
    for query, payloads in FILTER_CASES:
        response = get(http, target, user, f"select=payload&order=payload&{query}")
        got = "".join(r["payload"] for r in response.json()) if response.status_code == 200 else response.text
        if got != payloads:
            failures.append(f"{query}: expected {payloads!r}, got {got!r}")
    assert not failures, "\n".join(failures)


def test_order_several_keys_and_nulls(http, target, seeded):
    user, _ = seeded
    got = get(http, target, user, "select=payload&order=deleted.asc.nullslast,key_version.desc").json()
    assert [r["payload"] for r in got] == ["c", "b", "a"]


def test_limit_offset_and_range_header(http, target, seeded):
    user, _ = seeded
    got = get(http, target, user, "select=payload&order=payload&limit=1&offset=1")
    assert [r["payload"] for r in got.json()] == ["b"] and got.headers["content-range"] == "1-1/*"
    ranged = get(http, target, user, "select=payload&order=payload", Range="1-2")
    assert [r["payload"] for r in ranged.json()] == ["b", "c"]
    assert ranged.headers["content-range"] == "1-2/*"


def test_exact_count_and_partial_content(http, target, seeded):
    user, _ = seeded
    whole = get(http, target, user, "select=id", Prefer="count=exact")
    assert whole.status_code == 200 and whole.headers["content-range"] == "0-2/3"
    part = get(http, target, user, "select=id&limit=2", Prefer="count=exact")
    assert part.status_code == 206 and part.headers["content-range"] == "0-1/3"
    empty = get(http, target, user, "select=id&payload=eq.none", Prefer="count=exact")
    assert empty.status_code == 200 and empty.headers["content-range"] == "*/0" and empty.json() == []


def test_limit_zero_is_empty(http, target, seeded):
    user, _ = seeded
    response = get(http, target, user, "limit=0")
    assert response.status_code == 200 and response.json() == []


def test_negative_limit_is_416(http, target, seeded):
    user, _ = seeded
    response = get(http, target, user, "limit=-1")
    assert response.status_code == 416
    assert error_shape(response)["code"] == "PGRST103"


def test_offset_past_the_count_is_416(http, target, seeded):
    user, _ = seeded
    response = get(http, target, user, "offset=10", Prefer="count=exact")
    assert response.status_code == 416
    body = error_shape(response)
    assert body["code"] == "PGRST103" and "only 3 rows" in body["details"]


def test_single_object(http, target, seeded):
    user, rows = seeded
    one = get(http, target, user, f"id=eq.{rows[0]['id']}&select=payload", Accept="application/vnd.pgrst.object+json")
    assert one.status_code == 200 and one.json() == {"payload": "a"}
    assert one.headers["content-type"].startswith("application/vnd.pgrst.object+json")
    many = get(http, target, user, "select=payload", Accept="application/vnd.pgrst.object+json")
    assert many.status_code == 406
    body = error_shape(many)
    assert body["code"] == "PGRST116" and body["details"] == "The result contains 3 rows"
    none = get(http, target, user, "payload=eq.zz", Accept="application/vnd.pgrst.object+json")
    assert none.status_code == 406 and error_shape(none)["details"] == "The result contains 0 rows"


def test_head_has_no_body(http, target, seeded):
    user, _ = seeded
    response = http.head("/rest/v1/daily_logs?select=id", headers=user_headers(target, user, Prefer="count=exact"))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-range"] == "0-2/3"


def test_rows_of_other_users_are_invisible(http, target, seeded):
    owner, rows = seeded
    stranger = sign_up(http, target)
    response = http.get(f"/rest/v1/daily_logs?id=eq.{rows[0]['id']}", headers=user_headers(target, stranger))
    assert response.status_code == 200 and response.json() == []
    anonymous = http.get(f"/rest/v1/daily_logs?id=eq.{rows[0]['id']}", headers={"apikey": target.anon_key})
    assert anonymous.status_code == 200 and anonymous.json() == []
    service = http.get(f"/rest/v1/daily_logs?id=eq.{rows[0]['id']}&select=user_id",
                       headers={"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}"})
    assert service.json() == [{"user_id": owner.id}]
