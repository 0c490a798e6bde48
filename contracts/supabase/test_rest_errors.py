"""Error paths of /rest/v1: status, PostgREST code and body shape; no stored row changes."""

from __future__ import annotations

import time

import pytest

from dualsync.fakes.supabase import tokens

from .targets import error_shape, log_row, user_headers

LOGS = "/rest/v1/daily_logs"


def need_secret(target):
    if target.jwt_secret is None:
        pytest.skip("minting tokens needs the target's JWT secret (not given for a real stack)")
    return target.jwt_secret


@pytest.mark.parametrize("path, status, code", [
    ("/rest/v1/daily_logz", 404, "PGRST205"),
    ("/rest/v1/daily_logs?select=bogus", 400, "42703"),
    ("/rest/v1/daily_logs?id=eq.not-a-uuid", 400, "22P02"),
    ("/rest/v1/daily_logs?id=zz.1", 400, "PGRST100"),
    ("/rest/v1/daily_logs?id=1", 400, "PGRST100"),
    ("/rest/v1/daily_logs?or=()", 400, "PGRST100"),
    ("/rest/v1/daily_logs?or=(id.eq.1", 400, "PGRST100"),
    ("/rest/v1/daily_logs?order=id.sideways", 400, "PGRST100"),
    ("/rest/v1/daily_logs?limit=ten", 400, "PGRST100"),
    ("/rest/v1/daily_logs?deleted=is.maybe", 400, "PGRST100"),
    ("/rest/v1/daily_logs/extra", 404, "PGRST125"),
])
def test_bad_reads(http, target, user, path, status, code):
    response = http.get(path, headers=user_headers(target, user))
    assert response.status_code == status, response.text
    assert error_shape(response)["code"] == code
    assert response.headers["proxy-status"] == f"PostgREST; error={code}"


def test_unknown_table_suggests_the_near_one(http, target, user):
    body = error_shape(http.get("/rest/v1/daily_logz", headers=user_headers(target, user)))
    assert body["message"] == "Could not find the table 'public.daily_logz' in the schema cache"
    assert body["hint"] == "Perhaps you meant the table 'public.daily_logs'"


def test_unknown_column_names_the_table(http, target, user):
    body = error_shape(http.get(f"{LOGS}?select=bogus", headers=user_headers(target, user)))
    assert body["message"] == "column daily_logs.bogus does not exist"


@pytest.mark.parametrize("content, code", [(b"{not json", "PGRST102"), (b"", "PGRST102"), (b"42", "PGRST102"),
                                           (b'[{"id": 1}, 2]', "PGRST102")])
def test_malformed_bodies(http, target, user, content, code):
    response = http.post(LOGS, content=content, headers=user_headers(target, user, **{"Content-Type": "application/json"}))
    assert response.status_code == 400 and error_shape(response)["code"] == code


def test_unknown_payload_column_is_pgrst204(http, target, user):
    response = http.post(LOGS, json=log_row(bogus=1), headers=user_headers(target, user))
    assert response.status_code == 400
    body = error_shape(response)
    assert body["code"] == "PGRST204"
    assert body["message"] == "Could not find the 'bogus' column of 'daily_logs' in the schema cache"


def test_wrong_value_type_is_400(http, target, user):
    response = http.post(LOGS, json=log_row(key_version="seven"), headers=user_headers(target, user))
    assert response.status_code == 400 and error_shape(response)["code"] == "22P02"


def test_unacceptable_accept_is_406(http, target, user):
    response = http.get(LOGS, headers=user_headers(target, user, Accept="text/xml"))
    assert response.status_code == 406 and error_shape(response)["code"] == "PGRST107"


def test_unknown_schema_profile_is_406(http, target, user):
    response = http.get(LOGS, headers=user_headers(target, user, **{"Accept-Profile": "auth"}))
    assert response.status_code == 406 and error_shape(response)["code"] == "PGRST106"


@pytest.mark.parametrize("token, message", [
    ("abc", "Expected 3 parts in JWT; got 1"),
    ("a.b", "Expected 3 parts in JWT; got 2"),
])
def test_undecodable_tokens_are_pgrst301(http, target, token, message):
    response = http.get(LOGS, headers={"apikey": target.anon_key, "Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    body = error_shape(response)
    assert body["code"] == "PGRST301" and body["message"] == message


def test_forged_signature_is_pgrst301(http, target, user):
    forged = tokens.encode({"sub": user.id, "role": "service_role", "exp": int(time.time()) + 600},
                           "an-attacker-secret-that-is-long-enough-to-sign")
    response = http.get(LOGS, headers={"apikey": target.anon_key, "Authorization": f"Bearer {forged}"})
    assert response.status_code == 401 and error_shape(response)["code"] == "PGRST301"


def test_alg_none_is_refused(http, target, user):
    header, payload, _ = user.token.split(".")
    unsigned = tokens.b64(b'{"alg":"none","typ":"JWT"}') + "." + payload + "."
    response = http.get(LOGS, headers={"apikey": target.anon_key, "Authorization": f"Bearer {unsigned}"})
    assert response.status_code == 401 and error_shape(response)["code"] == "PGRST301"


def test_expired_token_is_pgrst303(http, target, user):
    expired = tokens.encode({"sub": user.id, "role": "authenticated", "exp": int(time.time()) - 120},
                            need_secret(target))
    response = http.get(LOGS, headers={"apikey": target.anon_key, "Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    body = error_shape(response)
    assert body["code"] == "PGRST303" and body["message"] == "JWT expired"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_unknown_role_claim_is_401(http, target):
    token = tokens.encode({"role": "no_such_role", "exp": int(time.time()) + 600}, need_secret(target))
    response = http.get(LOGS, headers={"apikey": target.anon_key, "Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and error_shape(response)["code"] == "22023"


def test_missing_apikey_is_401_on_hosted(http, target):
    if not target.apikey_enforced:
        pytest.skip("this target does not check apikey (the Supabase CLI's Kong has no key-auth)")
    response = http.get(LOGS)
    assert response.status_code == 401
    assert response.json()["message"] == "No API key found in request"
    wrong = http.get(LOGS, headers={"apikey": "not-a-key"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "Invalid API key"


@pytest.mark.parametrize("param", [
    'select=id,"payload;drop table daily_logs"', "select=id::text;drop",
    "order=id;drop table daily_logs", "on_conflict=id);drop table daily_logs;--",
    'columns="id\\"; drop table daily_logs; --"', "payload=eq.'; drop table daily_logs; --",
    "id=in.(\"x')) or 1=1 --\")",
])
def test_hostile_strings_never_reach_sql(http, target, user, param):
    row = log_row()
    http.post(LOGS, json=row, headers=user_headers(target, user))
    response = http.get(f"{LOGS}?{param}", headers=user_headers(target, user))
    assert response.status_code in (200, 400, 404), response.text
    if response.status_code != 200:
        error_shape(response)
    still = http.get(f"{LOGS}?select=id&id=eq.{row['id']}", headers=user_headers(target, user))
    assert still.json() == [{"id": row["id"]}]


def test_hostile_body_key_is_pgrst204(http, target, user):
    response = http.post(LOGS, json=log_row(**{'payload" text); drop table daily_logs; --': "x"}),
                         headers=user_headers(target, user))
    assert response.status_code == 400 and error_shape(response)["code"] == "PGRST204"


def test_embedding_without_a_relationship_is_pgrst200(http, target, user):
    response = http.get(f"{LOGS}?select=id,photos(id)", headers=user_headers(target, user))
    assert response.status_code == 400
    body = error_shape(response)
    assert body["code"] == "PGRST200"
    assert body["message"] == "Could not find a relationship between 'daily_logs' and 'photos' in the schema cache"


def test_filter_on_a_resource_not_embedded_is_pgrst108(http, target, user):
    response = http.get(f"{LOGS}?photos.order=id", headers=user_headers(target, user))
    assert response.status_code == 400 and error_shape(response)["code"] == "PGRST108"
