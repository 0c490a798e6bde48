"""/auth/v1/user (PUT), identities on the user object, sign-up without email or phone, settings, JWKS."""

from __future__ import annotations

import uuid

import pytest

from .targets import API_VERSION, PASSWORD, anon_headers, new_email, sign_up, user_headers

IDENTITY_KEYS = {"identity_id", "id", "user_id", "identity_data", "provider", "last_sign_in_at", "created_at",
                 "updated_at", "email"}


def put_user(http, target, user, body, **extra):
    return http.put("/auth/v1/user", json=body, headers=user_headers(target, user, **API_VERSION, **extra))


def password_grant(http, target, email: str, password: str):
    return http.post("/auth/v1/token?grant_type=password", json={"email": email, "password": password},
                     headers=anon_headers(target, **API_VERSION))


def test_email_signup_lists_its_email_identity(http, target):
    user = sign_up(http, target)
    for shown in (user.session["user"], http.get("/auth/v1/user", headers=user_headers(target, user)).json()):
        [identity] = shown["identities"]
        assert set(identity) == IDENTITY_KEYS
        assert identity["provider"] == "email" and identity["id"] == user.id and identity["user_id"] == user.id
        assert identity["email"] == user.email and uuid.UUID(identity["identity_id"])
        data = identity["identity_data"]
        assert {"sub", "email", "email_verified", "phone_verified"} <= set(data)
        assert data["sub"] == user.id and data["email"] == user.email and data["phone_verified"] is False
    assert user.session["user"]["app_metadata"] == {"provider": "email", "providers": ["email"]}


@pytest.mark.parametrize("versioned", [True, False])
def test_signup_without_email_or_phone_is_refused_while_anonymous_sign_ins_are_off(http, target, versioned):
    headers = anon_headers(target, **(API_VERSION if versioned else {}))
    response = http.post("/auth/v1/signup", json={"data": {"x": 1}}, headers=headers)
    assert response.status_code == 422
    if versioned:
        assert response.json() == {"code": "anonymous_provider_disabled", "message": "Anonymous sign-ins are disabled"}
    else:
        assert response.json() == {"code": 422, "error_code": "anonymous_provider_disabled",
                                   "msg": "Anonymous sign-ins are disabled"}


def test_settings_say_anonymous_sign_ins_are_off(http, target):
    settings = http.get("/auth/v1/settings", headers=anon_headers(target)).json()
    assert settings["external"]["anonymous_users"] is False and settings["external"]["email"] is True


def test_jwks_is_public_and_never_holds_the_secret(http, target):
    response = http.get("/auth/v1/.well-known/jwks.json")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert all(k["kty"] != "oct" and "d" not in k and k["key_ops"] == ["verify"] and k["kid"] for k in keys)


def test_put_user_merges_metadata(http, target):
    user = sign_up(http, target)
    first = put_user(http, target, user, {"data": {"theme": "dark", "lang": "en"}})
    assert first.status_code == 200, first.text
    assert first.json()["user_metadata"]["theme"] == "dark" and first.json()["id"] == user.id
    second = put_user(http, target, user, {"data": {"lang": None}}).json()
    assert second["user_metadata"]["theme"] == "dark" and "lang" not in second["user_metadata"]
    me = http.get("/auth/v1/user", headers=user_headers(target, user)).json()
    assert me["user_metadata"] == second["user_metadata"]


def test_put_user_changes_the_password_and_signs_out_other_sessions(http, target):
    user = sign_up(http, target)
    other = password_grant(http, target, user.email, PASSWORD).json()
    changed = put_user(http, target, user, {"password": "another-horse-2"})
    assert changed.status_code == 200, changed.text
    assert password_grant(http, target, user.email, "another-horse-2").status_code == 200
    assert password_grant(http, target, user.email, PASSWORD).json()["code"] == "invalid_credentials"
    refresh = http.post("/auth/v1/token?grant_type=refresh_token", json={"refresh_token": other["refresh_token"]},
                        headers=anon_headers(target, **API_VERSION))
    assert refresh.status_code == 400                   # the other session was signed out
    same = put_user(http, target, user, {"password": "another-horse-2"})
    assert same.status_code == 422 and same.json() == {
        "code": "same_password", "message": "New password should be different from the old password."}


def test_put_user_email_change_waits_for_confirmation(http, target):
    user = sign_up(http, target)
    new = new_email()
    response = put_user(http, target, user, {"email": new})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == user.email and body["new_email"] == new and body["email_change_sent_at"]


@pytest.mark.parametrize("body, status, code", [
    ({"password": "abc"}, 422, "weak_password"),
    ({"email": "nope"}, 400, "validation_failed"),
    ({"data": "not an object"}, 400, "bad_json"),
    ({"app_metadata": {"role": "admin"}}, 403, "not_admin"),
    ({"email": "{taken}"}, 422, "email_exists"),
])
def test_put_user_bad_input(http, target, body, status, code):
    user = sign_up(http, target)
    if body.get("email") == "{taken}":
        body = {"email": sign_up(http, target).email}
    response = put_user(http, target, user, body)
    assert response.status_code == status and response.json()["code"] == code, response.text


def test_only_a_user_in_the_admin_group_updates_its_own_app_metadata(http, target):
    from .targets import service_headers
    email = new_email()
    made = http.post("/auth/v1/admin/users", json={"email": email, "password": PASSWORD, "email_confirm": True,
                                                   "role": "admin"}, headers=service_headers(target))
    assert made.status_code == 200, made.text
    session = password_grant(http, target, email, PASSWORD).json()
    response = http.put("/auth/v1/user", json={"app_metadata": {"tier": "gold"}},
                        headers={**anon_headers(target, **API_VERSION), "Authorization": f"Bearer {session['access_token']}"})
    assert response.status_code == 200 and response.json()["app_metadata"]["tier"] == "gold"


def test_put_user_needs_a_user_token(http, target):
    missing = http.put("/auth/v1/user", json={"data": {}}, headers=anon_headers(target, **API_VERSION))
    assert missing.status_code == 401 and missing.json()["code"] == "no_authorization"
    anon = http.put("/auth/v1/user", json={"data": {}},
                    headers={**anon_headers(target, **API_VERSION), "Authorization": f"Bearer {target.anon_key}"})
    assert anon.status_code == 403 and anon.json()["code"] == "bad_jwt"
    user = sign_up(http, target)
    broken = http.put("/auth/v1/user", content=b"{", headers=user_headers(target, user, **API_VERSION))
    assert broken.status_code == 400 and broken.json()["code"] == "bad_json"


def test_other_methods_on_user_are_405(http, target):
    user = sign_up(http, target)
    response = http.patch("/auth/v1/user", json={}, headers=user_headers(target, user))
    assert response.status_code == 405
