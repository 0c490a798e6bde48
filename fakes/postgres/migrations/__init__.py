"""The Supabase-shaped schema, as ordered SQL files applied once to a template database."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

HERE = Path(__file__).parent


def files(extra: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    return sorted(HERE.glob("*.sql")) + [Path(p) for p in extra]


def fingerprint(extra: list[Path] | tuple[Path, ...] = ()) -> str:
    """Names a template by its schema, so a shared server reuses a template only if it is current."""
    digest = hashlib.sha256()
    for path in files(extra):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def apply(conn: psycopg.Connection, extra: list[Path] | tuple[Path, ...] = ()) -> None:
    """Apply every migration in order, each in its own transaction; a failure names the file."""
    for path in files(extra):
        try:
            with conn.transaction():
                conn.execute(path.read_text())
        except psycopg.Error as exc:
            raise MigrationError(f"migration {path.name} failed: {str(exc).strip()}") from exc


class MigrationError(RuntimeError):
    pass
