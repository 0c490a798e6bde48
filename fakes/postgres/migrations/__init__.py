"""The Supabase-shaped schema, applied once to a template database: the ordered SQL files here
(roles, auth, the server clock), then the app's tables generated from its profile
(`dualsync.apps`), then any extra files a caller gives."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

HERE = Path(__file__).parent


def sources(app=None, extra: list[Path] | tuple[Path, ...] = ()) -> list[tuple[str, str]]:
    """(name, SQL) of every migration in order, for app profile `app` (default: the case study)."""
    from dualsync.apps import load
    from dualsync.apps.sql import migration
    profile = load(app)
    return ([(p.name, p.read_text()) for p in sorted(HERE.glob("*.sql"))]
            + [(f"app_{profile.name}.sql", migration(profile))]
            + [(Path(p).name, Path(p).read_text()) for p in extra])


def fingerprint(items: list[tuple[str, str]]) -> str:
    """Names a template by its schema, so a shared server reuses a template only if it is current."""
    digest = hashlib.sha256()
    for name, text in items:
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()[:12]


def apply(conn: psycopg.Connection, items: list[tuple[str, str]]) -> None:
    """Apply every migration in order, each in its own transaction; a failure names the file."""
    for name, text in items:
        try:
            with conn.transaction():
                conn.execute(text)
        except psycopg.Error as exc:
            raise MigrationError(f"migration {name} failed: {str(exc).strip()}") from exc


class MigrationError(RuntimeError):
    pass
