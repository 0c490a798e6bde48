"""`POST /admin/generate_link` (GoTrue `mail.go` adminGenerateLink) and the redirect rules it uses
(`utilities` GetReferrer / IsRedirectURLValid).

The link is made and its token stored as GoTrue stores it (sha224 of email + OTP as the hashed
token, on the user's recovery / confirmation / email-change columns), but nothing is mailed and
`/verify` itself stays unimplemented (501), so the link is for tests to read, not to follow.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import secrets
import urllib.parse
import uuid

from .errors import AuthError
from .gotrue_model import (NIL_INSTANCE, check_password_strength, email_identity_data, hash_password, insert_identity,
                           load_user, merge_metadata, user_row, validate_email)

OTP_LENGTH = 6
TYPES = ("signup", "invite", "magiclink", "recovery", "email_change_current", "email_change_new")
DUPLICATE_EMAIL = "A user with this email address has already been registered"


def valid_redirect(site_url: str, url: str | None) -> bool:
    """IsRedirectURLValid without an allow list: back to the site (scheme, host, and port unless
    loopback), or any loopback IP address."""
    if not url:
        return False
    try:
        base, ref = urllib.parse.urlsplit(site_url), urllib.parse.urlsplit(url)
        same_port = base.port == ref.port
    except ValueError:
        return False
    host = ref.hostname or ""
    if base.hostname == host and base.scheme == ref.scheme and (same_port or _loopback(host)):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def referrer(request, site_url: str) -> str:
    """GetReferrer: the `redirect_to` query parameter, else the Referer header, else the site URL."""
    for candidate in (request.query_params.get("redirect_to"), request.headers.get("referer")):
        if valid_redirect(site_url, candidate):
            return candidate
    return site_url


def _encode_redirect(url: str) -> str:
    return urllib.parse.quote_plus(url) if any(c in url for c in "&=#") else url


async def generate(auth, conn, p: dict, email: str, redirect_to: str, issuer: str) -> dict:
    kind = p["type"]
    row = await user_row(conn, "lower(email) = %s and aud = 'authenticated' and not is_anonymous", (email,), lock=True)
    if row is None and kind == "magiclink":
        kind, p["password"] = "signup", secrets.token_urlsafe(48)
    elif row is None and kind in ("recovery", "email_change_current", "email_change_new"):
        raise AuthError(404, "user_not_found", "User with this email not found")
    if kind == "signup" and row is None:
        if p["password"] == "":
            raise AuthError(400, "validation_failed", "Signup requires a valid password")
        check_password_strength(p["password"])
    otp = "".join(secrets.choice("0123456789") for _ in range(OTP_LENGTH))
    hashed = hashlib.sha224((email + otp).encode()).hexdigest()
    now, link_token = auth.clock.now(), hashed
    user_id = str(row["id"]) if row else None
    if kind in ("magiclink", "recovery"):
        await conn.execute("update auth.users set recovery_token = %s, recovery_sent_at = %s where id = %s",
                           (hashed, now, user_id))
    elif kind in ("invite", "signup"):
        if row is not None and row["email_confirmed_at"] is not None:
            raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
        if row is None:
            user_id = await _new_user(conn, email, p["password"] if kind == "signup" else None, p["data"], now)
        elif kind == "signup" and p["data"] is not None:
            merged = merge_metadata(row["raw_user_meta_data"], p["data"])
            await conn.execute("update auth.users set raw_user_meta_data = %s where id = %s", (json.dumps(merged), user_id))
        invited = ", invited_at = %s" if kind == "invite" else ""
        await conn.execute(f"update auth.users set confirmation_token = %s, confirmation_sent_at = %s{invited} "
                           "where id = %s", (hashed, now, *([now] if invited else []), user_id))
    elif kind in ("email_change_current", "email_change_new"):
        new_email = validate_email(p["new_email"])
        if await auth.email_taken(conn, new_email, row["id"]):
            raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
        current = hashed if kind == "email_change_current" else ""
        new = hashlib.sha224((new_email + otp).encode()).hexdigest() if kind == "email_change_new" else ""
        await conn.execute("update auth.users set email_change = %s, email_change_sent_at = %s, "
                           "email_change_token_current = %s, email_change_token_new = %s where id = %s",
                           (new_email, now, current, new, user_id))
        link_token = current or new
    else:
        raise AuthError(400, "validation_failed", f"Invalid email action link type requested: {p['type']}")
    link_type = "email_change" if kind.startswith("email_change") else kind
    action_link = (f"{issuer}/verify?token={urllib.parse.quote_plus(link_token)}&type={link_type}"
                   f"&redirect_to={_encode_redirect(redirect_to)}")
    user = await load_user(conn, user_id)
    return {**user, "action_link": action_link, "email_otp": otp, "hashed_token": hashed,
            "verification_type": kind, "redirect_to": redirect_to}


async def _new_user(conn, email: str, password: str | None, data: dict | None, now) -> str:
    """signupNewUser + the email identity, unconfirmed (no session: the link confirms it)."""
    user_id = str(uuid.uuid4())
    await conn.execute(
        "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data, "
        "raw_user_meta_data, created_at, updated_at) values (%s, %s, 'authenticated', 'authenticated', %s, %s, %s, "
        "%s, %s, %s)",
        (NIL_INSTANCE, user_id, email, hash_password(password) if password else None,
         json.dumps({"provider": "email", "providers": ["email"]}), json.dumps(data or {}), now, now))
    await insert_identity(conn, user_id, "email", email_identity_data(user_id, email), now)
    return user_id
