"""POST /auth/v1/verify, the part that needs no message sent: GoTrue's validation, and the phone OTP
types (`sms`, `phone_change`). The gateway sends no SMS, so no phone OTP it could accept exists:
such a verify is GoTrue's answer for a code that does not match (403 otp_expired), after the same
validation and user lookup (a banned user is 403 user_banned). E-mail types answer 501."""

from __future__ import annotations

from .errors import AuthError
from .gotrue_model import go_params, user_row, validate_email, validate_phone

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
