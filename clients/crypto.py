"""Client-side encryption of record payloads: AES-GCM, per-user keys with versions.

`KeyVault` is the user's key store in the cloud (the iCloud keychain): it holds every key version of
every user. A device holds a `Keychain` that has synced up to some version per user, so a device
can lack the newest key for a while and fail to open rows sealed with it; that is a real reason
for a row to fail to decrypt, as is a payload corrupted on the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dualsync.clients.errors import DecryptFailed, KeyUnavailable

NONCE_BYTES = 12


class KeyVault:
    """All users' keys. Keys derive from a secret and (user, version) so vaults built from the
    same seed agree; `rotate` makes a new current version for a user."""

    def __init__(self, secret: str | int = "dualsync"):
        self._secret = str(secret).encode()
        self._current: dict[str, int] = {}

    def current_version(self, user_id: str) -> int:
        return self._current.setdefault(user_id, 1)

    def rotate(self, user_id: str) -> int:
        self._current[user_id] = self.current_version(user_id) + 1
        return self._current[user_id]

    def key(self, user_id: str, version: int) -> bytes:
        if version < 1 or version > self.current_version(user_id):
            raise KeyUnavailable(f"key version {version} of user {user_id} does not exist")
        material = b"|".join([self._secret, user_id.encode(), str(version).encode()])
        return hashlib.sha256(material).digest()


class Keychain:
    """One device's copy of the keys it has synced. `lagging=True` stops it picking up new
    versions until `sync()` is called explicitly (the harness's way to make a device lack a key)."""

    def __init__(self, vault: KeyVault, lagging: bool = False):
        self.vault = vault
        self.lagging = lagging
        self._known: dict[str, int] = {}

    def sync(self, user_id: str) -> None:
        self._known[user_id] = self.vault.current_version(user_id)

    def known_version(self, user_id: str) -> int:
        if user_id not in self._known or not self.lagging:
            self.sync(user_id)
        return self._known[user_id]

    def key(self, user_id: str, version: int) -> bytes:
        if version > self.known_version(user_id):
            raise KeyUnavailable(f"this device's keychain lacks key version {version} of user {user_id}")
        return self.vault.key(user_id, version)


def seal(keychain: Keychain, user_id: str, aad: str, content: dict[str, Any], nonce: bytes | None = None) -> tuple[str, int]:
    """Encrypt `content` for a record; returns (base64 payload, key version)."""
    version = keychain.known_version(user_id)
    nonce = nonce or os.urandom(NONCE_BYTES)
    plain = json.dumps(content, sort_keys=True).encode()
    sealed = AESGCM(keychain.key(user_id, version)).encrypt(nonce, plain, aad.encode())
    return base64.b64encode(nonce + sealed).decode(), version


def open_sealed(keychain: Keychain, user_id: str, aad: str, payload: str, version: int) -> dict[str, Any]:
    """Decrypt a payload; KeyUnavailable if the key is not here yet, DecryptFailed if it is garbage."""
    if not isinstance(version, int) or not isinstance(payload, str):
        raise DecryptFailed(f"record {aad}: payload or key_version missing")
    key = keychain.key(user_id, version)
    try:
        raw = base64.b64decode(payload, validate=True)
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode())
        content = json.loads(plain)
    except (ValueError, InvalidTag) as exc:
        raise DecryptFailed(f"record {aad}: payload does not decrypt ({type(exc).__name__})") from None
    if not isinstance(content, dict):
        raise DecryptFailed(f"record {aad}: decrypted payload is not an object")
    return content
