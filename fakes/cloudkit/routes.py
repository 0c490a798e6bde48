"""Which Web Services paths exist, which this fake serves, and with which model method."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    handler: str              # Database method name (or "users_caller", served by the container)
    needs_body: bool = True   # a POST without a JSON body is a BAD_REQUEST


ROUTES = {
    "records/modify": Route(("POST",), "records_modify"),
    "records/lookup": Route(("POST",), "records_lookup"),
    "records/query": Route(("POST",), "records_query"),
    "records/changes": Route(("POST",), "records_changes"),
    "changes/zone": Route(("POST",), "changes_zone"),
    "changes/database": Route(("POST",), "changes_database", needs_body=False),
    # CloudKit JS sends GET; pyicloud POSTs {}: accept both.
    "zones/list": Route(("GET", "POST"), "zones_list", needs_body=False),
    "zones/lookup": Route(("POST",), "zones_lookup"),
    "zones/modify": Route(("POST",), "zones_modify"),
    "users/caller": Route(("GET",), "users_caller", needs_body=False),
}

# Real operations this fake does not implement: they fail loudly (501), never a silent 200.
UNIMPLEMENTED = frozenset({
    "records/resolve", "assets/upload", "assets/rereference", "zones/changes",
    "subscriptions/list", "subscriptions/lookup", "subscriptions/modify",
    "users/current", "users/discover", "users/lookup/email", "users/lookup/id",
    "users/lookup/phone", "users/lookup/contacts", "tokens/create", "tokens/register",
    "records/share/accept",
})

DATABASES = ("private", "public", "shared")
# Operations allowed outside the private database (CloudKit JS asks users/caller on public).
NON_PRIVATE_OK = frozenset({"users/caller"})
