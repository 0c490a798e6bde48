"""JWT keys: what GoTrue signs with, what it publishes, what PostgREST verifies against.

A KeySet always holds the project's HS256 secret (the anon and service_role keys are HS256 JWTs
without a `kid`). With `algorithm="RS256"` or `"ES256"` it also holds one asymmetric signing key
with a `kid`: GoTrue then signs every access token with it (header `kid`), publishes its public
half at `/auth/v1/.well-known/jwks.json` (`use: sig`, `key_ops: [verify]`; the secret is never
published), and PostgREST verifies against the JWKS {secret as an `oct` key, public keys}.

Key choice follows jose (PostgREST's JWT library): a token with a `kid` is tried only against keys
with that `kid`; a token without one against every key of its algorithm's type. No key verifying
it is one error, "None of the keys was able to decode the JWT". Signing and verifying use PyJWT's
algorithm objects over `cryptography` keys.
"""

from __future__ import annotations

import dataclasses
import json
import uuid

from jwt.algorithms import ECAlgorithm, HMACAlgorithm, RSAAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ALGORITHMS = ("HS256", "RS256", "ES256")
_IMPL = {"HS256": HMACAlgorithm(HMACAlgorithm.SHA256), "RS256": RSAAlgorithm(RSAAlgorithm.SHA256),
         "ES256": ECAlgorithm(ECAlgorithm.SHA256)}


class SigningKeyError(ValueError):
    """A signing key the gateway cannot use (bad JWK file, wrong type for the algorithm)."""


@dataclasses.dataclass(frozen=True)
class Key:
    alg: str
    kid: str | None
    signer: object          # secret bytes, or a cryptography private key (None: verify only)
    verifier: object        # secret bytes, or a cryptography public key


class KeySet:
    def __init__(self, secret: str, algorithm: str = "HS256", signing_jwk: dict | None = None):
        if algorithm not in ALGORITHMS:
            raise SigningKeyError(f"JWT algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
        self.secret, self.algorithm = secret, algorithm
        hs = Key("HS256", None, secret.encode(), secret.encode())
        self.keys = [hs]
        self.signing = hs
        if algorithm != "HS256":
            self.signing = _asymmetric(algorithm, signing_jwk)
            self.keys.append(self.signing)

    # ---- GoTrue: sign and publish -----------------------------------------------------------

    def sign(self, claims: dict) -> str:
        key = self.signing
        header = {"alg": key.alg, "typ": "JWT", **({"kid": key.kid} if key.kid else {})}
        return encode_with(header, claims, key)

    def jwks(self) -> dict:
        """GoTrue's WellKnownJwks: public keys only, never the HMAC secret."""
        out = []
        for key in self.keys:
            if key.alg == "HS256":
                continue
            impl = RSAAlgorithm if key.alg == "RS256" else ECAlgorithm
            jwk = impl.to_jwk(key.verifier, as_dict=True)
            jwk.update({"kid": key.kid, "alg": key.alg, "use": "sig", "key_ops": ["verify"]})
            out.append(jwk)
        return {"keys": out}

    # ---- PostgREST / GoTrue: verify ---------------------------------------------------------

    def candidates(self, header: dict, hs_fallback: bool = False) -> list[Key]:
        """jose (PostgREST): keys of the token's algorithm, narrowed to its kid when it has one.
        GoTrue (`hs_fallback`): a kid it does not know falls back to the secret for an HS256 token."""
        alg, kid = header.get("alg"), header.get("kid")
        found = [k for k in self.keys if k.alg == alg and (kid is None or k.kid == kid)]
        if not found and hs_fallback and alg == "HS256":
            found = [self.keys[0]]
        return found

    def verify(self, header: dict, signing_input: bytes, signature: bytes, hs_fallback: bool = False) -> bool:
        for key in self.candidates(header, hs_fallback):
            try:
                if _IMPL[key.alg].verify(signing_input, key.verifier, signature):
                    return True
            except (ValueError, TypeError):
                continue
        return False


def encode_with(header: dict, claims: dict, key: Key) -> str:
    from .tokens import b64
    head = b64(json.dumps(header, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = _IMPL[key.alg].sign(f"{head}.{body}".encode(), key.signer)
    return f"{head}.{body}.{b64(signature)}"


def _asymmetric(algorithm: str, jwk: dict | None) -> Key:
    impl = RSAAlgorithm if algorithm == "RS256" else ECAlgorithm
    if jwk is None:
        private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if algorithm == "RS256"
                   else ec.generate_private_key(ec.SECP256R1()))
        kid = str(uuid.uuid4())
    else:
        if not isinstance(jwk, dict) or "d" not in jwk:
            raise SigningKeyError("the signing JWK must be a JSON object holding a private key (with \"d\")")
        try:
            private = impl.from_jwk(json.dumps(jwk))
        except Exception as exc:        # PyJWT raises InvalidKeyError and friends
            raise SigningKeyError(f"the signing JWK is not a {algorithm} private key: {exc}") from None
        kid = str(jwk.get("kid") or uuid.uuid4())
    wanted = rsa.RSAPrivateKey if algorithm == "RS256" else ec.EllipticCurvePrivateKey
    if not isinstance(private, wanted):
        raise SigningKeyError(f"the signing JWK is not a {algorithm} private key")
    if algorithm == "ES256" and private.curve.name != "secp256r1":
        raise SigningKeyError("an ES256 signing key must be on curve P-256")
    return Key(algorithm, kid, private, private.public_key())


def load_jwk_file(path) -> dict:
    """A private JWK from a file (GoTrue's GOTRUE_JWT_KEYS holds a list; its first entry is used)."""
    data = json.loads(open(path, encoding="utf-8").read())
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        data = data["keys"]
    if isinstance(data, list):
        data = next((k for k in data if isinstance(k, dict) and "d" in k), None)
    if not isinstance(data, dict):
        raise SigningKeyError("no private JWK (an object with \"d\") in the file")
    return data
