"""GoTrue behaviour behind gateway settings: anonymous sign-ins on, and RS256/ES256 access tokens
published at /.well-known/jwks.json and verified by the REST side (kid matching, as PostgREST does)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys

import httpx
import pytest
from supabase import create_client
from supabase.lib.client_options import SyncClientOptions

from dualsync.fakes.supabase.keys import KeySet, encode_with
from dualsync.fakes.supabase.serving import InProcessTransport

URL = "http://gateway.local"
V = {"X-Supabase-Api-Version": "2024-01-01"}


def part(token: str, index: int) -> dict:
    text = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def supabase_py(gateway, supabase_loop):
    http = httpx.Client(transport=InProcessTransport(gateway.app, supabase_loop), timeout=30)
    options = SyncClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http)
    return create_client(URL, gateway.config.anon_key, options)


# ---- anonymous sign-ins -------------------------------------------------------------------------

def test_anonymous_sign_in_when_enabled(make_gateway, supabase_loop):
    gateway, http = make_gateway(anonymous_sign_ins=True)
    key = {"apikey": gateway.config.anon_key, **V}
    assert http.get("/auth/v1/settings", headers=key).json()["external"]["anonymous_users"] is True
    response = http.post("/auth/v1/signup", json={"data": {"plan": "trial"}}, headers=key)
    assert response.status_code == 200, response.text
    session = response.json()
    user, claims = session["user"], part(session["access_token"], 1)
    assert user["is_anonymous"] is True and user["email"] == "" and user["phone"] == "" and user["identities"] == []
    assert user["app_metadata"] == {} and user["user_metadata"] == {"plan": "trial"} and user["role"] == "authenticated"
    assert claims["is_anonymous"] is True and claims["role"] == "authenticated" and claims["sub"] == user["id"]
    assert [a["method"] for a in claims["amr"]] == ["anonymous"]
    refreshed = http.post("/auth/v1/token?grant_type=refresh_token", json={"refresh_token": session["refresh_token"]},
                          headers=key).json()
    assert [a["method"] for a in part(refreshed["access_token"], 1)["amr"]] == ["anonymous"]
    # The anonymous user reads and writes its own rows through PostgREST.
    auth = {**key, "Authorization": f"Bearer {session['access_token']}"}
    assert http.get("/rest/v1/daily_logs?select=id", headers=auth).status_code == 200
    # Adding an email makes the user permanent at once (autoconfirm), with an email identity.
    email = f"anon-{user['id'][:8]}@example.com"
    upgraded = http.put("/auth/v1/user", json={"email": email}, headers=auth)
    assert upgraded.status_code == 200, upgraded.text
    body = upgraded.json()
    assert body["is_anonymous"] is False and body["email"] == email and body["email_confirmed_at"]
    assert [i["provider"] for i in body["identities"]] == ["email"]
    assert body["identities"][0]["identity_data"]["email_verified"] is True
    assert body["app_metadata"] == {"provider": "email", "providers": ["email"]}


def test_anonymous_user_cannot_set_a_password_alone(make_gateway):
    gateway, http = make_gateway(anonymous_sign_ins=True)
    key = {"apikey": gateway.config.anon_key, **V}
    session = http.post("/auth/v1/signup", json={}, headers=key).json()
    refused = http.put("/auth/v1/user", json={"password": "secret-123"},
                       headers={**key, "Authorization": f"Bearer {session['access_token']}"})
    assert refused.status_code == 422 and refused.json()["code"] == "validation_failed"


def test_reauthenticate_an_anonymous_user_is_refused(make_gateway):
    """GoTrue's Reauthenticate has no address to send a nonce to; a user with one gets the gateway's 501."""
    gateway, http = make_gateway(anonymous_sign_ins=True)
    key = {"apikey": gateway.config.anon_key, **V}
    assert http.get("/auth/v1/reauthenticate", headers=key).json()["code"] == "no_authorization"
    session = http.post("/auth/v1/signup", json={}, headers=key).json()
    auth = {**key, "Authorization": f"Bearer {session['access_token']}"}
    refused = http.get("/auth/v1/reauthenticate", headers=auth)
    assert refused.status_code == 400
    assert refused.json() == {"code": "validation_failed",
                              "message": "Reauthentication requires the user to have an email or a phone number"}
    assert http.post("/auth/v1/reauthenticate", headers=auth).status_code == 405
    http.put("/auth/v1/user", json={"email": f"re-{session['user']['id'][:8]}@example.com"}, headers=auth)
    sends = http.get("/auth/v1/reauthenticate", headers=auth)
    assert sends.status_code == 501 and "sends a nonce" in sends.json()["message"]


def test_sign_in_anonymously_through_supabase_py(make_gateway, supabase_loop):
    gateway, _ = make_gateway(anonymous_sign_ins=True)
    signed = supabase_py(gateway, supabase_loop).auth.sign_in_anonymously({"options": {"data": {"a": 1}}})
    assert signed.user.is_anonymous is True and signed.user.user_metadata == {"a": 1}


# ---- asymmetric keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("alg, kty", [("RS256", "RSA"), ("ES256", "EC")])
def test_asymmetric_tokens_are_published_and_verified(make_gateway, supabase_loop, alg, kty):
    gateway, http = make_gateway(jwt_algorithm=alg)
    key = {"apikey": gateway.config.anon_key, **V}
    session = http.post("/auth/v1/signup", json={"email": f"k-{alg.lower()}@example.com", "password": "secret-1"},
                        headers=key).json()
    header = part(session["access_token"], 0)
    assert header["alg"] == alg and header["kid"]
    jwks = http.get("/auth/v1/.well-known/jwks.json")
    assert jwks.status_code == 200 and jwks.headers["cache-control"] == "public, max-age=600"
    [published] = jwks.json()["keys"]
    assert published["kid"] == header["kid"] and published["kty"] == kty and published["alg"] == alg
    assert published["use"] == "sig" and published["key_ops"] == ["verify"] and "d" not in published
    auth = {**key, "Authorization": f"Bearer {session['access_token']}"}
    assert http.get("/rest/v1/daily_logs?select=id", headers=auth).status_code == 200     # PostgREST side
    assert http.get("/auth/v1/user", headers=auth).json()["id"] == session["user"]["id"]  # GoTrue side
    assert http.get("/rest/v1/daily_logs?select=id", headers=key).status_code == 200      # HS256 anon key still
    client = supabase_py(gateway, supabase_loop)
    client.auth.set_session(session["access_token"], session["refresh_token"])
    claims = client.auth.get_claims(session["access_token"])        # verified locally against the JWKS
    assert claims["claims"]["sub"] == session["user"]["id"]


def test_rest_picks_the_key_by_kid(make_gateway):
    gateway, http = make_gateway(jwt_algorithm="ES256")
    claims = {"role": "authenticated", "sub": "00000000-0000-0000-0000-000000000001", "exp": 4102444800}
    stranger = KeySet(gateway.config.jwt_secret, "ES256").signing          # a key the gateway never published
    kid = gateway.keys.signing.kid
    cases = {"unknown kid": {"alg": "ES256", "typ": "JWT", "kid": "no-such-kid"},
             "right kid, wrong key": {"alg": "ES256", "typ": "JWT", "kid": kid},
             "no kid, wrong key": {"alg": "ES256", "typ": "JWT"}}
    for name, header in cases.items():
        token = encode_with(header, claims, stranger)
        response = http.get("/rest/v1/daily_logs?select=id", headers={"apikey": gateway.config.anon_key,
                                                                      "Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
        assert response.json()["code"] == "PGRST301" and response.json()["message"] == "No suitable key or wrong key type"
        assert response.json()["details"] == "None of the keys was able to decode the JWT"
    signed = encode_with({"alg": "ES256", "typ": "JWT"}, claims, gateway.keys.signing)     # no kid: every EC key
    ok = http.get("/rest/v1/daily_logs?select=id", headers={"apikey": gateway.config.anon_key,
                                                             "Authorization": f"Bearer {signed}"})
    assert ok.status_code == 200


def test_an_unknown_kid_on_an_hs256_token(make_gateway):
    """GoTrue falls back to the secret for an HS256 token whose kid it does not know; PostgREST
    (jose) tries only keys with that kid, and the secret has none."""
    gateway, http = make_gateway()
    session = http.post("/auth/v1/signup", json={"email": "kid@example.com", "password": "secret-1"},
                        headers={"apikey": gateway.config.anon_key}).json()
    claims = part(session["access_token"], 1)
    token = encode_with({"alg": "HS256", "typ": "JWT", "kid": "legacy"}, claims, gateway.keys.signing)
    auth = {"apikey": gateway.config.anon_key, "Authorization": f"Bearer {token}"}
    assert http.get("/auth/v1/user", headers=auth).status_code == 200
    rest = http.get("/rest/v1/daily_logs?select=id", headers=auth)
    assert rest.status_code == 401 and rest.json()["code"] == "PGRST301"


def test_hs256_gateway_publishes_no_keys(make_gateway):
    _, http = make_gateway()
    assert http.get("/auth/v1/.well-known/jwks.json").json() == {"keys": []}


def test_a_given_signing_key_is_used_and_bad_ones_are_refused(make_gateway, tmp_path):
    private = KeySet("x" * 32, "ES256").jwks()["keys"][0]        # public only: not a signing key
    from jwt.algorithms import ECAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec
    jwk = json.loads(ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1())))
    jwk["kid"] = "my-key"
    gateway, http = make_gateway(jwt_algorithm="ES256", jwt_signing_jwk=jwk)
    assert http.get("/auth/v1/.well-known/jwks.json").json()["keys"][0]["kid"] == "my-key"
    for bad, why in ((private, "private key"), ({"kty": "EC", "d": "x"}, "not a ES256 private key")):
        path = tmp_path / "key.json"
        path.write_text(json.dumps(bad))
        run = subprocess.run([sys.executable, "-m", "dualsync.fakes.supabase", "--port", "0", "--jwt-algorithm",
                              "ES256", "--jwt-key", str(path)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and "--jwt-key" in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert why in run.stderr


def test_gotrue_words_token_failures_as_golang_jwt(make_gateway):
    gateway, http = make_gateway()
    key = {"apikey": gateway.config.anon_key, **V}
    session = http.post("/auth/v1/signup", json={"email": "late@example.com", "password": "secret-1"}, headers=key).json()
    gateway.clock.set(gateway.clock.now() + dt.timedelta(seconds=3601))
    expired = http.get("/auth/v1/user", headers={**key, "Authorization": f"Bearer {session['access_token']}"})
    assert expired.status_code == 403 and expired.json() == {
        "code": "bad_jwt",
        "message": "invalid JWT: unable to parse or verify signature, token has invalid claims: token is expired"}
    tampered = session["access_token"][:-4] + ("AAAA" if not session["access_token"].endswith("AAAA") else "BBBB")
    bad = http.get("/auth/v1/user", headers={**key, "Authorization": f"Bearer {tampered}"})
    assert bad.json()["message"].endswith("token signature is invalid: signature is invalid")


def test_get_user_checks_the_token_audience(make_gateway):
    gateway, http = make_gateway()
    key = {"apikey": gateway.config.anon_key, **V}
    session = http.post("/auth/v1/signup", json={"email": "aud@example.com", "password": "secret-1"}, headers=key).json()
    claims = part(session["access_token"], 1)
    for aud, status in (("authenticated", 200), (["authenticated"], 200), ("elsewhere", 400), (None, 400)):
        token = gateway.keys.sign({**claims, "aud": aud})
        response = http.get("/auth/v1/user", headers={**key, "Authorization": f"Bearer {token}"})
        assert response.status_code == status, (aud, response.text)
    assert response.json() == {"code": "validation_failed", "message": "Token audience doesn't match request audience"}


def test_standalone_switches_reach_the_gateway_config():
    from dualsync.fakes.supabase.__main__ import parse_args
    args = parse_args(["--port", "0", "--anonymous-sign-ins", "--jwt-algorithm", "RS256"])
    assert args.anonymous_sign_ins is True and args.jwt_algorithm == "RS256" and args.jwt_jwk is None
    defaults = parse_args(["--port", "0"])
    assert defaults.anonymous_sign_ins is False and defaults.jwt_algorithm == "HS256"
    with pytest.raises(SystemExit) as refused:
        parse_args(["--port", "0", "--jwt-key", "k.json"])          # a key without an asymmetric algorithm
    assert refused.value.code == 2
