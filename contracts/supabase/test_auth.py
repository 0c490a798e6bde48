"""/auth/v1: signup, password and refresh-token grants, user, logout, GoTrue's two error shapes."""

from __future__ import annotations

import base64
import json

import pytest

from .targets import API_VERSION, PASSWORD, anon_headers, new_email, sign_up, user_headers


STANDALONE_SMOKE = True     # also run against the standalone gateway (see conftest)

def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def grant(http, target, kind: str, body: dict, versioned: bool = True):
    headers = anon_headers(target, **(API_VERSION if versioned else {}))
    return http.post(f"/auth/v1/token?grant_type={kind}", json=body, headers=headers)


def test_signup_returns_a_session(http, target):
    email = new_email()
    response = http.post("/auth/v1/signup", json={"email": email, "password": PASSWORD, "data": {"plan": "free"}},
                         headers=anon_headers(target, **API_VERSION))
    assert response.status_code == 200
    session = response.json()
    assert session["token_type"] == "bearer" and session["expires_in"] == 3600
    assert len(session["refresh_token"]) >= 12
    user = session["user"]
    assert user["email"] == email and user["aud"] == "authenticated" and user["role"] == "authenticated"
    # GoTrue makes the email identity's data the user's metadata, then confirms (autoconfirm).
    assert user["user_metadata"] == {"plan": "free", "sub": user["id"], "email": email, "email_verified": True,
                                     "phone_verified": False}
    assert user["app_metadata"]["provider"] == "email"
    claims = claims_of(session["access_token"])
    assert claims["sub"] == user["id"] and claims["role"] == "authenticated" and claims["aud"] == "authenticated"
    assert claims["exp"] - claims["iat"] == 3600 and claims["session_id"] and claims["email"] == email
    assert session["expires_at"] == claims["exp"]


def test_signup_twice_is_422_in_both_error_shapes(http, target):
    user = sign_up(http, target)
    body = {"email": user.email, "password": PASSWORD}
    new = http.post("/auth/v1/signup", json=body, headers=anon_headers(target, **API_VERSION))
    assert new.status_code == 422
    assert new.json() == {"code": "user_already_exists", "message": "User already registered"}
    assert new.headers["x-supabase-api-version"] == "2024-01-01"
    old = http.post("/auth/v1/signup", json=body, headers=anon_headers(target))
    assert old.status_code == 422
    assert old.json()["error_code"] == "user_already_exists" and old.json()["code"] == 422
    assert old.json()["msg"] == "User already registered"


def test_weak_password_is_422(http, target):
    response = http.post("/auth/v1/signup", json={"email": new_email(), "password": "abc"},
                         headers=anon_headers(target, **API_VERSION))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "weak_password" and body["weak_password"]["reasons"] == ["length"]


def test_password_grant(http, target):
    user = sign_up(http, target)
    ok = grant(http, target, "password", {"email": user.email, "password": PASSWORD})
    assert ok.status_code == 200 and ok.json()["user"]["id"] == user.id
    assert claims_of(ok.json()["access_token"])["session_id"] != claims_of(user.token)["session_id"]


@pytest.mark.parametrize("which", ["wrong password", "unknown email"])
def test_bad_credentials_are_400(http, target, which):
    user = sign_up(http, target)
    email = user.email if which == "wrong password" else new_email()
    response = grant(http, target, "password", {"email": email, "password": "not-the-password"})
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_credentials", "message": "Invalid login credentials"}


def test_refresh_rotates_and_a_concurrent_refresh_also_succeeds(http, target):
    user = sign_up(http, target)
    old = user.session["refresh_token"]
    first = grant(http, target, "refresh_token", {"refresh_token": old})
    assert first.status_code == 200
    assert first.json()["refresh_token"] != old
    # A second device refreshing with the same (now revoked) parent gets the active token back.
    second = grant(http, target, "refresh_token", {"refresh_token": old})
    assert second.status_code == 200
    assert second.json()["refresh_token"] == first.json()["refresh_token"]
    assert claims_of(second.json()["access_token"])["session_id"] == claims_of(user.token)["session_id"]


@pytest.mark.parametrize("token, code", [("short", "validation_failed"),
                                         ("abcdefghijklmnop", "refresh_token_not_found")])
def test_bad_refresh_tokens_are_400(http, target, token, code):
    response = grant(http, target, "refresh_token", {"refresh_token": token})
    assert response.status_code == 400 and response.json()["code"] == code


def test_unknown_grant_type_is_400(http, target):
    response = grant(http, target, "magic", {})
    assert response.status_code == 400 and response.json()["code"] == "invalid_credentials"


def test_get_user(http, target):
    user = sign_up(http, target)
    ok = http.get("/auth/v1/user", headers=user_headers(target, user, **API_VERSION))
    assert ok.status_code == 200 and ok.json()["id"] == user.id and ok.json()["email"] == user.email


def test_get_user_without_a_user_token(http, target):
    missing = http.get("/auth/v1/user", headers={"apikey": target.anon_key, "Authorization": "", **API_VERSION})
    assert missing.status_code == 401 and missing.json()["code"] == "no_authorization"
    anon = http.get("/auth/v1/user", headers={"apikey": target.anon_key, "Authorization": f"Bearer {target.anon_key}",
                                              **API_VERSION})
    assert anon.status_code == 403 and anon.json()["code"] == "bad_jwt"
    forged = http.get("/auth/v1/user", headers={"apikey": target.anon_key, "Authorization": "Bearer x.y.z", **API_VERSION})
    assert forged.status_code == 403 and forged.json()["code"] == "bad_jwt"


def test_logout_ends_the_session_but_not_the_access_token(http, target):
    user = sign_up(http, target)
    out = http.post("/auth/v1/logout", headers=user_headers(target, user, **API_VERSION))
    assert out.status_code == 204 and out.content == b""
    refresh = grant(http, target, "refresh_token", {"refresh_token": user.session["refresh_token"]})
    assert refresh.status_code == 400 and refresh.json()["code"] == "refresh_token_not_found"
    me = http.get("/auth/v1/user", headers=user_headers(target, user, **API_VERSION))
    assert me.status_code == 403 and me.json()["code"] == "session_not_found"
    rest = http.get("/rest/v1/daily_logs?select=id", headers=user_headers(target, user))
    assert rest.status_code == 200       # PostgREST is stateless: the JWT stays valid until exp


def test_logout_scopes(http, target):
    user = sign_up(http, target)
    other = grant(http, target, "password", {"email": user.email, "password": PASSWORD}).json()
    out = http.post("/auth/v1/logout?scope=others", headers=user_headers(target, user, **API_VERSION))
    assert out.status_code == 204
    gone = grant(http, target, "refresh_token", {"refresh_token": other["refresh_token"]})
    assert gone.status_code == 400
    kept = grant(http, target, "refresh_token", {"refresh_token": user.session["refresh_token"]})
    assert kept.status_code == 200
    bad = http.post("/auth/v1/logout?scope=everything", headers=user_headers(target, user, **API_VERSION))
    assert bad.status_code == 400
