"""JWTs as Supabase mints and PostgREST verifies them, against an injectable clock.

Verification is written out (not PyJWT's decode) because the checks must read the virtual World
clock, allow PostgREST's 30 s skew, and fail with PostgREST's exact messages. The keys (the HS256
secret, and an RS256/ES256 key when the gateway signs asymmetrically) live in keys.py.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import json
from typing import Callable

from .errors import jwt_error
from .keys import ALGORITHMS, KeySet

# The Supabase CLI's local defaults: with this secret the well-known local keys verify.
DEFAULT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
DEMO_EXP = 1983812996
CLOCK_SKEW = 30

Clock = Callable[[], dt.datetime]


def real_clock() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: dict, secret: str) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{b64(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest())}"


@functools.lru_cache(maxsize=32)
def api_key(role: str, secret: str = DEFAULT_SECRET) -> str:
    """The legacy anon / service_role key: a long-lived JWT with only iss, role and exp (made once per
    secret: the apikey gate compares every request's key with it)."""
    return encode({"iss": "supabase-demo", "role": role, "exp": DEMO_EXP}, secret)


def decode(token: str, keys, now: dt.datetime, skew: int = CLOCK_SKEW, hs_fallback: bool = False) -> dict:
    """Verified claims, or ApiError PGRST301 (undecodable) / PGRST303 (claims invalid). `keys` is a
    keys.KeySet, or the HS256 secret alone."""
    if not token:
        raise jwt_error("Empty JWT is sent in Authorization header")
    parts = token.split(".")
    if len(parts) != 3:
        raise jwt_error(f"Expected 3 parts in JWT; got {len(parts)}")
    header, claims = _json_part(parts[0]), _json_part(parts[1])
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise jwt_error("JWT cryptographic operation failed")
    if header.get("alg") not in ALGORITHMS:
        raise jwt_error("Wrong or unsupported encoding algorithm")
    if isinstance(keys, str):
        keys = KeySet(keys)
    if not keys.verify(header, f"{parts[0]}.{parts[1]}".encode(), _signature(parts[2]), hs_fallback):
        raise jwt_error("No suitable key or wrong key type", details="None of the keys was able to decode the JWT")
    check_times(claims, now, skew)
    return claims


def _json_part(text: str):
    try:
        return json.loads(_unb64(text))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise jwt_error("JWT cryptographic operation failed") from None


def _signature(text: str) -> bytes:
    try:
        return _unb64(text)
    except (ValueError, binascii.Error):
        return b""


def check_times(claims: dict, now: dt.datetime, skew: int = CLOCK_SKEW) -> None:
    t = now.timestamp()
    for name, message, bad in (("exp", "JWT expired", lambda v: t - skew > v),
                               ("nbf", "JWT not yet valid", lambda v: t + skew < v),
                               ("iat", "JWT issued at future", lambda v: t + skew < v)):
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise jwt_error(f"The JWT '{name}' claim must be a number", claims=True)
        if bad(value):
            raise jwt_error(message, claims=True)
