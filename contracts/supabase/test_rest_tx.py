"""How a request's transaction ends, as PostgREST v14 ends it (`db-tx-end`, `Prefer: tx=`).

PostgREST reads `db-tx-end` from the authenticator's `pgrst.db_tx_end` role setting (re-read on
`NOTIFY pgrst, 'reload config'`): `commit` (Supabase's default), `commit-allow-override`, `rollback`,
`rollback-allow-override`. With an *-allow-override value, `Prefer: tx=commit|rollback` decides: the
statement runs, the reply is the usual one (rows included), then the transaction ends as asked and
`Preference-Applied` names `tx=...`. Without override `tx=commit|rollback` is still a valid
preference (no PGRST122 under `handling=strict`), it is just not applied; any other `tx=` value is an
invalid one. Errors carry no Preference-Applied. Deferred constraints are checked before a rollback
(`SET CONSTRAINTS ALL IMMEDIATE`), so a request that breaks one fails either way.

The override is switched per database through `rpc/contract_set_tx_end` (service key), against a
real stack too; the `rollback` values, which HTTP could not undo, are tested on the gateway in
tests/supabase/test_tx_end.py.
"""

from __future__ import annotations

import time
import uuid

import pytest

from .targets import error_shape, service_headers

ITEMS = "/rest/v1/contract_rest_items"
pytestmark = pytest.mark.usefixtures("target")


def anon(target, **extra) -> dict:
    return {"apikey": target.anon_key, **extra}


def set_tx_end(http, target, value: str) -> None:
    """Set (or with '' reset) the database's pgrst.db_tx_end and wait until the target applies it."""
    response = http.post("/rest/v1/rpc/contract_set_tx_end", json={"tx_end": value},
                         headers=service_headers(target, Prefer="tx=commit"))
    assert response.status_code == 204, response.text
    override = value.endswith("-allow-override")
    deadline = time.monotonic() + 10
    while True:     # PostgREST re-reads its config when the NOTIFY reaches its listener: not at once
        probe = http.get(f"{ITEMS}?limit=0", headers=anon(target, Prefer="tx=commit"))
        if ("tx=commit" in probe.headers.get("preference-applied", "")) == override:
            return
        assert time.monotonic() < deadline, f"{target.name} did not apply db-tx-end={value or 'commit'} within 10 s"
        time.sleep(0.05)


@pytest.fixture
def tx_override(http, target):
    set_tx_end(http, target, "commit-allow-override")
    try:
        yield
    finally:
        set_tx_end(http, target, "")


def rows(http, target, tag: str) -> list[dict]:
    response = http.get(f"{ITEMS}?tag=eq.{tag}&select=id,tag,note&order=id", headers=anon(target))
    assert response.status_code == 200, response.text
    return response.json()


def seed(http, target, tag: str, count: int) -> list[dict]:
    response = http.post(ITEMS, json=[{"tag": tag, "note": f"seed{i}"} for i in range(count)],
                         headers=anon(target, Prefer="tx=commit"))
    assert response.status_code == 201, response.text
    return rows(http, target, tag)


def test_commit_without_override_ignores_tx(http, target):
    set_tx_end(http, target, "")        # Supabase's default: db-tx-end=commit
    tag = uuid.uuid4().hex
    kept = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="tx=rollback, return=representation"))
    assert kept.status_code == 201 and kept.headers["preference-applied"] == "return=representation"
    assert len(rows(http, target, tag)) == 1
    # tx=commit|rollback are valid preferences whatever db-tx-end says: handling=strict accepts them
    strict = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="handling=strict, tx=rollback"))
    assert strict.status_code == 201, strict.text
    assert strict.headers["preference-applied"] == "handling=strict"
    called = http.post("/rest/v1/rpc/contract_tx_insert", json={"tag": tag, "copies": 1},
                       headers=anon(target, Prefer="tx=rollback"))
    assert called.status_code == 200 and "preference-applied" not in called.headers
    assert len(rows(http, target, tag)) == 3
    # any other tx value is an invalid preference: ignored, or PGRST122 with handling=strict
    unknown = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="handling=strict, tx=maybe"))
    assert unknown.status_code == 400 and error_shape(unknown)["code"] == "PGRST122"
    assert error_shape(unknown)["details"] == "Invalid preferences: tx=maybe"
    assert len(rows(http, target, tag)) == 3


def test_rollback_leaves_the_table_unchanged(http, target, tx_override):
    tag = uuid.uuid4().hex
    before = seed(http, target, tag, 2)
    new_id = str(uuid.uuid4())
    posted = http.post(ITEMS, json={"id": new_id, "tag": tag, "note": "new"},
                       headers=anon(target, Prefer="tx=rollback, return=representation"))
    assert posted.status_code == 201, posted.text
    assert [(r["id"], r["note"]) for r in posted.json()] == [(new_id, "new")]      # the rows still come back
    assert posted.headers["preference-applied"] == "return=representation, tx=rollback"
    patched = http.patch(f"{ITEMS}?tag=eq.{tag}&select=note", json={"note": "changed"},
                         headers=anon(target, Prefer="return=representation, tx=rollback"))
    assert patched.status_code == 200 and patched.json() == [{"note": "changed"}] * 2
    assert patched.headers["content-range"] == "0-1/*"
    assert patched.headers["preference-applied"] == "return=representation, tx=rollback"
    deleted = http.delete(f"{ITEMS}?tag=eq.{tag}", headers=anon(target, Prefer="tx=rollback"))
    assert deleted.status_code == 204 and deleted.headers["content-range"] == "*/*"     # v14: DELETE has no range
    assert deleted.headers["preference-applied"] == "tx=rollback"
    put = http.put(f"{ITEMS}?id=eq.{new_id}", json={"id": new_id, "tag": tag},
                   headers=anon(target, Prefer="tx=rollback"))
    assert put.status_code == 204 and put.headers["preference-applied"] == "tx=rollback"
    assert rows(http, target, tag) == before
    read = http.get(f"{ITEMS}?tag=eq.{tag}", headers=anon(target, Prefer="count=exact, tx=rollback"))
    assert read.status_code == 200 and read.headers["content-range"] == "0-1/2"
    assert read.headers["preference-applied"] == "count=exact, tx=rollback"


def test_rollback_with_upsert_and_one_object(http, target, tx_override):
    """postgrest-js's own rollback tests: `.upsert().select().rollback().single()`, `.delete()...single()`."""
    tag = uuid.uuid4().hex
    [row] = seed(http, target, tag, 1)
    one = "application/vnd.pgrst.object+json"
    upserted = http.post(f"{ITEMS}?select=id,note", json={"id": row["id"], "tag": tag, "note": "upserted"},
                         headers=anon(target, Accept=one, Prefer="resolution=merge-duplicates, return=representation, "
                                                                 "tx=rollback"))
    assert upserted.status_code == 200 and upserted.json() == {"id": row["id"], "note": "upserted"}
    assert upserted.headers["preference-applied"] == "resolution=merge-duplicates, return=representation, tx=rollback"
    deleted = http.delete(f"{ITEMS}?tag=eq.{tag}&select=note",
                          headers=anon(target, Accept=one, Prefer="return=representation,tx=rollback"))
    assert deleted.status_code == 200 and deleted.json() == {"note": "seed0"}
    assert rows(http, target, tag) == [row]


def test_commit_and_default_persist_under_override(http, target, tx_override):
    tag = uuid.uuid4().hex
    committed = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="tx=commit"))
    assert committed.status_code == 201 and committed.headers["preference-applied"] == "tx=commit"
    plain = http.post(ITEMS, json={"tag": tag}, headers=anon(target))      # commit-...: commits by default
    assert plain.status_code == 201 and "preference-applied" not in plain.headers
    first = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="tx=commit, tx=rollback"))
    assert first.headers["preference-applied"] == "tx=commit"             # the first one wins
    unknown = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="tx=maybe"))
    assert unknown.status_code == 201 and "preference-applied" not in unknown.headers
    assert len(rows(http, target, tag)) == 4
    strict = http.post(ITEMS, json={"tag": tag}, headers=anon(target, Prefer="handling=strict, tx=maybe"))
    assert strict.status_code == 400 and error_shape(strict)["details"] == "Invalid preferences: tx=maybe"
    assert len(rows(http, target, tag)) == 4


def test_rpc_rollback_returns_the_result(http, target, tx_override):
    tag = uuid.uuid4().hex
    called = http.post("/rest/v1/rpc/contract_tx_insert?select=tag,note", json={"tag": tag, "copies": 2},
                       headers=anon(target, Prefer="count=exact, tx=rollback"))
    assert called.status_code == 200 and called.json() == [{"tag": tag, "note": "rpc"}] * 2
    assert called.headers["content-range"] == "0-1/2"
    assert called.headers["preference-applied"] == "count=exact, tx=rollback"
    assert rows(http, target, tag) == []
    read = http.get("/rest/v1/rpc/contract_request_settings", headers=anon(target, Prefer="tx=rollback"))
    assert read.status_code == 200 and read.headers["preference-applied"] == "tx=rollback"
    kept = http.post("/rest/v1/rpc/contract_tx_insert", json={"tag": tag, "copies": 1},
                     headers=anon(target, Prefer="tx=commit"))
    assert kept.status_code == 200 and kept.headers["preference-applied"] == "tx=commit"
    assert len(rows(http, target, tag)) == 1


def test_max_affected_with_tx(http, target, tx_override):
    tag = uuid.uuid4().hex
    before = seed(http, target, tag, 3)
    over = http.patch(f"{ITEMS}?tag=eq.{tag}", json={"note": "x"},
                      headers=anon(target, Prefer="handling=strict, max-affected=2, tx=commit"))
    assert over.status_code == 400 and error_shape(over)["code"] == "PGRST124"
    assert "preference-applied" not in over.headers
    within = http.patch(f"{ITEMS}?tag=eq.{tag}&select=note", json={"note": "x"},
                        headers=anon(target, Prefer="handling=strict, max-affected=3, tx=rollback, return=representation"))
    assert within.status_code == 200 and within.json() == [{"note": "x"}] * 3
    assert within.headers["preference-applied"] == "return=representation, tx=rollback, handling=strict, max-affected=3"
    deleted = http.delete(f"{ITEMS}?tag=eq.{tag}",
                          headers=anon(target, Prefer="count=exact, handling=strict, max-affected=3, tx=rollback"))
    assert deleted.status_code == 204 and deleted.headers["content-range"] == "*/3"
    assert deleted.headers["preference-applied"] == "count=exact, tx=rollback, handling=strict, max-affected=3"
    rpc_over = http.post("/rest/v1/rpc/contract_tx_insert", json={"tag": tag, "copies": 3},
                         headers=anon(target, Prefer="handling=strict, max-affected=2, tx=commit"))
    assert rpc_over.status_code == 400 and error_shape(rpc_over)["code"] == "PGRST124"
    rpc_within = http.post("/rest/v1/rpc/contract_tx_insert", json={"tag": tag, "copies": 2},
                           headers=anon(target, Prefer="handling=strict, max-affected=2, tx=rollback"))
    assert rpc_within.status_code == 200 and len(rpc_within.json()) == 2
    assert rpc_within.headers["preference-applied"] == "tx=rollback, handling=strict, max-affected=2"
    assert rows(http, target, tag) == before


def test_deferred_constraints_are_checked_before_a_rollback(http, target, tx_override):
    for prefer in ("tx=rollback", "tx=commit"):
        broken = http.post("/rest/v1/rpc/contract_tx_break_deferred", headers=anon(target, Prefer=prefer))
        assert broken.status_code == 409, (prefer, broken.text)
        assert error_shape(broken)["code"] == "23505" and "preference-applied" not in broken.headers


def test_supabase_py_rollback(http, target, tx_override):
    """supabase-py has no tx option; a request builder's headers carry it."""
    client = target.supabase()
    tag = uuid.uuid4().hex
    insert = client.table("contract_rest_items").insert({"tag": tag, "note": "py"}, returning="representation")
    insert.request.headers["Prefer"] += ",tx=rollback"
    assert [(r["tag"], r["note"]) for r in insert.execute().data] == [(tag, "py")]
    call = client.rpc("contract_tx_insert", {"tag": tag, "copies": 2})
    call.request.headers["Prefer"] = "tx=rollback"
    assert len(call.execute().data) == 2
    assert client.table("contract_rest_items").select("id").eq("tag", tag).execute().data == []
    commit = client.table("contract_rest_items").insert({"tag": tag})
    commit.request.headers["Prefer"] += ",tx=commit"
    commit.execute()
    assert len(client.table("contract_rest_items").select("id").eq("tag", tag).execute().data) == 1
