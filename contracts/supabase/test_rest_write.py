"""POST / PATCH / DELETE on /rest/v1/<table>: inserts, upserts, Prefer, RLS on writes, safeupdate."""

from __future__ import annotations

import uuid

from .targets import error_shape, log_row, sign_up, user_headers

LOGS = "/rest/v1/daily_logs"


def rows_of(http, target, user, ids, select="id,payload,key_version"):
    query = f"{LOGS}?select={select}&id=in.({','.join(ids)})&order=key_version,payload"
    return http.get(query, headers=user_headers(target, user)).json()


def test_insert_minimal_is_201_without_body(http, target, user):
    response = http.post(LOGS, json=log_row(), headers=user_headers(target, user))
    assert response.status_code == 201 and response.content == b""
    assert response.headers["content-range"] == "*/*"
    assert "content-type" not in response.headers


def test_bulk_insert_with_representation(http, target, user):
    rows = [log_row(payload="p1"), log_row(payload="p2")]
    response = http.post(f"{LOGS}?select=id,payload,user_id", json=rows,
                         headers=user_headers(target, user, Prefer="return=representation"))
    assert response.status_code == 201
    assert response.headers["preference-applied"] == "return=representation"
    got = sorted(response.json(), key=lambda r: r["payload"])
    assert got == [{"id": rows[0]["id"], "payload": "p1", "user_id": user.id},
                   {"id": rows[1]["id"], "payload": "p2", "user_id": user.id}]


def test_server_stamps_updated_at_whatever_the_client_sends(http, target, user):
    row = log_row(updated_at="1999-01-01T00:00:00Z")
    response = http.post(f"{LOGS}?select=updated_at", json=row,
                         headers=user_headers(target, user, Prefer="return=representation"))
    assert response.status_code == 201
    assert not response.json()[0]["updated_at"].startswith("1999")


def test_array_with_differing_keys_is_pgrst102(http, target, user):
    response = http.post(LOGS, json=[log_row(), {**log_row(), "deleted": True}], headers=user_headers(target, user))
    assert response.status_code == 400
    body = error_shape(response)
    assert body["code"] == "PGRST102" and body["message"] == "All object keys must match"


def test_columns_with_missing_default(http, target, user):
    first, second = log_row(key_version=7), log_row()
    columns = '"id","payload","client_modified_at","key_version"'
    response = http.post(f"{LOGS}?columns={columns}", json=[first, second],
                         headers=user_headers(target, user, Prefer="missing=default,return=representation"))
    assert response.status_code == 201, response.text
    assert sorted(r["key_version"] for r in response.json()) == [1, 7]


def test_columns_without_missing_default_sends_null(http, target, user):
    columns = '"id","payload","client_modified_at","key_version"'
    response = http.post(f"{LOGS}?columns={columns}", json=[log_row(key_version=2), log_row()],
                         headers=user_headers(target, user))
    assert response.status_code == 400
    assert error_shape(response)["code"] == "23502"        # NOT NULL: key_version came as null


def test_upsert_merge_all_updated_is_200(http, target, user):
    row = log_row(payload="v1")
    assert http.post(LOGS, json=row, headers=user_headers(target, user)).status_code == 201
    response = http.post(LOGS, json=[{**row, "payload": "v2"}],
                         headers=user_headers(target, user, Prefer="resolution=merge-duplicates,return=representation"))
    assert response.status_code == 200
    assert response.headers["preference-applied"] == "resolution=merge-duplicates, return=representation"
    assert [r["payload"] for r in response.json()] == ["v2"]


def test_upsert_merge_with_a_new_row_is_201(http, target, user):
    old = log_row(payload="old")
    http.post(LOGS, json=old, headers=user_headers(target, user))
    response = http.post(f"{LOGS}?on_conflict=id", json=[{**old, "payload": "new"}, log_row(payload="fresh")],
                         headers=user_headers(target, user, Prefer="resolution=merge-duplicates"))
    assert response.status_code == 201 and response.content == b""
    assert sorted(r["payload"] for r in rows_of(http, target, user, [old["id"]])) == ["new"]


def test_upsert_ignore_duplicates_keeps_the_stored_row(http, target, user):
    old = log_row(payload="kept")
    http.post(LOGS, json=old, headers=user_headers(target, user))
    fresh = log_row(payload="fresh")
    response = http.post(LOGS, json=[{**old, "payload": "ignored"}, fresh],
                         headers=user_headers(target, user, Prefer="resolution=ignore-duplicates,return=representation"))
    assert response.status_code == 201
    assert [r["payload"] for r in response.json()] == ["fresh"]
    assert [r["payload"] for r in rows_of(http, target, user, [old["id"]])] == ["kept"]


def test_duplicate_insert_is_409_without_key_details(http, target, user):
    row = log_row()
    http.post(LOGS, json=row, headers=user_headers(target, user))
    response = http.post(f"{LOGS}?on_conflict=id", json=row, headers=user_headers(target, user))
    assert response.status_code == 409
    body = error_shape(response)
    assert body["code"] == "23505" and body["details"] is None     # RLS table: PostgreSQL hides the key


def test_headers_only_gives_location(http, target, user):
    row = log_row()
    response = http.post(LOGS, json=row, headers=user_headers(target, user, Prefer="return=headers-only"))
    assert response.status_code == 201 and response.content == b""
    assert response.headers["location"] == f"/daily_logs?id=eq.{row['id']}"


def test_headers_only_with_a_single_object_accept_gives_location(http, target, user):
    """Found by the fuzz: the single-object body was read as an array (a KeyError, a 500)."""
    row = log_row()
    response = http.post(LOGS, json=row, headers=user_headers(
        target, user, Prefer="return=headers-only", Accept="application/vnd.pgrst.object+json"))
    assert response.status_code == 201 and response.content == b""
    assert response.headers["location"] == f"/daily_logs?id=eq.{row['id']}"


def test_patch_with_filter(http, target, user):
    row = log_row(payload="before")
    http.post(LOGS, json=row, headers=user_headers(target, user))
    minimal = http.patch(f"{LOGS}?id=eq.{row['id']}", json={"payload": "after"}, headers=user_headers(target, user))
    assert minimal.status_code == 204 and minimal.headers["content-range"] == "0-0/*"
    full = http.patch(f"{LOGS}?id=eq.{row['id']}&select=payload", json={"payload": "again"},
                      headers=user_headers(target, user, Prefer="return=representation"))
    assert full.status_code == 200 and full.json() == [{"payload": "again"}]


def test_patch_and_delete_without_filter_are_refused(http, target, user):
    row = log_row()
    http.post(LOGS, json=row, headers=user_headers(target, user))
    for response, verb in ((http.patch(LOGS, json={"payload": "x"}, headers=user_headers(target, user)), "UPDATE"),
                           (http.delete(LOGS, headers=user_headers(target, user)), "DELETE")):
        assert response.status_code == 400
        body = error_shape(response)
        assert body["code"] == "21000" and body["message"] == f"{verb} requires a WHERE clause"
    assert len(rows_of(http, target, user, [row["id"]])) == 1


def test_writes_to_rows_of_another_user_change_nothing(http, target, user):
    row = log_row(payload="mine")
    http.post(LOGS, json=row, headers=user_headers(target, user))
    stranger = sign_up(http, target)
    patch = http.patch(f"{LOGS}?id=eq.{row['id']}", json={"payload": "theirs"},
                       headers=user_headers(target, stranger, Prefer="return=representation"))
    assert patch.status_code == 200 and patch.json() == []
    delete = http.delete(f"{LOGS}?id=eq.{row['id']}", headers=user_headers(target, stranger))
    assert delete.status_code == 204 and delete.headers["content-range"] == "*/*"
    assert [r["payload"] for r in rows_of(http, target, user, [row["id"]])] == ["mine"]


def test_upsert_onto_a_row_of_another_user_is_403(http, target, user):
    row = log_row(payload="mine")
    http.post(LOGS, json=row, headers=user_headers(target, user))
    stranger = sign_up(http, target)
    response = http.post(LOGS, json={**row, "payload": "stolen"},
                         headers=user_headers(target, stranger, Prefer="resolution=merge-duplicates"))
    assert response.status_code == 403
    assert error_shape(response)["code"] == "42501"
    assert [r["payload"] for r in rows_of(http, target, user, [row["id"]])] == ["mine"]


def test_insert_for_another_user_id_is_403(http, target, user):
    stranger = sign_up(http, target)
    response = http.post(LOGS, json=log_row(user_id=stranger.id), headers=user_headers(target, user))
    assert response.status_code == 403
    body = error_shape(response)
    assert body["code"] == "42501" and "row-level security" in body["message"]


def test_anonymous_insert_is_401(http, target):
    response = http.post(LOGS, json=log_row(), headers={"apikey": target.anon_key})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert error_shape(response)["code"] == "42501"


def test_delete_with_representation(http, target, user):
    row = log_row(payload="gone")
    http.post(LOGS, json=row, headers=user_headers(target, user))
    response = http.delete(f"{LOGS}?id=eq.{row['id']}&select=payload",
                           headers=user_headers(target, user, Prefer="return=representation"))
    assert response.status_code == 200 and response.json() == [{"payload": "gone"}]
    assert rows_of(http, target, user, [row["id"]]) == []


def test_singular_write_of_two_rows_is_406_and_rolled_back(http, target, user):
    rows = [log_row(payload="s", key_version=1), log_row(payload="s", key_version=2)]
    http.post(LOGS, json=rows, headers=user_headers(target, user))
    response = http.patch(f"{LOGS}?payload=eq.s&user_id=eq.{user.id}", json={"payload": "changed"},
                          headers=user_headers(target, user, Accept="application/vnd.pgrst.object+json",
                                               Prefer="return=representation"))
    assert response.status_code == 406
    assert error_shape(response)["code"] == "PGRST116"
    assert [r["payload"] for r in rows_of(http, target, user, [r["id"] for r in rows])] == ["s", "s"]


def test_update_of_zero_rows_with_representation_is_empty(http, target, user):
    response = http.patch(f"{LOGS}?id=eq.{uuid.uuid4()}", json={"payload": "x"},
                          headers=user_headers(target, user, Prefer="return=representation"))
    assert response.status_code == 200 and response.json() == []


def test_put_upserts_one_row_by_primary_key(http, target, user):
    row = log_row(payload="put-1")
    created = http.put(f"{LOGS}?id=eq.{row['id']}", json=row,
                       headers=user_headers(target, user, Prefer="return=representation"))
    assert created.status_code == 201 and created.json()[0]["payload"] == "put-1"
    updated = http.put(f"{LOGS}?id=eq.{row['id']}", json={**row, "payload": "put-2"},
                       headers=user_headers(target, user, Prefer="return=representation"))
    assert updated.status_code == 200 and updated.json()[0]["payload"] == "put-2"
    minimal = http.put(f"{LOGS}?id=eq.{row['id']}", json=row, headers=user_headers(target, user))
    assert minimal.status_code == 204


def test_put_errors(http, target, user):
    row = log_row()
    mismatch = http.put(f"{LOGS}?id=eq.{log_row()['id']}", json=row, headers=user_headers(target, user))
    assert mismatch.status_code == 400 and error_shape(mismatch)["code"] == "PGRST115"
    not_pk = http.put(f"{LOGS}?payload=eq.x", json=row, headers=user_headers(target, user))
    assert not_pk.status_code == 405 and error_shape(not_pk)["code"] == "PGRST105"
    limited = http.put(f"{LOGS}?id=eq.{row['id']}&limit=1", json=row, headers=user_headers(target, user))
    assert limited.status_code == 400 and error_shape(limited)["code"] == "PGRST114"


def test_patch_with_order_and_limit_touches_the_first_rows(http, target, user):
    rows = [log_row(payload="lim", key_version=k) for k in (1, 2, 3)]
    http.post(LOGS, json=rows, headers=user_headers(target, user))
    response = http.patch(f"{LOGS}?payload=eq.lim&order=key_version.desc&limit=2&select=key_version",
                          json={"payload": "hit"}, headers=user_headers(target, user, Prefer="return=representation"))
    assert response.status_code == 200
    assert sorted(r["key_version"] for r in response.json()) == [2, 3]
