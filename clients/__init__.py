"""The reference clients: `make(name, **kwargs)` builds one device, `catalogue()` lists them all."""

from __future__ import annotations

from typing import Any

from dualsync.clients.catalogue import VARIANTS, variant
from dualsync.clients.device import ReferenceClient
from dualsync.clients.keys import CloudKeys
from dualsync.clients.storage import FaultyStorage


def make(name: str, **kwargs: Any) -> ReferenceClient:
    """Build a device running client `name` (legacy | coordinated | mutant:<name>).

    Required: device name (`device=`), `http` (the harness's httpx.AsyncClient) and `store_path`.
    Optional: clock, hooks, storage, key_vault / keychain, seed, supabase_url / supabase_key,
    cloudkit_container / cloudkit_environment / cloudkit_api_token, cloudkit_web_auth_token or
    cloudkit_sign_in (email -> token, may be async), page_size, results_limit.
    """
    chosen = variant(name)
    device = kwargs.pop("device", None) or kwargs.pop("name", None)
    if not device:
        raise TypeError("dualsync.clients.make needs device='<device name>'")
    keys = kwargs.pop("keys", None)
    if keys is not None:  # built by the harness through the device port
        kwargs.setdefault("key_vault", keys.vault)
        kwargs.setdefault("storage", FaultyStorage())
    return ReferenceClient(name=device, behaviour=chosen.behaviour, variant=chosen.name, **kwargs)


async def create(name: str, **kwargs: Any) -> ReferenceClient:
    """The same as `make`, as an awaitable factory (clients.api.ClientFactory)."""
    return make(name, **kwargs)


def keys(seed: int | str = 0) -> CloudKeys:
    """The users' cloud keychain a World's devices share (the device port's `Keys`)."""
    return CloudKeys(seed)


def findings():
    """The case study's findings as these clients carry them (hunts read it)."""
    from dualsync.clients.findings import CaseStudyFindings
    return CaseStudyFindings()


def catalogue() -> list[tuple[str, str, str | None]]:
    """(name, description, expected_invariant) of every selectable client."""
    return [(v.name, v.description, v.expected_invariant) for v in VARIANTS]


__all__ = ["make", "create", "catalogue", "keys", "ReferenceClient"]
