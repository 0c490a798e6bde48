"""More than one exposed schema (Supabase's "Exposed schemas", PostgREST's db-schemas): `Accept-Profile`
picks the schema of a GET/HEAD, `Content-Profile` that of a POST/PATCH/PUT/DELETE and of an RPC POST;
no header is the first schema listed; a schema not listed is 406 PGRST106. Each test exposes
`public, contract_personal` through the authenticator's `pgrst.db_schemas` setting (contract_schema.sql's
contract_expose_schemas, reset when the module ends), as PostgREST reads it in-database, so the same
tests run against a real stack. (A listed schema the database lacks makes v14 answer every request
503 PGRST002: tests/supabase/test_schemas.py checks that on gateways only, since over HTTP alone a
real stack could not be switched back.)

contract_personal holds `notes` (a user's own rows under RLS, no privilege for anon), `emb_parents`
1 Pia and 2 Quin with `emb_children` 20 p1 and 21 p2 of Pia (public's tables of the same names hold
other rows), `links` (a foreign key into public.emb_parents) and the functions contract_where,
add_note and parents_named.
"""

from __future__ import annotations

import time
import uuid

import pytest

from .targets import anon_headers, error_shape, service_headers, user_headers

STANDALONE_SMOKE = True     # also against the standalone gateway: pgrst.db_schemas read by another process
pytestmark = pytest.mark.usefixtures("exposed")

SCHEMAS = "public, contract_personal"
HINT = f"Only the following schemas are exposed: {SCHEMAS}"
READ = {"Accept-Profile": "contract_personal"}
WRITE = {"Content-Profile": "contract_personal"}


def _expose(target, schemas: str) -> None:
    with target.http() as http:
        response = http.post("/rest/v1/rpc/contract_expose_schemas", json={"schemas": schemas},
                             headers=service_headers(target))
        assert response.status_code == 204, response.text
        # PostgREST re-reads its configuration after the NOTIFY, in the background: wait for it.
        deadline = time.monotonic() + 15
        while True:
            probe = http.get("/rest/v1/emb_parents?select=id&limit=1", headers=anon_headers(target, **READ))
            if (probe.status_code == 200) == bool(schemas) or time.monotonic() > deadline:
                break
            time.sleep(0.2)


@pytest.fixture(scope="module")
def _exposures():
    """Targets whose schemas this module exposed: reset to their default when the module ends."""
    done: dict[str, object] = {}
    yield done
    for target in done.values():
        _expose(target, "")


@pytest.fixture
def exposed(target, _exposures):
    if target.url not in _exposures:
        _expose(target, SCHEMAS)
        _exposures[target.url] = target
    return target


def service(target, **extra) -> dict:
    return service_headers(target, **extra)


# ---- which schema a request reads and writes ---------------------------------------------------------

def test_accept_profile_selects_the_schema_of_a_read_and_no_header_is_the_first(http, target):
    personal = http.get("/rest/v1/emb_parents?select=id,name&order=id", headers=anon_headers(target, **READ))
    assert personal.status_code == 200, personal.text
    assert personal.json() == [{"id": 1, "name": "Pia"}, {"id": 2, "name": "Quin"}]
    assert personal.headers["content-profile"] == "contract_personal"
    assert personal.headers["content-type"].startswith("application/json")
    http.post("/rest/v1/rpc/emb_seed", json={}, headers=service(target))
    default = http.get("/rest/v1/emb_parents?select=name&id=eq.1", headers=anon_headers(target))
    assert default.json() == [{"name": "Ada"}]
    # several schemas exposed: the default one counts as negotiated, and the reply says which
    assert default.headers["content-profile"] == "public"
    explicit = http.get("/rest/v1/emb_parents?select=name&id=eq.1", headers=anon_headers(target, **{"Accept-Profile": "public"}))
    assert explicit.json() == [{"name": "Ada"}] and explicit.headers["content-profile"] == "public"
    head = http.head("/rest/v1/emb_parents", headers=anon_headers(target, **READ))
    assert head.status_code == 200 and head.headers["content-profile"] == "contract_personal"


def test_a_table_only_in_the_second_schema_is_pgrst205_without_the_header(http, target):
    response = http.get("/rest/v1/links", headers=anon_headers(target))
    assert response.status_code == 404
    body = error_shape(response)
    assert (body["code"], body["message"]) == ("PGRST205", "Could not find the table 'public.links' in the schema cache")
    assert "content-profile" not in response.headers
    assert http.get("/rest/v1/links", headers=anon_headers(target, **READ)).json() == []


def test_writes_take_content_profile_not_accept_profile(http, target, user):
    body = f"note {uuid.uuid4().hex[:8]}"
    created = http.post("/rest/v1/notes", json={"body": body},
                        headers=user_headers(target, user, Prefer="return=representation", **WRITE))
    assert created.status_code == 201, created.text
    [row] = created.json()
    assert (row["body"], row["owner_id"]) == (body, user.id)
    assert created.headers["content-profile"] == "contract_personal"
    # Accept-Profile on a POST does not select the schema: public has no `notes`
    wrong = http.post("/rest/v1/notes", json={"body": body}, headers=user_headers(target, user, **READ))
    assert wrong.status_code == 404 and error_shape(wrong)["message"] == \
        "Could not find the table 'public.notes' in the schema cache"
    patched = http.patch(f"/rest/v1/notes?id=eq.{row['id']}", json={"body": body + "!"},
                         headers=user_headers(target, user, **WRITE))
    assert patched.status_code == 204 and "content-profile" not in patched.headers    # no body, no profile
    put = http.put(f"/rest/v1/notes?id=eq.{row['id']}", json={"id": row["id"], "owner_id": user.id, "body": "put"},
                   headers=user_headers(target, user, Prefer="return=representation", **WRITE))
    assert put.status_code == 200, put.text
    assert put.json()[0]["body"] == "put" and put.headers["content-profile"] == "contract_personal"
    read = http.get(f"/rest/v1/notes?id=eq.{row['id']}&select=body", headers=user_headers(target, user, **READ))
    assert read.json() == [{"body": "put"}]
    deleted = http.delete(f"/rest/v1/notes?id=eq.{row['id']}",
                          headers=user_headers(target, user, Prefer="return=representation", **WRITE))
    assert deleted.status_code == 200 and [r["id"] for r in deleted.json()] == [row["id"]]
    assert http.get(f"/rest/v1/notes?id=eq.{row['id']}", headers=user_headers(target, user, **READ)).json() == []


def test_rls_and_privileges_apply_in_the_second_schema(http, target, user):
    other = http.post("/auth/v1/signup", json={"email": f"contract-{uuid.uuid4().hex[:12]}@example.com",
                                                "password": "correct-horse-1"},
                      headers=anon_headers(target, **{"X-Supabase-Api-Version": "2024-01-01"})).json()
    mine = http.post("/rest/v1/notes", json={"body": "mine"},
                     headers=user_headers(target, user, Prefer="return=representation", **WRITE)).json()[0]
    theirs = {"apikey": target.anon_key, "Authorization": f"Bearer {other['access_token']}"}
    assert http.get(f"/rest/v1/notes?id=eq.{mine['id']}", headers={**theirs, **READ}).json() == []
    untouched = http.patch(f"/rest/v1/notes?id=eq.{mine['id']}", json={"body": "stolen"},
                           headers={**theirs, **WRITE, "Prefer": "return=representation"})
    assert untouched.status_code == 200 and untouched.json() == []
    forged = http.post("/rest/v1/notes", json={"body": "forged", "owner_id": user.id}, headers={**theirs, **WRITE})
    assert forged.status_code == 403 and error_shape(forged)["code"] == "42501"
    anon = http.get("/rest/v1/notes", headers=anon_headers(target, **READ))
    assert anon.status_code == 401 and error_shape(anon)["code"] == "42501"
    assert http.get(f"/rest/v1/notes?id=eq.{mine['id']}&select=body", headers=user_headers(target, user, **READ)).json() \
        == [{"body": "mine"}]


def test_embedding_inside_the_second_schema(http, target):
    response = http.get("/rest/v1/emb_parents?select=name,emb_children(name)&order=id&emb_children.order=id",
                        headers=anon_headers(target, **READ))
    assert response.status_code == 200, response.text
    assert response.json() == [{"name": "Pia", "emb_children": [{"name": "p1"}, {"name": "p2"}]},
                               {"name": "Quin", "emb_children": []}]
    to_one = http.get("/rest/v1/emb_children?select=name,emb_parents(name)&id=eq.21", headers=anon_headers(target, **READ))
    assert to_one.json() == [{"name": "p2", "emb_parents": {"name": "Pia"}}]


def test_a_foreign_key_into_another_exposed_schema_is_no_relationship(http, target):
    response = http.get("/rest/v1/links?select=id,emb_parents(name)", headers=anon_headers(target, **READ))
    assert response.status_code == 400, response.text
    body = error_shape(response)
    assert body["code"] == "PGRST200"
    assert body["message"] == "Could not find a relationship between 'links' and 'emb_parents' in the schema cache"
    assert body["details"] == ("Searched for a foreign key relationship between 'links' and 'emb_parents' in the "
                               "schema 'contract_personal', but no matches were found.")


# ---- functions -----------------------------------------------------------------------------------------

def test_rpc_resolves_in_the_selected_schema_with_its_search_path(http, target):
    personal = http.get("/rest/v1/rpc/contract_where", headers=anon_headers(target, **READ))
    assert personal.status_code == 200, personal.text
    assert personal.json() == {"schema": "contract_personal", "search_path": '"contract_personal", "public", "extensions"'}
    assert personal.headers["content-profile"] == "contract_personal"
    default = http.get("/rest/v1/rpc/contract_where", headers=anon_headers(target))
    assert default.json() == {"schema": "public", "search_path": '"public", "public", "extensions"'}
    assert default.headers["content-profile"] == "public"
    # an RPC POST reads Content-Profile; Accept-Profile alone leaves it in the default schema
    posted = http.post("/rest/v1/rpc/contract_where", json={}, headers=anon_headers(target, **WRITE))
    assert posted.json()["schema"] == "contract_personal"
    assert http.post("/rest/v1/rpc/contract_where", json={}, headers=anon_headers(target, **READ)).json()["schema"] == "public"


def test_rpc_writes_and_embeds_in_the_second_schema(http, target, user):
    added = http.post("/rest/v1/rpc/add_note", json={"note": "via rpc"}, headers=user_headers(target, user, **WRITE))
    assert added.status_code == 200, added.text
    assert (added.json()["body"], added.json()["owner_id"]) == ("via rpc", user.id)
    found = http.get(f"/rest/v1/notes?id=eq.{added.json()['id']}&select=body", headers=user_headers(target, user, **READ))
    assert found.json() == [{"body": "via rpc"}]
    embedded = http.get("/rest/v1/rpc/parents_named?prefix=P&select=name,emb_children(name)&emb_children.order=id",
                        headers=anon_headers(target, **READ))
    assert embedded.status_code == 200, embedded.text
    assert embedded.json() == [{"name": "Pia", "emb_children": [{"name": "p1"}, {"name": "p2"}]}]
    missing = http.get("/rest/v1/rpc/parents_named?prefix=P", headers=anon_headers(target))
    assert missing.status_code == 404
    assert error_shape(missing)["message"] == "Could not find the function public.parents_named(prefix) in the schema cache"


# ---- schemas that are not exposed, and bad profile headers ---------------------------------------------

@pytest.mark.parametrize("method, path, header", [
    ("GET", "/rest/v1/emb_parents", "Accept-Profile"),
    ("HEAD", "/rest/v1/emb_parents", "Accept-Profile"),
    ("POST", "/rest/v1/emb_parents", "Content-Profile"),
    ("PATCH", "/rest/v1/emb_parents?id=eq.1", "Content-Profile"),
    ("DELETE", "/rest/v1/emb_parents?id=eq.1", "Content-Profile"),
    ("GET", "/rest/v1/rpc/contract_where", "Accept-Profile"),
    ("POST", "/rest/v1/rpc/contract_where", "Content-Profile"),
])
def test_a_schema_not_exposed_is_406_pgrst106(http, target, method, path, header):
    response = http.request(method, path, json={} if method in ("POST", "PATCH") else None,
                            headers=service(target, **{header: "emb_private"}))
    assert response.status_code == 406, response.text
    assert "content-profile" not in response.headers
    if method != "HEAD":
        assert error_shape(response) == {"code": "PGRST106", "details": None, "hint": HINT,
                                         "message": "Invalid schema: emb_private"}


@pytest.mark.parametrize("value", ["", "PUBLIC", "public, contract_personal", "contract_personal2", "auth"])
def test_a_malformed_or_unknown_profile_is_406_naming_it(http, target, value):
    response = http.get("/rest/v1/emb_parents", headers=anon_headers(target, **{"Accept-Profile": value}))
    assert response.status_code == 406, response.text
    body = error_shape(response)
    assert (body["code"], body["hint"]) == ("PGRST106", HINT)
    assert body["message"] == f"Invalid schema: {value.strip()}"


# ---- supabase-py ---------------------------------------------------------------------------------------

def test_supabase_py_schema_switch(target, signed_client):
    personal = signed_client.schema("contract_personal")
    row = personal.table("notes").insert({"body": "from supabase-py"}).execute().data[0]
    assert row["body"] == "from supabase-py"
    assert personal.table("notes").select("body").eq("id", row["id"]).execute().data == [{"body": "from supabase-py"}]
    assert personal.rpc("contract_where", {}).execute().data["schema"] == "contract_personal"
    parents = personal.table("emb_parents").select("name, emb_children(name)").eq("id", 1).execute().data
    assert parents[0]["name"] == "Pia" and sorted(c["name"] for c in parents[0]["emb_children"]) == ["p1", "p2"]
    assert signed_client.rpc("contract_where").execute().data["schema"] == "public"
    from postgrest.exceptions import APIError
    with pytest.raises(APIError) as caught:
        signed_client.schema("emb_private").table("emb_parents").select("*").execute()
    assert caught.value.code == "PGRST106"



# ---- supabase-js ---------------------------------------------------------------------------------------

@pytest.mark.node
def test_supabase_js_schema_switch(target):
    """supabase-js's `.schema()` (postgrest-js: Accept-Profile on GET/HEAD, Content-Profile otherwise)."""
    if target.transport is not None:
        pytest.skip("supabase-js runs in node: over loopback and against a real stack, not in-process")
    from .test_supabase_js import case, run_cases
    out = case(run_cases(target, ["schema_switch"]), "schema_switch")
    assert out["error"] is None, out
    parents = out["data"]["parents"]
    assert [p["name"] for p in parents] == ["Pia"] and sorted(c["name"] for c in parents[0]["emb_children"]) == ["p1", "p2"]
    assert (out["data"]["posted"], out["data"]["got"]) == ("contract_personal", "contract_personal")
    assert (out["data"]["refused"], out["data"]["refusedStatus"]) == ("PGRST106", 406)
