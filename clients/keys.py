"""The users' cloud keychain as the device port offers it (`dualsync.clients.api.Keys`)."""

from __future__ import annotations

from typing import Any

from dualsync.clients.api import Opened
from dualsync.clients.codec import open_record
from dualsync.clients.crypto import Keychain, KeyVault
from dualsync.clients.errors import ClientError


class CloudKeys:
    """Every user's key versions; the harness rotates them and opens what backends store."""

    def __init__(self, seed: int | str = 0):
        self.vault = KeyVault(f"world:{seed}")

    def current(self, user_id: str) -> int:
        return self.vault.current_version(user_id)

    def rotate(self, user_id: str) -> tuple[int, int]:
        old = self.vault.current_version(user_id)
        return old, self.vault.rotate(user_id)

    def decode(self, user_id: str, record_type: str, record_id: str, payload: Any, key_version: Any) -> Opened:
        try:
            rec = open_record(Keychain(self.vault), user_id, record_type, record_id, payload, key_version)
        except ClientError:
            return Opened(undecryptable=True)
        return Opened(write_id=rec.write_id, fields=rec.fields, deleted=rec.deleted)
