"""What the gateway's GoTrue does not build answers 501 `not_implemented` naming it (never a silent
200, a 404 GoTrue would not give, or a 405); the admin part of it still checks the service role first."""

from __future__ import annotations

import uuid

import pytest

V = {"X-Supabase-Api-Version": "2024-01-01"}


def keys(gateway, token=None) -> dict:
    return {"apikey": gateway.config.anon_key, **V, **({"Authorization": f"Bearer {token}"} if token else {})}


def sign_up(client, gateway) -> dict:
    response = client.post("/auth/v1/signup", json={"email": f"{uuid.uuid4().hex[:10]}@example.com",
                                                    "password": "secret-1"}, headers=keys(gateway))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("method, path", [
    ("POST", "/auth/v1/otp"), ("POST", "/auth/v1/magiclink"), ("GET", "/auth/v1/verify?token=x&type=signup"),
    ("GET", "/auth/v1/authorize?provider=github"),
    ("POST", "/auth/v1/factors"), ("GET", "/auth/v1/.well-known/openid-configuration"),
])
def test_unbuilt_routes_answer_501_naming_them(supabase_client, supabase_gateway, method, path):
    response = supabase_client.request(method, path, headers=keys(supabase_gateway))
    assert response.status_code == 501, response.text
    body = response.json()
    assert body["code"] == "not_implemented" and path.split("?")[0] in body["message"]


@pytest.mark.parametrize("path", ["/auth/v1/admin/audit", "/auth/v1/admin/sso/providers",
                                  "/auth/v1/admin/users/{id}/factors"])
def test_unbuilt_admin_routes_check_the_role_then_answer_501(supabase_client, supabase_gateway, path):
    user = sign_up(supabase_client, supabase_gateway)
    path = path.replace("{id}", user["user"]["id"])
    as_user = supabase_client.get(path, headers=keys(supabase_gateway, user["access_token"]))
    assert as_user.status_code == 403 and as_user.json()["code"] == "not_admin"
    as_admin = supabase_client.get(path, headers=keys(supabase_gateway, supabase_gateway.config.service_key))
    assert as_admin.status_code == 501 and path in as_admin.json()["message"]


def test_unbuilt_parts_of_built_routes_answer_501(supabase_client, supabase_gateway):
    admin = keys(supabase_gateway, supabase_gateway.config.service_key)
    imported = supabase_client.post("/auth/v1/admin/users", json={"email": "h@example.com", "password_hash": "$2a$10$x"},
                                    headers=admin)
    assert imported.status_code == 501 and "password_hash" in imported.json()["message"]
    user = sign_up(supabase_client, supabase_gateway)
    phone = supabase_client.put("/auth/v1/user", json={"phone": "15551234567"},
                                headers=keys(supabase_gateway, user["access_token"]))
    assert phone.status_code == 501 and "phone" in phone.json()["message"]
    for path, body, missing in (
            ("/auth/v1/resend", {"type": "signup", "email": user["user"]["email"], "code_challenge": "c" * 43,
                                 "code_challenge_method": "s256"}, "PKCE"),
            ("/auth/v1/verify", {"type": "signup", "token": "123456", "email": user["user"]["email"]}, "e-mail OTPs"),
            ("/auth/v1/verify", {"type": "magiclink", "token_hash": "abc"}, "token hashes"),
            ("/auth/v1/recover", {"email": user["user"]["email"]}, "sends no e-mail")):
        response = supabase_client.post(path, json=body, headers=keys(supabase_gateway))
        assert response.status_code == 501 and missing in response.json()["message"], response.text


def test_unknown_auth_paths_are_404(supabase_client, supabase_gateway):
    response = supabase_client.get("/auth/v1/nothing-here", headers=keys(supabase_gateway))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
