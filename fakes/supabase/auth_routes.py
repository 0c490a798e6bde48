"""The `/auth/v1` routes: GoTrue's router as Kong forwards to it.

    signup, token, user (GET, PUT), logout, health, settings     gotrue.py
    .well-known/jwks.json                                         keys.py (public keys, no apikey needed)
    admin/users[/{id}], admin/generate_link, invite               gotrue_admin.py (service-role only)
    verify, resend, recover, reauthenticate: what sends nothing   gotrue_verify.py
    sso, passkeys, oauth, admin/oauth, user/oauth/grants, user/identities: 404, the feature is off

A known route with another method answers 405 without a body (chi); a GoTrue route the gateway
does not build answers 501 `not_implemented` naming it; anything else 404.
"""

from __future__ import annotations

import json

import psycopg
from starlette.requests import Request
from starlette.responses import Response

from .errors import AuthError
from .gotrue_verify import reauthenticate, recover, resend, verify_post

API_VERSION = "2024-01-01"
UNIMPLEMENTED = {"otp", "magiclink", "verify", "recover", "resend", "factors", "authorize", "callback", "sso",
                 "reauthenticate", "passkeys", "oauth", ".well-known", "saml", "admin", "user"}
KEYLESS = {"verify", "callback", "authorize", ".well-known"}
_METHODS = {"signup": {"POST"}, "token": {"POST"}, "user": {"GET", "PUT"}, "logout": {"POST"}, "health": {"GET"},
            "settings": {"GET"}, ".well-known/jwks.json": {"GET"}, "invite": {"POST"}, "admin/users": {"GET", "POST"},
            "admin/generate_link": {"POST"}, "admin/users/{id}": {"GET", "PUT", "DELETE"}}
_PROVIDERS = ("apple", "azure", "bitbucket", "discord", "facebook", "snapchat", "figma", "fly", "github", "gitlab",
              "google", "keycloak", "kakao", "linkedin", "linkedin_oidc", "notion", "spotify", "slack", "slack_oidc",
              "workos", "twitch", "twitter", "email", "phone", "zoom")


def keyless(sub: str) -> bool:
    return sub.split("/")[0] in KEYLESS


async def auth_route(gateway, request: Request, sub: str) -> Response:
    version = request.headers.get("x-supabase-api-version")
    headers = {"X-Supabase-Api-Version": API_VERSION} if version else {}
    try:
        status, payload, extra = await _operation(gateway, request, sub.rstrip("/") if sub != "/" else sub)
    except AuthError as exc:
        return _error(exc, version)
    except (psycopg.DataError, UnicodeEncodeError):
        return _error(AuthError(400, "validation_failed", "Request contains values the database cannot store"), version)
    headers.update(extra)
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(payload).encode(), status, headers=headers, media_type="application/json")


def _error(exc: AuthError, version: str | None) -> Response:
    headers = {"x-sb-error-code": exc.error_code, **({"X-Supabase-Api-Version": API_VERSION} if version else {})}
    return Response(exc.body(version), exc.status, headers=headers, media_type="application/json")


def _route_of(sub: str) -> str:
    parts = sub.split("/")
    if len(parts) == 3 and parts[:2] == ["admin", "users"] and parts[2]:
        return "admin/users/{id}"
    return sub


async def _operation(gateway, request: Request, sub: str) -> tuple[int, dict | None, dict]:
    method, auth, admin = request.method, gateway.auth, gateway.auth_admin
    issuer = str(request.base_url).rstrip("/") + "/auth/v1"
    route = _route_of(sub)
    if sub.startswith("admin/") or sub in ("admin", "invite"):
        await _require_admin(auth, request)        # the /admin router's middleware runs first
    allowed = _METHODS.get(route)
    if allowed is not None and method not in allowed:
        return 405, None, {}                        # GoTrue's router: a known route, another method
    token = _bearer(request)
    if route == "signup":
        return 200, await auth.signup(await _body(request), issuer), {}
    if route == "token":
        return 200, await _token(gateway, request, issuer), {}
    if route == "user":
        if method == "GET":
            return 200, await auth.get_user(token), {}
        return 200, await auth.update_user(token, await _body(request)), {}
    if route == "logout":
        await auth.logout(token, request.query_params.get("scope", "global"))
        return 204, None, {}
    if route == "health":
        return 200, {"version": "dualsync-gotrue", "name": "GoTrue", "description": "GoTrue subset"}, {}
    if route == "settings":
        return 200, _settings(gateway), {}
    if route == ".well-known/jwks.json":
        return 200, gateway.keys.jwks(), {"Cache-Control": "public, max-age=600"}
    if route == "admin/users":
        if method == "GET":
            users, headers = await admin.list_users(token, list(request.query_params.multi_items()), "/admin/users")
            return 200, users, headers
        return 200, await admin.create_user(token, await _body(request)), {}
    if route == "admin/users/{id}":
        user_id = sub.split("/")[2]
        if method == "GET":
            return 200, await admin.get_user(token, user_id), {}
        if method == "PUT":
            return 200, await admin.update_user(token, user_id, await _body(request)), {}
        return 200, await admin.delete_user(token, user_id, await _body(request)), {}
    if route == "invite":
        return 200, await admin.invite(token, await _body(request), issuer), {}
    if route == "reauthenticate":
        if method != "GET":                         # requireAuthentication wraps the route, then chi's 405
            await auth.tx(lambda conn: auth.authenticate(conn, token))
            return 405, None, {}
        return 200, await reauthenticate(auth, token), {}
    if route == "recover" and method == "POST":
        return 200, await recover(auth, await _body(request)), {}
    if route == "resend" and method == "POST":
        return 200, await resend(auth, await _body(request)), {}
    if route == "verify" and method == "POST":
        return 200, await verify_post(auth, await _body(request)), {}
    if route == "admin/generate_link":
        return 200, await admin.generate_link(token, await _body(request), request, issuer), {}
    disabled = _disabled(sub)
    if disabled is not None:
        if sub.startswith("user/"):                 # /user's requireAuthentication runs first
            await auth.tx(lambda conn: auth.authenticate(conn, token))
        raise AuthError(404, *disabled)
    if sub.split("/")[0] in UNIMPLEMENTED:
        raise AuthError(501, "not_implemented", f"not implemented by the dualsync gateway: {method} /auth/v1/{sub}")
    raise AuthError(404, "not_found", "Not Found")


def _disabled(sub: str) -> tuple[str, str] | None:
    """Features a default project has off (the /settings above says so): GoTrue's middleware answers
    404 for every route under them, whatever the method, before the handler reads anything."""
    parts = sub.split("/")
    if parts[0] == "sso":
        return "saml_provider_disabled", "SAML 2.0 is disabled"
    if parts[0] == "passkeys":
        return "passkey_disabled", "Passkeys are disabled"
    if (parts[0] == "oauth" or parts[:2] == ["admin", "oauth"] or parts[:3] == ["user", "oauth", "grants"]
            or sub == ".well-known/oauth-authorization-server"):
        return "feature_disabled", "OAuth server is disabled"
    if parts[:2] == ["user", "identities"]:
        return "manual_linking_disabled", "Manual linking is disabled"
    return None


async def _require_admin(auth, request: Request) -> None:
    async def check(conn):
        await auth.require_admin(conn, _bearer(request))
    await auth.tx(check)


def _settings(gateway) -> dict:
    external = {name: name == "email" for name in _PROVIDERS}
    return {"external": {"anonymous_users": gateway.config.anonymous_sign_ins, **external},
            "disable_signup": False, "mailer_autoconfirm": True, "phone_autoconfirm": False, "sms_provider": "",
            "saml_enabled": False, "saml_private_key_next_configured": False, "passkeys_enabled": False}


async def _token(gateway, request: Request, issuer: str) -> dict:
    grant = request.query_params.get("grant_type")
    body = await _form_or_json(request)
    if grant == "password":
        return await gateway.auth.token_password_grant(body.get("email"), body.get("password"), issuer)
    if grant == "refresh_token":
        return await gateway.auth.token_refresh_grant(body.get("refresh_token"), issuer)
    raise AuthError(400, "invalid_credentials", "unsupported_grant_type")


async def _body(request: Request) -> bytes:
    raw = await request.body()
    if len(raw) > 1024 * 1024:
        raise AuthError(413, "request_too_large", "Request body too large")
    return raw


async def _form_or_json(request: Request) -> dict:
    raw = await _body(request)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict((await request.form()).items())
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: expected an object")
    return body


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
