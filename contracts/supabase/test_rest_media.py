"""Media types and the headers around them, as PostgREST v14 serves them: nulls=stripped (object and
array), CSV out and in, form bodies, HEAD with GET's headers, Content-Location, compact error JSON,
and what answers 406 / 400 for a type nobody produces."""

from __future__ import annotations

import uuid

import pytest

from .targets import error_shape

ITEMS = "/rest/v1/contract_rest_items"
pytestmark = pytest.mark.usefixtures("target")


def anon(target, **extra) -> dict:
    return {"apikey": target.anon_key, **extra}


@pytest.fixture
def seeded(http, target):
    """Two rows under a fresh tag: one with a note full of CSV's special characters, one without."""
    tag = uuid.uuid4().hex
    rows = [{"tag": tag, "n": 1, "labels": ["x", "y z"], "note": 'say "hi", ok'}, {"tag": tag, "n": 2, "labels": [], "note": None}]
    response = http.post(ITEMS, json=rows, headers=anon(target))
    assert response.status_code == 201, response.text
    return tag


def test_object_with_nulls_stripped(http, target, seeded):
    accept = "application/vnd.pgrst.object+json;nulls=stripped"
    response = http.get(f"{ITEMS}?tag=eq.{seeded}&n=eq.2&select=n,note", headers=anon(target, Accept=accept))
    assert response.status_code == 200 and response.json() == {"n": 2}
    assert response.headers["content-type"] == "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"


def test_array_with_nulls_stripped_and_plain(http, target, seeded):
    query = f"{ITEMS}?tag=eq.{seeded}&select=n,note&order=n"
    stripped = http.get(query, headers=anon(target, Accept="application/vnd.pgrst.array+json;nulls=stripped"))
    assert stripped.json() == [{"n": 1, "note": 'say "hi", ok'}, {"n": 2}]
    assert stripped.headers["content-type"] == "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8"
    plain = http.get(query, headers=anon(target, Accept="application/vnd.pgrst.array+json"))
    assert plain.json() == [{"n": 1, "note": 'say "hi", ok'}, {"n": 2, "note": None}]
    assert plain.headers["content-type"] == "application/json; charset=utf-8"


def test_csv_output(http, target, seeded):
    """Header from the first row's keys; each row as PostgreSQL's record text without its parentheses."""
    response = http.get(f"{ITEMS}?tag=eq.{seeded}&select=n,note,labels&order=n", headers=anon(target, Accept="text/csv"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text == 'n,note,labels\n1,"say ""hi"", ok","{x,""y z""}"\n2,,{}'
    empty = http.get(f"{ITEMS}?tag=eq.none-{seeded}", headers=anon(target, Accept="text/csv"))
    assert empty.status_code == 200 and empty.text == "\n"
    preferred = http.get(f"{ITEMS}?tag=eq.{seeded}&select=n&order=n", headers=anon(target, Accept="text/csv, */*"))
    assert preferred.text == "n\n1\n2"


def test_csv_from_writes_with_representation(http, target, seeded):
    response = http.patch(f"{ITEMS}?tag=eq.{seeded}&n=eq.1&select=n,note", json={"note": "a,b"},
                          headers=anon(target, Accept="text/csv", Prefer="return=representation"))
    assert response.status_code == 200 and response.text == 'n,note\n1,"a,b"'
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


def test_csv_and_form_request_bodies(http, target):
    tag = uuid.uuid4().hex
    body = f'tag,n,note\n{tag},7,"with, comma"\n{tag},8,NULL\n'
    response = http.post(f"{ITEMS}?select=n,note", content=body.encode(),
                         headers=anon(target, **{"Content-Type": "text/csv", "Prefer": "return=representation"}))
    assert response.status_code == 201, response.text
    assert response.json() == [{"n": 7, "note": "with, comma"}, {"n": 8, "note": None}]
    form = http.post(f"{ITEMS}?select=n,note", content=f"tag={tag}&n=9&note=a+b%26c".encode(),
                     headers=anon(target, **{"Content-Type": "application/x-www-form-urlencoded",
                                             "Prefer": "return=representation"}))
    assert form.status_code == 201 and form.json() == [{"n": 9, "note": "a b&c"}]
    ragged = http.post(ITEMS, content=b"tag,n\nx\n", headers=anon(target, **{"Content-Type": "text/csv"}))
    assert ragged.status_code == 400 and error_shape(ragged)["code"] == "PGRST102"


def test_unknown_body_type_is_pgrst102(http, target):
    response = http.post(ITEMS, content=b"x", headers=anon(target, **{"Content-Type": "text/plain"}))
    assert response.status_code == 400
    assert response.json()["message"] == "Content-Type not acceptable: text/plain"


def test_head_carries_the_get_headers(http, target, seeded):
    query = f"{ITEMS}?tag=eq.{seeded}&select=n"
    got = http.get(query, headers=anon(target, Prefer="count=exact"))
    head = http.head(query, headers=anon(target, Prefer="count=exact"))
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-range", "content-location", "preference-applied"):
        assert head.headers[name] == got.headers[name], name
    csv = http.head(query, headers=anon(target, Accept="text/csv"))
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    rpc = http.head("/rest/v1/rpc/contract_numbers?n=3", headers=anon(target))
    assert rpc.status_code == 200 and rpc.headers["content-type"] == "application/json; charset=utf-8"


def test_content_location_is_the_sorted_query(http, target, seeded):
    response = http.get(f"{ITEMS}?tag=eq.{seeded}&select=n&n=gt.0&n=lt.5", headers=anon(target))
    assert response.headers["content-location"] == f"/contract_rest_items?n=gt.0,lt.5&select=n&tag=eq.{seeded}"
    bare = http.get(ITEMS, headers=anon(target, Range="0-0"))
    assert bare.headers["content-location"] == "/contract_rest_items"


def test_error_bodies_are_compact_in_v14_key_order(http, target, seeded):
    response = http.get(f"{ITEMS}?tag=eq.{seeded}", headers=anon(target, Accept="application/vnd.pgrst.object+json"))
    assert response.status_code == 406
    assert response.content == (b'{"code":"PGRST116","details":"The result contains 2 rows","hint":null,'
                                b'"message":"Cannot coerce the result to a single JSON object"}')


def test_unproduced_media_types_are_406(http, target):
    """Nothing produces text/plain for a table; the plan media type is off, as on a Supabase project
    by default (db_plan_enabled)."""
    for accept, named in (("text/plain", "text/plain"), ("text/unknowntype, application/xml", "text/unknowntype, application/xml"),
                          ("application/vnd.pgrst.plan+json", 'application/vnd.pgrst.plan+json; for="application/json"')):
        response = http.get(ITEMS, headers=anon(target, Accept=accept))
        assert response.status_code == 406, accept
        assert response.json() == {"code": "PGRST107", "details": None, "hint": None,
                                   "message": f"None of these media types are available: {named}"}
    assert http.get(f"{ITEMS}?limit=0", headers=anon(target, Accept="text/unknowntype, text/csv")).status_code == 200


def test_function_replies_in_every_media_type(http, target):
    """RPC results take Accept as tables do; a scalar's CSV column is v14's `pgrst_scalar`."""
    numbers = http.get("/rest/v1/rpc/contract_numbers?n=3", headers=anon(target, Accept="text/csv"))
    assert numbers.status_code == 200 and numbers.text == "pgrst_scalar\n1\n2\n3"
    assert numbers.headers["content-type"] == "text/csv; charset=utf-8"
    echo = http.get("/rest/v1/rpc/contract_echo?message=a,b", headers=anon(target, Accept="text/csv"))
    assert echo.text == 'pgrst_scalar\n"a,b"'
    stripped = http.get("/rest/v1/rpc/contract_request_settings",
                        headers=anon(target, Accept="application/vnd.pgrst.object+json;nulls=stripped"))
    assert stripped.status_code == 200 and stripped.json()["method"] == "GET"
    assert stripped.headers["content-type"] == "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"


def test_geojson_is_postgis_rendering(http, target, seeded):
    """v14 renders application/geo+json with PostGIS's ST_AsGeoJSON: a FeatureCollection where the
    database has PostGIS (and a geometry column), PostgreSQL's own 42883 where it has not."""
    response = http.get(f"{ITEMS}?tag=eq.{seeded}&select=n", headers=anon(target, Accept="application/geo+json"))
    if response.status_code == 200:
        assert response.headers["content-type"] == "application/geo+json; charset=utf-8"
        assert response.json()["type"] == "FeatureCollection"
    else:
        assert (response.status_code, error_shape(response)["code"]) in ((404, "42883"), (500, "XX000"))
        assert "st_asgeojson" in response.json()["message"].lower()
