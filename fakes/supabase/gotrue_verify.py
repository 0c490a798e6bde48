"""POST /auth/v1/verify, /resend and /recover, the parts that need no message sent.

verify: GoTrue's validation, and the phone OTP types (`sms`, `phone_change`). The gateway sends no SMS,
so no phone OTP it could accept exists: such a verify is GoTrue's answer for a code that does not match
(403 otp_expired), after the same validation and user lookup (a banned user is 403 user_banned).
resend: GoTrue's validation (the phone provider is off, as /settings says), then its 200 `{}` wherever
there is nothing to send (no such user, already confirmed, no pending change). E-mail OTPs, token
hashes, PKCE and a resend that would send an e-mail answer 501.
recover: its validation, and 200 `{}` for an address no user has (GoTrue does not tell); for a user it
would send the recovery e-mail: 501.
reauthenticate (GET): after requireAuthentication, GoTrue's refusals for a user it could not send a nonce
to (no e-mail or phone, or not confirmed); sending the nonce is 501."""

from __future__ import annotations

from .errors import AuthError
from .gotrue_model import go_params, user_row, validate_email, validate_phone

RESEND_FIELDS = {"type": "string", "email": "string", "phone": "string", "code_challenge": "string",
                 "code_challenge_method": "string"}

VERIFY_FIELDS = {"type": "string", "token": "string", "token_hash": "string", "email": "string", "phone": "string",
                 "redirect_to": "string"}
PHONE_TYPES = {"sms", "phone_change"}   # no pending phone change exists here (PUT /user with a phone is 501)


async def verify_post(auth, raw: bytes) -> dict:
    """VerifyParams.Validate, then verifyUserAndToken as far as it goes without a stored OTP."""
    p = go_params(raw, "VerifyParams", VERIFY_FIELDS)
    if p["type"] == "":
        raise AuthError(400, "validation_failed", "Verify requires a verification type")
    if (p["token"] == "") == (p["token_hash"] == ""):
        raise AuthError(400, "validation_failed", "Verify requires either a token or a token hash")
    if p["token_hash"]:
        if p["email"] or p["phone"] or p["redirect_to"]:
            raise AuthError(400, "validation_failed", "Only the token_hash and type should be provided")
        raise _unbuilt(p["type"])
    if p["phone"] and not p["email"]:
        phone = validate_phone(p["phone"])
    elif p["email"] and not p["phone"]:
        try:
            validate_email(p["email"])
        except AuthError:
            raise AuthError(422, "validation_failed", "Invalid email format") from None
        raise _unbuilt(p["type"])
    else:
        raise AuthError(400, "validation_failed", "Only an email address or phone number should be provided on verify")
    if p["type"] not in PHONE_TYPES:
        raise _unbuilt(p["type"])

    async def work(conn):
        row = await user_row(conn, "phone = %s and aud = 'authenticated'", (phone,)) if p["type"] == "sms" else None
        if row is not None and auth.banned(row):
            raise AuthError(403, "user_banned", "User is banned")
        raise AuthError(403, "otp_expired", "Token has expired or is invalid")
    return await auth.tx(work)


def _unbuilt(kind: str) -> AuthError:
    return AuthError(501, "not_implemented", f"not implemented by the dualsync gateway: POST /auth/v1/verify "
                     f"with type {kind} (e-mail OTPs and token hashes)")


async def resend(auth, raw: bytes) -> dict:
    """ResendConfirmationParams.Validate, then Resend up to the point where it would send something."""
    p = go_params(raw, "ResendConfirmationParams", RESEND_FIELDS)
    kind = p["type"]
    if kind not in ("signup", "email_change", "sms", "phone_change"):
        raise AuthError(400, "validation_failed", "Missing one of these types: signup, email_change, sms, phone_change")
    if kind in ("signup", "email_change") and (p["code_challenge"] or p["code_challenge_method"]):
        raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: POST /auth/v1/resend "
                        "with PKCE (code_challenge)")
    if p["email"] == "" and kind == "signup":
        raise AuthError(400, "validation_failed", "Type provided requires an email address")
    if p["phone"] == "" and kind == "sms":
        raise AuthError(400, "validation_failed", "Type provided requires a phone number")
    if p["email"] and p["phone"]:
        raise AuthError(400, "validation_failed", "Only an email address or phone number should be provided.")
    if p["phone"]:
        raise AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
    if not p["email"]:
        raise AuthError(400, "validation_failed", "Missing email address or phone number")
    email = validate_email(p["email"])

    async def work(conn):
        row = await user_row(conn, "lower(email) = lower(%s) and aud = 'authenticated'", (email,))
        if (row is None or (kind == "signup" and row["email_confirmed_at"] is not None)
                or (kind == "email_change" and not row["email_change"]) or kind in ("sms", "phone_change")):
            return {}
        raise AuthError(501, "not_implemented", f"not implemented by the dualsync gateway: POST /auth/v1/resend "
                        f"of a {kind} e-mail (the gateway sends no e-mail)")
    return await auth.tx(work)


async def recover(auth, raw: bytes) -> dict:
    p = go_params(raw, "RecoverParams", {"email": "string", "code_challenge": "string",
                                         "code_challenge_method": "string"})
    if p["email"] == "":
        raise AuthError(400, "validation_failed", "Password recovery requires an email")
    email = validate_email(p["email"])
    if p["code_challenge"] or p["code_challenge_method"]:
        raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: POST /auth/v1/recover "
                        "with PKCE (code_challenge)")

    async def work(conn):
        if await user_row(conn, "lower(email) = lower(%s) and aud = 'authenticated'", (email,)) is None:
            return {}
        raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: POST /auth/v1/recover "
                        "for an existing user (the gateway sends no e-mail)")
    return await auth.tx(work)


async def reauthenticate(auth, access_token: str | None) -> dict:
    async def work(conn):
        claims = await auth.authenticate(conn, access_token)
        row = await user_row(conn, "id = %s", (claims["sub"],))
        email, phone = row["email"] or "", row["phone"] or ""
        if email == "" and phone == "":
            raise AuthError(400, "validation_failed",
                            "Reauthentication requires the user to have an email or a phone number")
        if email and row["email_confirmed_at"] is None:
            raise AuthError(422, "email_not_confirmed", "Please verify your email first.")
        if not email and row["phone_confirmed_at"] is None:
            raise AuthError(422, "phone_not_confirmed", "Please verify your phone first.")
        raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: GET /auth/v1/reauthenticate "
                        "that sends a nonce (the gateway sends no e-mail or SMS)")
    return await auth.tx(work)
