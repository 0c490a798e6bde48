"""Per-worker databases cloned from a template that holds the schema, and the reset between tests.

The template is built once per server (named by the schema's fingerprint, under an advisory lock so
concurrent runs on a shared server don't race). Each pytest-xdist worker clones its own database
from it with STRATEGY FILE_COPY (the fastest on tmpfs, see BENCHMARKS.md) and resets it between tests
with one TRUNCATE of every table the app and GoTrue write.
"""

from __future__ import annotations

import dataclasses
import os
import secrets

import psycopg
from psycopg import sql

from . import migrations
from .base import ConnInfo, ProviderError

TEMPLATE_LOCK = 0x6475616C  # "dual": serialises template builds across processes
APP_TABLES = ("profiles", "daily_logs", "weekly_snapshots", "cardio_sessions", "photos")
# DELETE, not TRUNCATE: a test leaves a few rows, and deleting them costs ~1 ms where TRUNCATE's new
# relation files cost ~12 ms (BENCHMARKS.md). Children first, for the foreign keys.
WRITTEN_TABLES = [f"public.{t}" for t in APP_TABLES] + ["auth.refresh_tokens", "auth.sessions", "auth.users"]
RESET_SQL = "; ".join(f"delete from {t}" for t in WRITTEN_TABLES)


@dataclasses.dataclass
class Database:
    name: str
    admin: ConnInfo
    authenticator: ConnInfo
    provider: str = "embedded"

    _reset_conn: psycopg.Connection | None = dataclasses.field(default=None, repr=False, compare=False)

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.admin.dsn(), autocommit=True, **kwargs)

    def reset(self) -> None:
        """Empty every table the app and auth write (~1 ms); the schema stays."""
        try:
            if self._reset_conn is None or self._reset_conn.closed:
                self._reset_conn = self.connect()
            self._reset_conn.execute(RESET_SQL)
        except psycopg.OperationalError as exc:
            self._reset_conn = None
            raise ProviderError(self.provider, f"the server went away while resetting {self.name}: {exc}",
                                hint="the server died mid-run; see its log, then re-run") from None


def ensure_template(server: ConnInfo, extra=()) -> str:
    name = f"dualsync_tpl_{migrations.fingerprint(extra)}"
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                build_template(conn, server, name, extra)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    return name


def build_template(conn: psycopg.Connection, server: ConnInfo, name: str, extra) -> None:
    building = name + "_building"
    conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(building)))
    conn.execute(sql.SQL("create database {}").format(sql.Identifier(building)))
    try:
        with psycopg.connect(server.dsn(building), autocommit=True) as tconn:
            migrations.apply(tconn, extra)
    except BaseException:
        conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(building)))
        raise
    # Rename only once complete, so a crashed build never leaves a half-migrated template behind.
    conn.execute(sql.SQL("alter database {} rename to {}").format(sql.Identifier(building), sql.Identifier(name)))
    conn.execute(sql.SQL("alter database {} is_template true").format(sql.Identifier(name)))


def authenticator_login(server: ConnInfo) -> ConnInfo:
    """A login as Supabase's `authenticator` role, the one the gateway connects as.

    Its password is DUALSYNC_AUTHENTICATOR_PASSWORD or the admin's (a `supabase start` stack uses
    one password for both). We set it only when that login fails, so a shared server's other users
    (a real PostgREST, another run) keep working.
    """
    password = os.environ.get("DUALSYNC_AUTHENTICATOR_PASSWORD") or server.password
    login = dataclasses.replace(server, user="authenticator", password=password)
    try:
        psycopg.connect(login.dsn(), connect_timeout=5).close()
        return login
    except psycopg.OperationalError:
        pass
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("alter role authenticator with login password {}").format(sql.Literal(password)))
    return login


def clone(admin: psycopg.Connection, server: ConnInfo, authenticator: ConnInfo, template: str, label: str,
          provider: str = "embedded") -> Database:
    """A fresh database from the template, over the caller's kept admin connection (a new
    connection costs as much as the clone itself)."""
    name = f"dualsync_{label}_{os.getpid()}_{secrets.token_hex(2)}"
    admin.execute(sql.SQL("create database {} template {} strategy file_copy").format(
        sql.Identifier(name), sql.Identifier(template)))
    return Database(name, server.with_db(name), authenticator.with_db(name), provider)


def drop(admin: psycopg.Connection, db: Database) -> None:
    if db._reset_conn is not None:
        db._reset_conn.close()
    admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db.name)))
