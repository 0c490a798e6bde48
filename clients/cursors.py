"""Where a device keeps its pull positions (Supabase `last_pull` per table, CloudKit sync tokens).

The remediated client keeps them in the store, written in the same atomic persist as the records
they cover, so a position can never get ahead of the data it stands for. The shipped app kept them
in a separate settings file (UserDefaults) written the moment they advance: if the records from
that pull are then lost (overwritten by the other service, or a crash before the persist), the
position says they were received and they are never fetched again.
"""

from __future__ import annotations

import json
from typing import Any

from dualsync.clients.errors import StoreError
from dualsync.clients.store import LocalStore


class Cursors:
    def __init__(self, in_store: bool, settings_path: str, storage: Any):
        self.in_store = in_store
        self.settings_path = settings_path
        self.storage = storage
        self.settings: dict[str, dict[str, Any]] = {"supabase": {}, "cloudkit": {}}

    def load_settings(self) -> None:
        raw = self.storage.read(self.settings_path)
        if raw is None or self.in_store:
            return
        try:
            data = json.loads(raw)
            self.settings = {"supabase": dict(data["supabase"]), "cloudkit": dict(data["cloudkit"])}
        except (ValueError, KeyError, TypeError):
            raise StoreError(self.settings_path, "settings file is corrupt or foreign") from None

    def get(self, store: LocalStore, path: str, key: str) -> Any:
        source = store.cursors if self.in_store else self.settings
        return source.setdefault(path, {}).get(key)

    def set(self, store: LocalStore, path: str, key: str, value: Any) -> None:
        if self.in_store:
            store.cursors.setdefault(path, {})[key] = value
            return
        self.settings.setdefault(path, {})[key] = value
        self.storage.write(self.settings_path, json.dumps(self.settings, sort_keys=True).encode())
        self.storage.fsync(self.settings_path)

    def reset(self, store: LocalStore) -> None:
        store.cursors = {"supabase": {}, "cloudkit": {}}
        if not self.in_store:
            self.settings = {"supabase": {}, "cloudkit": {}}
            self.storage.write(self.settings_path, json.dumps(self.settings).encode())
