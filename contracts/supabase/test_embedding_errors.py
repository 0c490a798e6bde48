"""Embedding errors as PostgREST v14 words them: no relationship (PGRST200), ambiguous (PGRST201, 300
with the candidates), a nested parameter on a resource that is not embedded (PGRST108), malformed
embeds and nested parameters (PGRST100), and the gateway's own 501 for what it does not emulate."""

from __future__ import annotations

import pytest

from .targets import anon_headers, error_shape

pytestmark = pytest.mark.usefixtures("target")


@pytest.fixture
def fails(http, target):
    def fetch(path: str, status: int) -> dict:
        response = http.get(f"/rest/v1/{path}", headers=anon_headers(target))
        assert response.status_code == status, response.text
        return error_shape(response)
    return fetch


def test_no_relationship_is_pgrst200(fails):
    body = fails("emb_parents?select=id,emb_nowhere(id)", 400)
    assert body["code"] == "PGRST200"
    assert body["message"] == "Could not find a relationship between 'emb_parents' and 'emb_nowhere' in the schema cache"
    assert body["details"] == ("Searched for a foreign key relationship between 'emb_parents' and 'emb_nowhere' in the "
                               "schema 'public', but no matches were found.")


def test_pgrst200_suggests_a_close_name(fails):
    body = fails("emb_parents?select=id,emb_childrn(id)", 400)
    assert body["code"] == "PGRST200"
    assert body["hint"] == "Perhaps you meant 'emb_children' instead of 'emb_childrn'."


def test_a_hint_that_matches_nothing_is_pgrst200_naming_it(fails):
    body = fails("emb_parents?select=id,emb_children!emb_nope(id)", 400)
    assert body["code"] == "PGRST200"
    assert body["details"] == ("Searched for a foreign key relationship between 'emb_parents' and 'emb_children' "
                               "using the hint 'emb_nope' in the schema 'public', but no matches were found.")
    assert body["hint"] is None


def test_tables_without_a_foreign_key_are_pgrst200(fails):
    assert fails("emb_tags?select=id,emb_nodes(id)", 400)["code"] == "PGRST200"


def test_ambiguous_embed_is_300_pgrst201_with_the_candidates(fails):
    body = fails("emb_parents?select=id,emb_messages(id)", 300)
    assert body["code"] == "PGRST201"
    assert body["message"] == "Could not embed because more than one relationship was found for 'emb_parents' and 'emb_messages'"
    assert body["details"] == [
        {"cardinality": "one-to-many", "embedding": "emb_parents with emb_messages",
         "relationship": "emb_messages_receiver_fkey using emb_parents(id) and emb_messages(receiver_id)"},
        {"cardinality": "one-to-many", "embedding": "emb_parents with emb_messages",
         "relationship": "emb_messages_sender_fkey using emb_parents(id) and emb_messages(sender_id)"}]
    assert body["hint"] == ("Try changing 'emb_messages' to one of the following: 'emb_messages!emb_messages_receiver_fkey', "
                            "'emb_messages!emb_messages_sender_fkey'. Find the desired relationship in the 'details' key.")


def test_ambiguous_to_one_side_too(fails):
    body = fails("emb_messages?select=id,emb_parents(id)", 300)
    assert [d["cardinality"] for d in body["details"]] == ["many-to-one", "many-to-one"]


@pytest.mark.parametrize("query", ["emb_parents?select=id&emb_children.id=eq.1",
                                   "emb_parents?select=id&emb_children.order=id",
                                   "emb_parents?select=id&emb_children.limit=1",
                                   "emb_parents?select=id&emb_children.or=(id.eq.1)",
                                   "emb_parents?select=id,emb_profiles(bio)&emb_children.id=eq.1"])
def test_nested_parameter_without_the_embed_is_pgrst108(fails, query):
    body = fails(query, 400)
    assert body["code"] == "PGRST108"
    assert body["message"] == "'emb_children' is not an embedded resource in this request"
    assert body["hint"] == "Verify that 'emb_children' is included in the 'select' query parameter."


def test_nested_path_deeper_than_the_embeds_is_pgrst108(fails):
    body = fails("emb_parents?select=id,emb_children(id)&emb_children.emb_parents.id=eq.1", 400)
    assert body["code"] == "PGRST108" and "'emb_parents'" in body["message"]


@pytest.mark.parametrize("query", ["emb_parents?select=id,emb_children(id",
                                   "emb_parents?select=id,kids:...emb_children(id)",
                                   "emb_parents?select=id,emb_children!a!b!c(id)",
                                   "emb_parents?select=id,emb_children(id)&emb_children.order=id.upward",
                                   "emb_parents?select=id,emb_children(id)&emb_children.id=zz.1",
                                   "emb_parents?select=id,emb_children(id)&emb_children.or=(id.eq.1"])
def test_malformed_embeds_and_nested_parameters_are_pgrst100(fails, query):
    body = fails(query, 400)
    assert body["code"] == "PGRST100"
    parsed = query.split("&")[-1].split("=", 1)
    what = "select parameter" if parsed[0] == "select" else "order" if parsed[0].endswith("order") else None
    if what:
        assert body["message"].startswith(f'"failed to parse {what} ({parsed[1]})"'), body


def test_a_null_filter_names_an_aliased_embed_by_its_alias(fails):
    body = fails("emb_parents?select=id,kids:emb_children(id)&emb_children=is.null", 400)
    assert body["code"] == "42703"      # not the embed: a column of emb_parents, which has none by that name


def test_unknown_column_inside_an_embed_is_postgres_42703(fails):
    body = fails("emb_parents?select=id,emb_children(bogus)", 400)
    assert body["code"] == "42703"
    assert body["message"] == "column emb_children_1.bogus does not exist"


def test_aggregates_inside_an_embed_are_refused(fails):
    assert fails("emb_parents?select=id,emb_children(count())", 400)["code"] == "PGRST123"


def test_deep_embedding_loops_are_served(http, target):
    query = "emb_parents?select=id,emb_children(id,emb_parents(id,emb_children(id,emb_parents(id))))&id=eq.3"
    response = http.get(f"/rest/v1/{query}", headers=anon_headers(target))
    assert response.status_code == 200 and response.json() in ([], [{"id": 3, "emb_children": []}])


def test_related_order_needs_a_to_one_embed(fails):
    body = fails("emb_parents?select=id,emb_children(name)&order=emb_children(name)", 400)
    assert body["code"] == "PGRST118"
    assert body["message"] == "A related order on 'emb_children' is not possible"
    assert body["details"] == "'emb_parents' and 'emb_children' do not form a many-to-one or one-to-one relationship"
    body = fails("emb_children?select=id&order=emb_parents(name)", 400)
    assert body["code"] == "PGRST108" and body["message"] == "'emb_parents' is not an embedded resource in this request"


def test_absurdly_deep_embeds_are_refused_loudly(fails, target):
    if target.name == "external":
        pytest.skip("a real PostgREST hands such a query to PostgreSQL")
    query = "emb_parents?select=" + "emb_children(emb_parents(" * 40 + "id" + "))" * 40
    assert "deeper than 64 levels" in fails(query, 501)["message"]


def test_what_the_gateway_does_not_emulate_is_a_loud_501(http, target):
    """Ordering the rows a PATCH touches by an embed's column: the gateway says it does not do it."""
    if target.name == "external":
        pytest.skip("a real PostgREST may serve it")
    service = {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}"}
    response = http.patch("/rest/v1/emb_children?select=id,emb_parents(name)&id=eq.999&limit=1"
                          "&order=emb_parents(name)", json={"name": "x"}, headers=service)
    assert response.status_code == 501, response.text
    assert "order=rel(col)" in error_shape(response)["message"]



def test_two_sibling_embeds_under_one_label_are_postgres_42712(fails, http, target):
    """PostgREST names each embed's lateral join `<table>_<label>_<depth>`: one label twice at a level
    collides in its SQL (postgrest-js's 'join with same dest twice column hinting' records this answer).
    Aliases tell the two apart, and the same label at two depths does not collide."""
    body = fails("emb_messages?select=id,emb_parents!sender_id(id),emb_parents!receiver_id(id)", 400)
    assert body == {"code": "42712", "details": None, "hint": None,
                    "message": 'table name "emb_messages_emb_parents_1" specified more than once'}
    nested = fails("emb_parents?select=id,emb_children(id,emb_parents(id),emb_parents(name))", 400)
    assert nested["message"] == 'table name "emb_children_emb_parents_2" specified more than once'
    service = {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}"}
    assert http.post("/rest/v1/rpc/emb_seed", json={}, headers=service).status_code == 204
    served = {"emb_messages?select=id,s:emb_parents!sender_id(id),r:emb_parents!receiver_id(id)&id=eq.1000":
              [{"id": 1000, "s": {"id": 1}, "r": {"id": 2}}],
              "emb_parents?select=id,emb_children(id,emb_parents(id))&id=eq.2":
              [{"id": 2, "emb_children": [{"id": 12, "emb_parents": {"id": 2}}]}]}
    for path, rows in served.items():
        response = http.get(f"/rest/v1/{path}", headers=anon_headers(target))
        assert response.status_code == 200, response.text
        assert response.json() == rows
