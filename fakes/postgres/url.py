"""An existing PostgreSQL server given by a DSN (for example the one of a `supabase start` stack).

We never start or stop that server; `stop()` only forgets it. Databases we create on it are dropped
by their owners (see database.py).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg

from .base import ConnInfo, ProviderError


def parse_dsn(dsn: str) -> ConnInfo:
    try:
        parts = urlsplit(dsn)
        port = parts.port or 5432
    except ValueError as exc:
        raise ProviderError("url", f"malformed DSN {dsn!r}: {exc}",
                            hint="use postgresql://USER:PASSWORD@HOST:PORT/DBNAME") from None
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ProviderError("url", f"malformed DSN {redact(dsn)!r}: expected postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
                            hint="for a local supabase stack: postgresql://postgres:postgres@127.0.0.1:54322/postgres")
    return ConnInfo(parts.hostname, port, unquote(parts.username or "postgres"),
                    unquote(parts.password or ""), unquote(parts.path.lstrip("/")) or "postgres")


def redact(dsn: str) -> str:
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable DSN>"
    if parts.password:
        return dsn.replace(":" + parts.password + "@", ":***@", 1)
    return dsn


class UrlProvider:
    name = "url"

    def __init__(self, dsn: str):
        self.info = parse_dsn(dsn)

    def start(self) -> ConnInfo:
        try:
            with psycopg.connect(self.info.dsn(), connect_timeout=5, autocommit=True) as conn:
                conn.execute("select 1")
        except psycopg.Error as exc:
            raise ProviderError("url", f"cannot connect to {self.info.redacted()}: {str(exc).strip()}",
                                hint="check the server is up and the DSN's host, port, user and password") from None
        return self.info

    def stop(self) -> None:
        pass

    def log_tail(self, lines: int = 20) -> str:
        return ""
