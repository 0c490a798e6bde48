"""The same contract through the official client: supabase-py's `create_client`, auth and table APIs."""

from __future__ import annotations

import uuid

import pytest
from postgrest.exceptions import APIError
from supabase_auth.errors import AuthApiError

from .targets import PASSWORD, log_row, new_email

STANDALONE_SMOKE = True     # also run against the standalone gateway (see conftest)


@pytest.fixture
def client(target):
    return target.supabase()


@pytest.fixture
def signed_in(client):
    email = new_email()
    client.auth.sign_up({"email": email, "password": PASSWORD})
    return client, email


def test_sign_up_sign_in_refresh_sign_out(client):
    email = new_email()
    signed_up = client.auth.sign_up({"email": email, "password": PASSWORD})
    assert signed_up.user.email == email and signed_up.session.access_token
    signed_in = client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert signed_in.user.id == signed_up.user.id
    refreshed = client.auth.refresh_session()
    assert refreshed.session.refresh_token != signed_in.session.refresh_token
    assert client.auth.get_user().user.id == signed_up.user.id
    client.auth.sign_out()
    assert client.auth.get_session() is None


def test_wrong_password_raises_auth_error(client):
    email = new_email()
    client.auth.sign_up({"email": email, "password": PASSWORD})
    with pytest.raises(AuthApiError) as caught:
        client.auth.sign_in_with_password({"email": email, "password": "wrong-password"})
    assert caught.value.code == "invalid_credentials" and caught.value.status == 400


def test_table_round_trip(signed_in):
    client, _ = signed_in
    rows = [log_row(payload="one", key_version=1), log_row(payload="two", key_version=2)]
    inserted = client.table("daily_logs").insert(rows).execute()
    assert sorted(r["payload"] for r in inserted.data) == ["one", "two"]
    ids = [r["id"] for r in rows]
    got = (client.table("daily_logs").select("id,payload,updated_at", count="exact").in_("id", ids)
           .gt("updated_at", "2000-01-01T00:00:00Z").order("updated_at").order("id").limit(500).execute())
    assert got.count == 2 and {r["payload"] for r in got.data} == {"one", "two"}
    updated = client.table("daily_logs").update({"payload": "uno"}).eq("id", ids[0]).execute()
    assert [r["payload"] for r in updated.data] == ["uno"]
    upserted = client.table("daily_logs").upsert({**rows[1], "payload": "dos"}).execute()
    assert [r["payload"] for r in upserted.data] == ["dos"]
    deleted = client.table("daily_logs").delete().eq("id", ids[0]).execute()
    assert [r["id"] for r in deleted.data] == [ids[0]]
    remaining = client.table("daily_logs").select("payload").in_("id", ids).execute()
    assert [r["payload"] for r in remaining.data] == ["dos"]


def test_single_and_maybe_single(signed_in):
    client, _ = signed_in
    row = log_row(payload="solo")
    client.table("daily_logs").insert(row).execute()
    single = client.table("daily_logs").select("payload").eq("id", row["id"]).single().execute()
    assert single.data == {"payload": "solo"}
    nothing = client.table("daily_logs").select("payload").eq("id", str(uuid.uuid4())).maybe_single().execute()
    assert nothing is None or nothing.data is None


def test_errors_surface_as_api_error(signed_in):
    client, _ = signed_in
    with pytest.raises(APIError) as caught:
        client.table("daily_logz").select("*").execute()
    assert caught.value.code == "PGRST205"
    row = log_row()
    client.table("daily_logs").insert(row).execute()
    with pytest.raises(APIError) as duplicate:
        client.table("daily_logs").insert(row).execute()
    assert duplicate.value.code == "23505"


def test_rpc(signed_in):
    client, _ = signed_in
    assert client.rpc("contract_add", {"a": 20, "b": 22}).execute().data == 42
    assert client.rpc("contract_numbers", {"n": 2}).execute().data == [1, 2]


def test_anonymous_client_sees_nothing(target, signed_in):
    client, _ = signed_in
    row = log_row()
    client.table("daily_logs").insert(row).execute()
    anonymous = target.supabase()
    assert anonymous.table("daily_logs").select("id").eq("id", row["id"]).execute().data == []
