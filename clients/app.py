"""The app these reference clients implement: the case-study profile (dualsync/apps/fitme.yaml).

Its record types, tables, CloudKit record types and zone come from the profile, so the clients and
the generated Supabase schema cannot drift apart.
"""

from __future__ import annotations

from dualsync.apps import load

APP = load("fitme")
ROUTES: dict[str, tuple[str, ...]] = APP.routes
ZONE = APP.zone
CONTAINER = APP.container
RECORD_TYPES = {t.name: t.cloudkit_type for t in APP.on("cloudkit")}  # type -> CloudKit record type
TABLE_OF = {v: k for k, v in RECORD_TYPES.items()}
SUPABASE_TABLES = APP.tables
