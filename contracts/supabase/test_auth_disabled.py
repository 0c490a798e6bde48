"""GoTrue features a default project has off (SAML SSO, passkeys, the OAuth 2.1 server, manual identity
linking): GoTrue's middleware answers 404 with the feature's error code for every route under them,
whatever the method, before reading the body. supabase-py's `sign_in_with_sso` test records the SSO one."""

from __future__ import annotations

import pytest

from .targets import API_VERSION, anon_headers, service_headers, sign_up, user_headers

SSO = ("saml_provider_disabled", "SAML 2.0 is disabled")
PASSKEYS = ("passkey_disabled", "Passkeys are disabled")
OAUTH = ("feature_disabled", "OAuth server is disabled")


def assert_disabled(response, code: str, message: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json() == {"code": code, "message": message}     # the 2024-01-01 error shape
    assert response.headers["x-sb-error-code"] == code


@pytest.mark.parametrize("method, path, expected", [
    ("POST", "/auth/v1/sso", SSO), ("GET", "/auth/v1/sso/saml/metadata", SSO), ("POST", "/auth/v1/sso/saml/acs", SSO),
    ("POST", "/auth/v1/passkeys/authentication/options", PASSKEYS), ("GET", "/auth/v1/passkeys", PASSKEYS),
    ("GET", "/auth/v1/oauth/authorize", OAUTH), ("POST", "/auth/v1/oauth/token", OAUTH),
    ("POST", "/auth/v1/oauth/clients/register", OAUTH), ("GET", "/auth/v1/.well-known/oauth-authorization-server", OAUTH),
])
def test_public_routes_of_features_that_are_off(http, target, method, path, expected):
    response = http.request(method, path, json={"domain": "example.com"}, headers=anon_headers(target, **API_VERSION))
    assert_disabled(response, *expected)


def test_sso_disabled_in_the_unversioned_shape(http, target):
    response = http.post("/auth/v1/sso", json={"domain": "example.com"}, headers=anon_headers(target))
    assert response.status_code == 404
    assert response.json() == {"code": 404, "error_code": "saml_provider_disabled", "msg": "SAML 2.0 is disabled"}


def test_user_routes_of_features_that_are_off_authenticate_first(http, target):
    for path, expected in (("/auth/v1/user/identities/authorize?provider=github",
                            ("manual_linking_disabled", "Manual linking is disabled")),
                           ("/auth/v1/user/oauth/grants", OAUTH)):
        anonymous = http.get(path, headers=anon_headers(target, **API_VERSION))
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "no_authorization"
        user = sign_up(http, target)
        assert_disabled(http.get(path, headers=user_headers(target, user, **API_VERSION)), *expected)


def test_admin_oauth_clients_check_the_role_then_say_off(http, target):
    user = sign_up(http, target)
    as_user = http.get("/auth/v1/admin/oauth/clients", headers=user_headers(target, user, **API_VERSION))
    assert as_user.status_code == 403 and as_user.json()["code"] == "not_admin"
    for method in ("GET", "POST"):
        response = http.request(method, "/auth/v1/admin/oauth/clients", json={"client_name": "x"},
                                headers=service_headers(target))
        assert_disabled(response, *OAUTH)
