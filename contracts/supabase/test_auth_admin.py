"""/auth/v1/admin: users (create, list, get, update, delete), generate_link, and the service-role check."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

from .targets import API_VERSION, PASSWORD, anon_headers, new_email, service_headers, sign_up, user_headers

STANDALONE_SMOKE = True     # also run against the standalone gateway (see conftest)
ADMIN = "/auth/v1/admin/users"


def create(http, target, **body) -> dict:
    response = http.post(ADMIN, json=body, headers=service_headers(target))
    assert response.status_code == 200, response.text
    return response.json()


def password_grant(http, target, email: str, password: str = PASSWORD):
    return http.post("/auth/v1/token?grant_type=password", json={"email": email, "password": password},
                     headers=anon_headers(target, **API_VERSION))


def test_create_user_with_its_email_identity(http, target):
    email = new_email()
    user = create(http, target, email=email, password=PASSWORD, email_confirm=True, user_metadata={"name": "Ada"},
                  app_metadata={"plan": "pro"})
    assert uuid.UUID(user["id"]) and user["email"] == email and user["phone"] == ""
    assert user["aud"] == "authenticated" and user["role"] == "authenticated" and user["is_anonymous"] is False
    assert user["email_confirmed_at"] and user["confirmed_at"]
    assert user["user_metadata"] == {"name": "Ada", "email_verified": True}
    assert user["app_metadata"] == {"provider": "email", "providers": ["email"], "plan": "pro"}
    [identity] = user["identities"]
    assert identity["provider"] == "email" and identity["id"] == user["id"] and identity["user_id"] == user["id"]
    assert identity["identity_data"] == {"sub": user["id"], "email": email, "email_verified": False,
                                         "phone_verified": False}
    assert identity["email"] == email and uuid.UUID(identity["identity_id"])
    assert {"created_at", "updated_at", "last_sign_in_at"} <= set(identity)
    assert password_grant(http, target, email).status_code == 200


def test_create_user_with_a_phone(http, target):
    digits = "1555" + str(uuid.uuid4().int)[:7]
    user = create(http, target, phone=f"+{digits[0]} {digits[1:]}", phone_confirm=True, role="authenticated")
    assert user["phone"] == digits and user["phone_confirmed_at"] and user["email"] == ""
    assert user["app_metadata"] == {"provider": "phone", "providers": ["phone"]}
    [identity] = user["identities"]
    assert identity["provider"] == "phone" and "email" not in identity
    assert identity["identity_data"] == {"sub": user["id"], "phone": digits, "email_verified": False,
                                         "phone_verified": False}


def test_unconfirmed_user_cannot_sign_in(http, target):
    email = new_email()
    user = create(http, target, email=email, password=PASSWORD)
    assert "email_confirmed_at" not in user and "confirmed_at" not in user       # omitted when unset, as GoTrue does
    refused = password_grant(http, target, email)
    assert refused.status_code == 400 and refused.json()["code"] == "email_not_confirmed"


def test_create_with_an_email_taken_is_422(http, target):
    user = sign_up(http, target)
    response = http.post(ADMIN, json={"email": user.email, "password": PASSWORD}, headers=service_headers(target))
    assert response.status_code == 422
    assert response.json() == {"code": "email_exists",
                               "message": "A user with this email address has already been registered"}


@pytest.mark.parametrize("body, status, code", [
    ({}, 400, "validation_failed"),
    ({"email": "not-an-email"}, 400, "validation_failed"),
    ({"email": 5}, 400, "bad_json"),
    ([], 400, "bad_json"),
    ({"email": "{new}", "id": "not-a-uuid"}, 400, "validation_failed"),
    ({"email": "{new}", "ban_duration": "forever"}, 400, "validation_failed"),
    ({"phone": "call me"}, 400, "validation_failed"),
    ({"email": "{new}", "email_confirm": "yes"}, 400, "bad_json"),
])
def test_create_user_bad_input(http, target, body, status, code):
    if isinstance(body, dict) and body.get("email") == "{new}":
        body = {**body, "email": new_email()}
    response = http.post(ADMIN, json=body, headers=service_headers(target))
    assert response.status_code == status and response.json()["code"] == code, response.text


def test_malformed_json_body_is_400_bad_json(http, target):
    response = http.post(ADMIN, content=b'{"email": ', headers={**service_headers(target),
                                                                 "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["code"] == "bad_json"


def test_admin_routes_need_a_service_role_token(http, target):
    user = sign_up(http, target)
    for path, method in ((ADMIN, "GET"), (ADMIN, "POST"), (f"{ADMIN}/{user.id}", "GET"),
                         (f"{ADMIN}/{user.id}", "DELETE"), ("/auth/v1/admin/generate_link", "POST")):
        as_user = http.request(method, path, json={}, headers=user_headers(target, user, **API_VERSION))
        assert as_user.status_code == 403, (path, method, as_user.text)
        assert as_user.json() == {"code": "not_admin", "message": "User not allowed"}
    as_anon = http.get(ADMIN, headers={**anon_headers(target, **API_VERSION), "Authorization": f"Bearer {target.anon_key}"})
    assert as_anon.status_code == 403 and as_anon.json()["code"] == "not_admin"
    no_token = http.get(ADMIN, headers=anon_headers(target, **API_VERSION))
    assert no_token.status_code == 401 and no_token.json()["code"] == "no_authorization"
    forged = http.get(ADMIN, headers={**anon_headers(target, **API_VERSION), "Authorization": "Bearer x.y.z"})
    assert forged.status_code == 403 and forged.json()["code"] == "bad_jwt"
    assert http.get(f"{ADMIN}/{user.id}", headers=service_headers(target)).status_code == 200   # still there


def test_list_users_pages_with_link_and_total_count(http, target):
    made = [create(http, target, email=new_email(), password=PASSWORD)["id"] for _ in range(3)]
    first = http.get(f"{ADMIN}?page=1&per_page=2", headers=service_headers(target))
    assert first.status_code == 200
    body = first.json()
    assert body["aud"] == "authenticated" and len(body["users"]) == 2
    assert [u["id"] for u in body["users"]] == made[::-1][:2]          # newest first
    total = int(first.headers["x-total-count"])
    last = -(-total // 2)
    assert total >= 3
    assert first.headers["link"] == (f'</admin/users?page=2&per_page=2>; rel="next", '
                                     f'</admin/users?page={last}&per_page=2>; rel="last"')
    second = http.get(f"{ADMIN}?page=2&per_page=2", headers=service_headers(target)).json()
    assert second["users"][0]["id"] == made[0]
    beyond = http.get(f"{ADMIN}?page={last + 1}&per_page=2", headers=service_headers(target))
    assert beyond.status_code == 200 and beyond.json()["users"] == []
    assert 'rel="next"' not in beyond.headers["link"]


@pytest.mark.parametrize("query", ["page=x", "per_page=-1", "sort=email%20asc", "sort=created_at%20sideways"])
def test_list_users_bad_parameters_are_400(http, target, query):
    response = http.get(f"{ADMIN}?{query}", headers=service_headers(target))
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"


def test_get_update_ban_and_delete(http, target):
    email = new_email()
    user = create(http, target, email=email, password=PASSWORD, email_confirm=True)
    path = f"{ADMIN}/{user['id']}"
    got = http.get(path, headers=service_headers(target)).json()
    assert got["id"] == user["id"] and got["identities"][0]["provider"] == "email"
    updated = http.put(path, json={"user_metadata": {"name": "Bo", "email_verified": None}, "ban_duration": "24h"},
                       headers=service_headers(target))
    assert updated.status_code == 200, updated.text
    assert updated.json()["user_metadata"] == {"name": "Bo"} and updated.json()["banned_until"]
    banned = password_grant(http, target, email)
    assert banned.status_code == 400 and banned.json() == {"code": "user_banned", "message": "User is banned"}
    lifted = http.put(path, json={"ban_duration": "none"}, headers=service_headers(target)).json()
    assert "banned_until" not in lifted and password_grant(http, target, email).status_code == 200
    other = new_email()
    moved = http.put(path, json={"email": other, "email_confirm": True}, headers=service_headers(target)).json()
    assert moved["email"] == other and moved["identities"][0]["identity_data"]["email"] == other
    deleted = http.delete(path, headers=service_headers(target))
    assert deleted.status_code == 200 and deleted.json() == {}
    gone = http.get(path, headers=service_headers(target))
    assert gone.status_code == 404 and gone.json() == {"code": "user_not_found", "message": "User not found"}


def test_soft_delete_keeps_the_row_but_not_the_login(http, target):
    email = new_email()
    user = create(http, target, email=email, password=PASSWORD, email_confirm=True)
    path = f"{ADMIN}/{user['id']}"
    assert http.request("DELETE", path, json={"should_soft_delete": True}, headers=service_headers(target)).status_code == 200
    kept = http.get(path, headers=service_headers(target)).json()
    assert kept["deleted_at"] and kept["email"] != email and kept["user_metadata"] == {}
    assert password_grant(http, target, email).json()["code"] == "invalid_credentials"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_unknown_and_malformed_user_ids_are_404(http, target, method):
    missing = http.request(method, f"{ADMIN}/{uuid.uuid4()}", json={}, headers=service_headers(target))
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"
    malformed = http.request(method, f"{ADMIN}/not-a-uuid", json={}, headers=service_headers(target))
    assert malformed.status_code == 404
    assert malformed.json() == {"code": "validation_failed", "message": "user_id must be an UUID"}


def link(http, target, **body):
    return http.post("/auth/v1/admin/generate_link", json=body, headers=service_headers(target))


def test_generate_signup_link_makes_an_unconfirmed_user(http, target):
    email = new_email()
    response = link(http, target, type="signup", email=email, password=PASSWORD, data={"ref": "x"},
                    redirect_to="http://127.0.0.1:3000/welcome")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["email"] == email and "email_confirmed_at" not in body and body["confirmation_sent_at"]
    assert body["identities"][0]["provider"] == "email" and body["user_metadata"] == {"ref": "x"}
    assert re.fullmatch(r"[0-9]{6}", body["email_otp"])
    assert body["hashed_token"] == hashlib.sha224((email + body["email_otp"]).encode()).hexdigest()
    assert body["verification_type"] == "signup" and body["redirect_to"] == "http://127.0.0.1:3000/welcome"
    assert f"/auth/v1/verify?token={body['hashed_token']}&type=signup&redirect_to=" in body["action_link"]


def test_generate_magiclink_recovery_and_invite(http, target):
    user = sign_up(http, target)
    magic = link(http, target, type="magiclink", email=user.email).json()
    assert magic["id"] == user.id and magic["verification_type"] == "magiclink" and "type=magiclink" in magic["action_link"]
    recovery = link(http, target, type="recovery", email=user.email).json()
    assert recovery["recovery_sent_at"] and recovery["verification_type"] == "recovery"
    invited = link(http, target, type="invite", email=new_email()).json()
    assert invited["invited_at"] and invited["verification_type"] == "invite"
    fresh = link(http, target, type="magiclink", email=new_email()).json()
    assert fresh["verification_type"] == "signup"          # magiclink for an unknown email signs up


@pytest.mark.parametrize("body, status, code", [
    ({"type": "recovery", "email": "{new}"}, 404, "user_not_found"),
    ({"type": "teleport", "email": "{new}"}, 400, "validation_failed"),
    ({"type": "signup"}, 400, "validation_failed"),
    ({"type": "signup", "email": "{new}"}, 400, "validation_failed"),
    ({"type": "signup", "email": "{user}", "password": PASSWORD}, 422, "email_exists"),
    ({"type": ["signup"], "email": "{new}"}, 400, "bad_json"),
])
def test_generate_link_bad_input(http, target, body, status, code):
    fill = {"{new}": new_email, "{user}": lambda: sign_up(http, target).email}
    body = {k: fill[v]() if isinstance(v, str) and v in fill else v for k, v in body.items()}
    response = link(http, target, **body)
    assert response.status_code == status and response.json()["code"] == code, response.text
