"""JWT mint/verify and the error mapping, without a database."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dualsync.fakes.supabase import tokens
from dualsync.fakes.supabase.errors import ApiError, AuthError, from_database, status_for_sqlstate

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
SECRET = tokens.DEFAULT_SECRET

# The Supabase CLI's well-known local keys, derived from its default secret.
LOCAL_ANON = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9."
              "CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0")
LOCAL_SERVICE = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6"
                 "MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU")


def test_default_secret_gives_the_well_known_local_keys():
    assert tokens.api_key("anon") == LOCAL_ANON and tokens.api_key("service_role") == LOCAL_SERVICE


def test_round_trip_and_skew():
    exp = int(NOW.timestamp())
    token = tokens.encode({"sub": "u", "role": "authenticated", "exp": exp}, SECRET)
    assert tokens.decode(token, SECRET, NOW + dt.timedelta(seconds=30))["sub"] == "u"
    with pytest.raises(ApiError) as late:
        tokens.decode(token, SECRET, NOW + dt.timedelta(seconds=31))
    assert (late.value.code, late.value.message) == ("PGRST303", "JWT expired")
    assert late.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


@pytest.mark.parametrize("token, message", [
    ("", "Empty JWT is sent in Authorization header"),
    ("a.b", "Expected 3 parts in JWT; got 2"),
    ("!!.??.##", "JWT cryptographic operation failed"),
    (tokens.b64(b'{"alg":"none"}') + "." + tokens.b64(b'{"role":"service_role"}') + ".",
     "Wrong or unsupported encoding algorithm"),
    (tokens.encode({"role": "service_role"}, "another-secret-of-at-least-thirty-two-chars"),
     "No suitable key or wrong key type"),
])
def test_undecodable_tokens(token, message):
    with pytest.raises(ApiError) as caught:
        tokens.decode(token, SECRET, NOW)
    assert (caught.value.status, caught.value.code, caught.value.message) == (401, "PGRST301", message)


@pytest.mark.parametrize("claims, message", [
    ({"exp": "soon"}, "The JWT 'exp' claim must be a number"),
    ({"nbf": NOW.timestamp() + 3600}, "JWT not yet valid"),
    ({"iat": NOW.timestamp() + 3600}, "JWT issued at future"),
])
def test_invalid_claims(claims, message):
    with pytest.raises(ApiError) as caught:
        tokens.decode(tokens.encode(claims, SECRET), SECRET, NOW)
    assert (caught.value.code, caught.value.message) == ("PGRST303", message)


@pytest.mark.parametrize("sqlstate, message, anon, status", [
    ("23505", "duplicate key", False, 409), ("23503", "fk", False, 409), ("42501", "denied", True, 401),
    ("42501", "denied", False, 403), ("22P02", "bad uuid", False, 400), ("25006", "read only", False, 405),
    ("42883", "no fn", False, 404), ("22023", 'role "x" does not exist', False, 401),
    ("21000", "UPDATE requires a WHERE clause", False, 400), ("21000", "other", False, 500),
    ("P0001", "raise", False, 400), ("PT418", "teapot", False, 418), ("53300", "too many", False, 503),
    ("40001", "serialization", False, 500), ("28000", "auth", False, 403), ("23514", "check", False, 400),
])
def test_sqlstate_to_http(sqlstate, message, anon, status):
    assert status_for_sqlstate(sqlstate, message, anon) == status


def test_error_bodies():
    error = from_database("42501", "new row violates row-level security policy", None, None, anon=True)
    assert json.loads(error.body()) == {"code": "42501", "details": None, "hint": None,
                                        "message": "new row violates row-level security policy"}
    assert error.headers == {"WWW-Authenticate": "Bearer"}
    auth = AuthError(400, "invalid_credentials", "Invalid login credentials")
    assert json.loads(auth.body("2024-01-01")) == {"code": "invalid_credentials", "message": "Invalid login credentials"}
    assert json.loads(auth.body(None)) == {"code": 400, "error_code": "invalid_credentials",
                                           "msg": "Invalid login credentials"}
