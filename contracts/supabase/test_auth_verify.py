"""POST /auth/v1/verify, /resend and /recover as far as GoTrue answers them without a message being sent: their
validation; phone OTPs (`sms`, `phone_change`) that were never issued, which are 403 otp_expired; a resend
with nothing to send, which is 200 `{}`. supabase-py's verify_otp tests (a non-existent and a malformed
phone number), its resend of an email_change and its password reset for unknown addresses record these."""

from __future__ import annotations

import uuid

import pytest

from .targets import API_VERSION, anon_headers, new_email, service_headers, sign_up

EXPIRED = (403, "otp_expired", "Token has expired or is invalid")


def verify(http, target, body: dict, versioned: bool = True):
    return http.post("/auth/v1/verify", json=body, headers=anon_headers(target, **(API_VERSION if versioned else {})))


def new_phone() -> str:
    return "1555" + str(uuid.uuid4().int)[:7]


@pytest.mark.parametrize("body, expected", [
    ({}, (400, "validation_failed", "Verify requires a verification type")),
    ({"type": "sms"}, (400, "validation_failed", "Verify requires either a token or a token hash")),
    ({"type": "sms", "token": "1", "token_hash": "2"},
     (400, "validation_failed", "Verify requires either a token or a token hash")),
    ({"type": "sms", "token": "123456", "phone": "12ab"},
     (400, "validation_failed", "Invalid phone number format (E.164 required)")),
    ({"type": "sms", "token": "123456", "phone": "+15555550100", "email": "a@example.com"},
     (400, "validation_failed", "Only an email address or phone number should be provided on verify")),
    ({"type": "sms", "token": "123456"},
     (400, "validation_failed", "Only an email address or phone number should be provided on verify")),
    ({"type": "signup", "token_hash": "abc", "email": "a@example.com"},
     (400, "validation_failed", "Only the token_hash and type should be provided")),
    ({"type": "sms", "token": "123456", "phone": "+1 555 555 0100"}, EXPIRED),
    ({"type": "phone_change", "token": "123456", "phone": "15555550100"}, EXPIRED),
])
def test_verify_validation_and_unissued_phone_codes(http, target, body, expected):
    response = verify(http, target, body)
    assert (response.status_code, *response.json().values()) == expected, response.text
    assert response.headers["x-sb-error-code"] == expected[1]


def test_an_existing_phone_user_with_a_code_never_sent(http, target):
    phone = new_phone()
    created = http.post("/auth/v1/admin/users", json={"phone": phone, "password": "secret-123"},
                        headers=service_headers(target))
    assert created.status_code == 200, created.text
    response = verify(http, target, {"type": "sms", "token": "000000", "phone": phone}, versioned=False)
    assert response.status_code == 403
    assert response.json() == {"code": 403, "error_code": "otp_expired", "msg": "Token has expired or is invalid"}


@pytest.mark.parametrize("body, expected", [
    ({}, (400, "validation_failed", "Missing one of these types: signup, email_change, sms, phone_change")),
    ({"type": "signup"}, (400, "validation_failed", "Type provided requires an email address")),
    ({"type": "sms"}, (400, "validation_failed", "Type provided requires a phone number")),
    ({"type": "signup", "email": "a@example.com", "phone": "+15555550100"},
     (400, "validation_failed", "Only an email address or phone number should be provided.")),
    ({"type": "sms", "phone": "+15555550100"}, (400, "phone_provider_disabled", "Phone logins are disabled")),
    ({"type": "email_change"}, (400, "validation_failed", "Missing email address or phone number")),
    ({"type": "signup", "email": "not-an-address"},
     (400, "validation_failed", "Unable to validate email address: invalid format")),
])
def test_resend_validation(http, target, body, expected):
    response = http.post("/auth/v1/resend", json=body, headers=anon_headers(target, **API_VERSION))
    assert (response.status_code, *response.json().values()) == expected, response.text


def test_resend_with_nothing_to_send_is_an_empty_200(http, target):
    user = sign_up(http, target)        # confirmed at sign-up (autoconfirm), no e-mail change pending
    for body in ({"type": "email_change", "email": new_email()}, {"type": "signup", "email": new_email()},
                 {"type": "signup", "email": user.email}, {"type": "email_change", "email": user.email},
                 {"type": "phone_change", "email": user.email}):
        response = http.post("/auth/v1/resend", json=body, headers=anon_headers(target))
        assert (response.status_code, response.json()) == (200, {}), (body, response.text)


def test_recover_validation_and_an_unknown_address(http, target):
    for body, expected in (({}, (400, "validation_failed", "Password recovery requires an email")),
                           ({"email": "nope"}, (400, "validation_failed",
                                                "Unable to validate email address: invalid format"))):
        response = http.post("/auth/v1/recover", json=body, headers=anon_headers(target, **API_VERSION))
        assert (response.status_code, *response.json().values()) == expected, response.text
    response = http.post("/auth/v1/recover", json={"email": new_email()}, headers=anon_headers(target))
    assert (response.status_code, response.json()) == (200, {})
