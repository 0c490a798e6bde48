"""A second client suite: a small notes app (`apps/notes.yaml`) that shares no code with the
reference clients. It exists to show that the harness drives any app through the device port:
another profile (two tables, plaintext rows, text ids, another zone), another client.

    load_suite("dualsync.clients.notes").make("careful", device="A", http=..., ...)

Variants: `naive` lets a pulled version replace a local edit still waiting for upload (the last
arrival wins: the class of bug DEEP-SYNC-003 is); `careful` keeps a pending edit that ranks after
the pulled version and uploads it over it (record-level last writer wins by the device's stamp).
"""

from __future__ import annotations

from typing import Any

from dualsync.clients.api import Opened, ResolutionPolicy
from dualsync.clients.notes.device import NotesDevice

VARIANTS: dict[str, tuple[str, str | None, ResolutionPolicy]] = {
    "naive": ("a pull replaces a note whose edit is still waiting for upload: the last arrival wins "
              "and the pending edit is lost", "no-lost-write",
              ResolutionPolicy(order="arrival", granularity="record", respects_needs_sync=False)),
    "careful": ("pending edits survive a pull and are uploaded over it; record-level last writer wins "
                "by the device's hybrid-logical stamp, carried in each version's rev", None,
                ResolutionPolicy(order="client_modified_at", granularity="record", respects_needs_sync=True,
                                 stamps="hybrid_logical")),
}


def catalogue() -> list[tuple[str, str, str | None]]:
    return [(name, description, invariant) for name, (description, invariant, _p) in VARIANTS.items()]


class PlainKeys:
    """Notes are stored in plaintext: there are no keys. The harness reads plain rows and records
    itself (the profile's envelope is `plain`), so `decode` is never needed."""

    def current(self, user_id: str) -> int:
        return 1

    def rotate(self, user_id: str) -> tuple[int, int]:
        raise NotImplementedError("the notes app stores plaintext: there is no key to rotate")

    def decode(self, user_id: str, record_type: str, record_id: str, payload: Any,
               key_version: Any) -> Opened:
        return Opened(undecryptable=True)


def keys(seed: int | str = 0) -> PlainKeys:
    return PlainKeys()


def make(name: str, *, device: str, http: Any, store_path: str, clock: Any, hooks: Any = None,
         supabase_url: str, supabase_key: str, cloudkit_api_token: str, cloudkit_sign_in: Any = None,
         keys: Any = None, seed: int = 0) -> NotesDevice:
    """A device running notes client `name` (naive | careful). `keys` and `seed` are accepted and
    unused: nothing here is sealed or random."""
    if name not in VARIANTS:
        raise ValueError(f"unknown notes client {name!r}; choose one of: {', '.join(VARIANTS)}")
    _description, _invariant, policy = VARIANTS[name]
    return NotesDevice(variant=name, careful=name == "careful", policy=policy, device=device, http=http,
                       store_path=store_path, clock=clock, hooks=hooks, supabase_url=supabase_url,
                       supabase_key=supabase_key, cloudkit_api_token=cloudkit_api_token,
                       cloudkit_sign_in=cloudkit_sign_in)


__all__ = ["VARIANTS", "NotesDevice", "PlainKeys", "catalogue", "keys", "make"]
