"""Opaque, tamper-evident tokens: zone/database sync tokens and query continuation markers.

A token packs where a reader stands (a change-log position) and enough identity to reject it in
the wrong place (which database, which incarnation of the zone, which expiry generation), then a
keyed MAC. Clients see only base64url text: nothing ordered or guessable, as Apple requires
clients to treat tokens as opaque.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import struct

from .errors import bad_request

_LAYOUT = struct.Struct(">cIIIQq")  # kind, database, incarnation, generation, position, issued ms
_MAC_LEN = 8
KINDS = {b"z": "zone", b"d": "database", b"q": "query"}


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str          # "zone" | "database" | "query"
    database: int      # the issuing database's id
    incarnation: int   # zone incarnation (0 for database tokens)
    generation: int    # expiry generation when issued
    position: int      # change-log position (or result offset for a query marker)
    issued_ms: int     # clock time when issued


class TokenCodec:
    def __init__(self, secret: bytes):
        self._secret = secret

    def encode(self, t: Token) -> str:
        kind = next(k for k, v in KINDS.items() if v == t.kind)
        raw = _LAYOUT.pack(kind, t.database, t.incarnation, t.generation, t.position, t.issued_ms)
        mac = self._mac(raw)
        return base64.urlsafe_b64encode(self._mask(raw, mac) + mac).rstrip(b"=").decode()

    def decode(self, text: object, kind: str, what: str = "syncToken") -> Token:
        """Parse a client-supplied token; anything malformed or forged is a BAD_REQUEST."""
        if not isinstance(text, str) or not text or len(text) > 200:
            raise bad_request(f"{what} must be a non-empty string the server issued")
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise bad_request(f"{what} is not a token this server issued") from None
        mac = blob[-_MAC_LEN:]
        raw = self._mask(blob[:-_MAC_LEN], mac)
        if len(raw) != _LAYOUT.size or not hmac.compare_digest(mac, self._mac(raw)):
            raise bad_request(f"{what} is not a token this server issued")
        fields = _LAYOUT.unpack(raw)
        if KINDS.get(fields[0]) != kind:
            raise bad_request(f"{what} was issued for a {KINDS.get(fields[0], 'different')} feed, not a {kind} feed")
        return Token(kind, *fields[1:])

    def _mask(self, data: bytes, mac: bytes) -> bytes:
        """XOR with a keystream derived from the MAC: every byte of a token looks random, so
        tokens for neighbouring positions share nothing a client could read as a counter."""
        if len(data) != _LAYOUT.size:
            return data
        pad = hashlib.blake2b(mac, key=self._secret, digest_size=_LAYOUT.size).digest()
        return bytes(a ^ b for a, b in zip(data, pad))

    def _mac(self, raw: bytes) -> bytes:
        return hashlib.blake2b(raw, key=self._secret, digest_size=_MAC_LEN).digest()
