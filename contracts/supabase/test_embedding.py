"""Resource embedding as PostgREST v14 serves it: `select=*,rel(*)` over the `emb_*` tables of
contract_schema.sql (parents 1 Ada, 2 Bo, 3 Cy; children 10 a1 and 11 a2 of Ada, 12 b1 of Bo, 13 an
orphan; profiles of Ada and Bo; tags red+blue on Ada, blue on Bo; messages between them; a tree of
nodes; secrets of which only one is visible under RLS)."""

from __future__ import annotations

import pytest

from .targets import anon_headers

pytestmark = pytest.mark.usefixtures("target")


@pytest.fixture
def get(http, target):
    """GET /rest/v1/<path> as anon, after (re)writing the emb_* rows (the harness may have emptied them)."""
    service = {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}"}
    seeded = http.post("/rest/v1/rpc/emb_seed", json={}, headers=service)
    assert seeded.status_code == 204, seeded.text

    def fetch(path: str, status: int = 200, **headers):
        response = http.get(f"/rest/v1/{path}", headers=anon_headers(target, **headers))
        assert response.status_code == status, response.text
        return response.json()
    return fetch


def test_one_to_many_is_an_array_and_empty_when_none(get):
    assert get("emb_parents?select=id,emb_children(id,name)&order=id&emb_children.order=id") == [
        {"id": 1, "emb_children": [{"id": 10, "name": "a1"}, {"id": 11, "name": "a2"}]},
        {"id": 2, "emb_children": [{"id": 12, "name": "b1"}]},
        {"id": 3, "emb_children": []}]


def test_embedded_json_is_jsonb_as_postgrest_renders_it(get, http, target):
    """Embeds are `::jsonb` in PostgREST's queries: keys in jsonb's order (shorter first), spaced."""
    get("emb_parents?select=id&id=eq.2")
    response = http.get("/rest/v1/emb_parents?select=id,emb_children(*),emb_profiles(*)&id=eq.2",
                        headers=anon_headers(target))
    assert response.text == ('[{"id":2,"emb_children":[{"id": 12, "name": "b1", "rank": 1, "parent_id": 2}],'
                             '"emb_profiles":{"bio": "second", "parent_id": 2}}]')


def test_many_to_one_is_an_object_or_null(get):
    assert get("emb_children?select=id,emb_parents(name)&order=id") == [
        {"id": 10, "emb_parents": {"name": "Ada"}}, {"id": 11, "emb_parents": {"name": "Ada"}},
        {"id": 12, "emb_parents": {"name": "Bo"}}, {"id": 13, "emb_parents": None}]


def test_star_with_an_embed_and_an_alias(get):
    assert get("emb_children?select=*,mum:emb_parents(*)&id=eq.12") == [
        {"id": 12, "parent_id": 2, "name": "b1", "rank": 1, "mum": {"id": 2, "name": "Bo"}}]


def test_one_to_one_both_ways(get):
    assert get("emb_parents?select=id,emb_profiles(bio)&order=id") == [
        {"id": 1, "emb_profiles": {"bio": "first"}}, {"id": 2, "emb_profiles": {"bio": "second"}},
        {"id": 3, "emb_profiles": None}]
    assert get("emb_profiles?select=bio,emb_parents(name)&parent_id=eq.2") == [
        {"bio": "second", "emb_parents": {"name": "Bo"}}]


def test_one_to_one_through_a_unique_constraint_and_a_composite_key(get):
    assert get("emb_parents?select=id,emb_passports(id)&order=id") == [
        {"id": 1, "emb_passports": None}, {"id": 2, "emb_passports": {"id": 7}}, {"id": 3, "emb_passports": None}]
    assert get("emb_parent_tags?select=tag_id,emb_tag_notes(note)&parent_id=eq.1&order=tag_id") == [
        {"tag_id": 100, "emb_tag_notes": []}, {"tag_id": 101, "emb_tag_notes": [{"note": "ada likes blue"}]}]
    assert get("emb_tag_notes?select=note,emb_parent_tags(parent_id,tag_id)") == [
        {"note": "ada likes blue", "emb_parent_tags": {"parent_id": 1, "tag_id": 101}}]


def test_many_to_many_through_the_junction(get):
    assert get("emb_parents?select=id,emb_tags(label)&order=id&emb_tags.order=id") == [
        {"id": 1, "emb_tags": [{"label": "red"}, {"label": "blue"}]}, {"id": 2, "emb_tags": [{"label": "blue"}]},
        {"id": 3, "emb_tags": []}]
    assert get("emb_tags?select=label,emb_parents(name)&id=eq.101&emb_parents.order=id") == [
        {"label": "blue", "emb_parents": [{"name": "Ada"}, {"name": "Bo"}]}]
    assert get("emb_parents?select=id,emb_tags!emb_parent_tags(label)&id=eq.2") == [
        {"id": 2, "emb_tags": [{"label": "blue"}]}]


def test_embedding_through_a_view(get):
    assert get("emb_parents?select=id,emb_children_view(name)&id=eq.1&emb_children_view.order=id") == [
        {"id": 1, "emb_children_view": [{"name": "a1"}, {"name": "a2"}]}]
    assert get("emb_children_view?select=name,emb_parents(name)&id=eq.12") == [
        {"name": "b1", "emb_parents": {"name": "Bo"}}]


def test_embedding_through_a_view_over_a_view(get):
    assert get("emb_children_named?select=child_id,emb_parents(name)&child_id=eq.12") == [
        {"child_id": 12, "emb_parents": {"name": "Bo"}}]
    assert get("emb_parents?select=id,emb_children_named(shout)&id=eq.2") == [{"id": 2, "emb_children_named": [{"shout": "B1"}]}]


def test_views_over_tables_of_an_unexposed_schema(get):
    assert get("emb_owners?select=name,emb_pets(name)&emb_pets.order=id") == [
        {"name": "Ola", "emb_pets": [{"name": "Rex"}, {"name": "Tom"}]}]
    assert get("emb_pets?select=name,emb_owners(name)&id=eq.2") == [{"name": "Tom", "emb_owners": {"name": "Ola"}}]


def test_computed_relationships(get):
    assert get("emb_parents?select=id,emb_kids(name),emb_eldest(name)&order=id") == [
        {"id": 1, "emb_kids": [{"name": "a1"}, {"name": "a2"}], "emb_eldest": {"name": "a2"}},
        {"id": 2, "emb_kids": [{"name": "b1"}], "emb_eldest": {"name": "b1"}},
        {"id": 3, "emb_kids": [], "emb_eldest": None}]


def test_self_reference_children_by_table_parent_by_column(get):
    assert get("emb_nodes?select=name,emb_nodes(name)&id=eq.1&emb_nodes.order=id") == [
        {"name": "root", "emb_nodes": [{"name": "left"}, {"name": "right"}]}]
    assert get("emb_nodes?select=name,up_id(name)&id=eq.4") == [{"name": "leaf", "up_id": {"name": "left"}}]


def test_hints_by_constraint_and_by_column(get):
    got = get("emb_parents?select=id,sent:emb_messages!emb_messages_sender_fkey(body),"
              "got:emb_messages!receiver_id(body)&id=eq.1&sent.order=id&got.order=id")
    assert got == [{"id": 1, "sent": [{"body": "hi"}, {"body": "me"}], "got": [{"body": "yo"}, {"body": "me"}]}]
    assert get("emb_messages?select=body,from:emb_messages_sender_fkey(name),to:receiver_id(name)&id=eq.1000") == [
        {"body": "hi", "from": {"name": "Ada"}, "to": {"name": "Bo"}}]
    assert get("emb_messages?select=body,emb_parents!sender_id(name)&id=eq.1001") == [
        {"body": "yo", "emb_parents": {"name": "Bo"}}]


def test_nested_embeds(get):
    assert get("emb_parents?select=name,emb_children(name,emb_parents(name,emb_profiles(bio)))&id=eq.2") == [
        {"name": "Bo", "emb_children": [{"name": "b1", "emb_parents": {"name": "Bo", "emb_profiles": {"bio": "second"}}}]}]


def test_counting_children_the_way_apps_do(get):
    """`rel(count)`: PostgreSQL reads `alias.count` as `count(alias)` (no aggregates switch needed)."""
    assert get("emb_parents?select=id,emb_children(count)&order=id") == [
        {"id": 1, "emb_children": [{"count": 2}]}, {"id": 2, "emb_children": [{"count": 1}]},
        {"id": 3, "emb_children": [{"count": 0}]}]


def test_inner_join_filters_the_parent(get):
    assert get("emb_parents?select=id,emb_children!inner(id)&order=id&emb_children.order=id") == [
        {"id": 1, "emb_children": [{"id": 10}, {"id": 11}]}, {"id": 2, "emb_children": [{"id": 12}]}]
    assert get("emb_parents?select=id,emb_children!inner(name)&emb_children.name=eq.b1") == [
        {"id": 2, "emb_children": [{"name": "b1"}]}]
    assert get("emb_children?select=id,emb_parents!inner(name)&emb_parents.name=eq.Ada&order=id") == [
        {"id": 10, "emb_parents": {"name": "Ada"}}, {"id": 11, "emb_parents": {"name": "Ada"}}]


def test_left_join_and_embedded_filters_keep_every_parent(get):
    assert get("emb_parents?select=id,emb_children!left(name)&emb_children.name=eq.b1&order=id") == [
        {"id": 1, "emb_children": []}, {"id": 2, "emb_children": [{"name": "b1"}]}, {"id": 3, "emb_children": []}]
    assert get("emb_children?select=id,emb_parents(name)&emb_parents.name=eq.Bo&id=in.(10,12)&order=id") == [
        {"id": 10, "emb_parents": None}, {"id": 12, "emb_parents": {"name": "Bo"}}]


def test_null_filters_on_an_embed(get):
    assert get("emb_parents?select=id,emb_children(id)&emb_children=is.null") == [{"id": 3, "emb_children": []}]
    assert [r["id"] for r in get("emb_parents?select=id,emb_children(id)&emb_children=not.is.null&order=id")] == [1, 2]
    assert get("emb_parents?select=id,kids:emb_children(id)&kids=is.null") == [{"id": 3, "kids": []}]
    assert get("emb_parents?select=id,kids:emb_children(id)&or=(kids.not.is.null,id.eq.3)&id=gt.1") == [
        {"id": 2, "kids": [{"id": 12}]}, {"id": 3, "kids": []}]


def test_empty_embed_only_filters(get):
    assert get("emb_parents?select=id,emb_children!inner()&emb_children.name=eq.a2") == [{"id": 1}]


def test_nested_order_limit_offset_and_logic(get):
    base = "emb_parents?select=id,emb_children(name)&id=eq.1"
    assert get(base + "&emb_children.order=rank.desc") == [{"id": 1, "emb_children": [{"name": "a1"}, {"name": "a2"}]}]
    assert get(base + "&emb_children.order=id&emb_children.limit=1") == [{"id": 1, "emb_children": [{"name": "a1"}]}]
    assert get(base + "&emb_children.order=id&emb_children.offset=1") == [{"id": 1, "emb_children": [{"name": "a2"}]}]
    assert len(get(base + "&emb_children.limit=x&emb_children.offset=y")[0]["emb_children"]) == 2   # v14: ignored
    assert get(base + "&emb_children.or=(name.eq.a2,rank.gt.5)") == [{"id": 1, "emb_children": [{"name": "a2"}]}]
    assert get(base + "&emb_children.not.or=(name.eq.a2,rank.gt.5)") == [{"id": 1, "emb_children": [{"name": "a1"}]}]
    assert get(base + "&emb_children.and=(name.like.a*,rank.eq.2)") == [{"id": 1, "emb_children": [{"name": "a1"}]}]


def test_order_by_a_to_one_embed(get):
    assert [r["id"] for r in get("emb_children?select=id,emb_parents(name)&id=in.(10,11,12)"
                                 "&order=emb_parents(name).desc,id")] == [12, 10, 11]
    assert [r["id"] for r in get("emb_children?select=id,p:emb_parents(name)&order=p(name).asc.nullsfirst,id")] == [
        13, 10, 11, 12]
    got = get("emb_parents?select=id,emb_children(id,emb_parents(name))&id=eq.1&emb_children.order=emb_parents(name),id.desc")
    assert [c["id"] for c in got[0]["emb_children"]] == [11, 10]


def test_spread_to_one_lifts_columns(get):
    assert get("emb_children?select=id,...emb_parents(parent_name:name)&id=in.(10,13)&order=id") == [
        {"id": 10, "parent_name": "Ada"}, {"id": 13, "parent_name": None}]


def test_spread_to_many_gives_an_array_per_column(get):
    """v13+ spreads one-to-many embeds too (SpreadQueriesSpec): each column becomes an array."""
    assert get("emb_parents?select=id,...emb_children(name,rank)&order=id&emb_children.order=id") == [
        {"id": 1, "name": ["a1", "a2"], "rank": [2, 1]}, {"id": 2, "name": ["b1"], "rank": [1]},
        {"id": 3, "name": [], "rank": []}]


def test_rls_applies_to_embedded_rows(get):
    assert get("emb_parents?select=id,emb_secrets(note)&order=id") == [
        {"id": 1, "emb_secrets": [{"note": "shown"}]}, {"id": 2, "emb_secrets": []}, {"id": 3, "emb_secrets": []}]


def test_exact_count_and_single_object_with_embeds(get, http, target):
    response = http.get("/rest/v1/emb_parents?select=id,emb_children!inner(id)&limit=1&order=id",
                        headers=anon_headers(target, Prefer="count=exact"))
    assert response.status_code == 206 and response.headers["content-range"] == "0-0/2"
    response = http.get("/rest/v1/emb_parents?select=id,emb_tags(id),emb_children(id)&emb_children=is.null",
                        headers=anon_headers(target, Prefer="count=exact"))
    assert response.headers["content-range"] == "0-0/1"
    assert get("emb_parents?select=name,emb_profiles(bio)&id=eq.3", Accept="application/vnd.pgrst.object+json") == {
        "name": "Cy", "emb_profiles": None}


def test_set_returning_function_with_an_embed(get):
    assert get("rpc/emb_parents_named?prefix=A&select=name,emb_children(name)&emb_children.order=id") == [
        {"name": "Ada", "emb_children": [{"name": "a1"}, {"name": "a2"}]}]


def test_rpc_embeds_by_post_and_on_a_single_row_function(get, http, target):
    response = http.post("/rest/v1/rpc/emb_parents_named?select=name,emb_tags(label)&emb_tags.order=id",
                         json={"prefix": "B"}, headers=anon_headers(target))
    assert response.status_code == 200 and response.json() == [{"name": "Bo", "emb_tags": [{"label": "blue"}]}]
    assert get("rpc/emb_parent?pid=2&select=name,emb_profiles(bio)") == {"name": "Bo", "emb_profiles": {"bio": "second"}}


def test_write_returns_the_representation_with_its_embeds(get, http, target):
    service = {"apikey": target.service_key, "Authorization": f"Bearer {target.service_key}",
               "Prefer": "return=representation"}
    response = http.post("/rest/v1/emb_children?select=id,emb_parents(name)", headers=service,
                         json={"id": 990, "parent_id": 2, "name": "tmp"})
    try:
        assert response.status_code == 201, response.text
        assert response.json() == [{"id": 990, "emb_parents": {"name": "Bo"}}]
        deleted = http.delete("/rest/v1/emb_children?id=eq.990&select=name,p:emb_parents!inner(name)", headers=service)
        assert deleted.status_code == 200 and deleted.json() == [{"name": "tmp", "p": {"name": "Bo"}}]
    finally:
        http.delete("/rest/v1/emb_children?id=eq.990", headers=service)


def test_supabase_py_select_with_embeds(get, target):
    client = target.supabase()
    got = (client.table("emb_parents").select("*, emb_children(*)").eq("id", 1)
           .order("id", foreign_table="emb_children").execute())
    assert got.data == [{"id": 1, "name": "Ada", "emb_children": [
        {"id": 10, "parent_id": 1, "name": "a1", "rank": 2}, {"id": 11, "parent_id": 1, "name": "a2", "rank": 1}]}]
    got = (client.table("emb_parents").select("name, emb_children!inner(name)").eq("emb_children.name", "b1")
           .execute())
    assert got.data == [{"name": "Bo", "emb_children": [{"name": "b1"}]}]
    got = client.table("emb_parents").select("id, emb_tags(label)").eq("id", 2).limit(1, foreign_table="emb_tags").execute()
    assert got.data == [{"id": 2, "emb_tags": [{"label": "blue"}]}]
