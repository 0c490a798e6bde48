"""Per-worker databases cloned from a template that holds the schema, and the reset between tests.

The template is built once per server (named by the schema's fingerprint, under an advisory lock so
concurrent runs on a shared server don't race). Each pytest-xdist worker clones its own database
from it with STRATEGY FILE_COPY (the fastest on tmpfs, see BENCHMARKS.md) and resets it between tests
with one DELETE per table the app and GoTrue write, children first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets

import psycopg
from psycopg import sql

from . import migrations
from .base import ConnInfo, ProviderError

TEMPLATE_LOCK = 0x6475616C  # "dual": serialises template builds across processes
AUTH_TABLES = ("auth.refresh_tokens", "auth.mfa_amr_claims", "auth.sessions", "auth.identities", "auth.users")
# The app's tables: whatever its profile made in `public` (and, for the gateway's control reset,
# in the other schemas it exposes), children before the tables their foreign keys reference (a
# table's depth is the longest chain of references below it), then by name.
APP_TABLES_SQL = """
with recursive t as (
  select c.oid, format('%%I.%%I', n.nspname, c.relname) as name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = any(%s)
), edge as (
  select distinct conrelid as child, confrelid as parent from pg_constraint
  where contype = 'f' and conrelid <> confrelid
    and conrelid in (select oid from t) and confrelid in (select oid from t)
), depth(oid, d) as (
  select oid, 0 from t
  union all
  select edge.parent, depth.d + 1 from depth join edge on edge.child = depth.oid where depth.d < 32
)
select t.name from t join (select oid, max(d) as d from depth group by oid) x using (oid) order by x.d, t.name
"""


def app_tables(conn, schemas=("public",)) -> list[str]:
    return [r[0] for r in conn.execute(APP_TABLES_SQL, (list(schemas),)).fetchall()]


def reset_sql(conn) -> str:
    """DELETE, not TRUNCATE: a test leaves a few rows, and deleting them costs ~1 ms where TRUNCATE's
    new relation files cost ~12 ms (BENCHMARKS.md). Children first (the app's tables, in foreign-key
    order, then GoTrue's), for the foreign keys."""
    return delete_sql(app_tables(conn))


def delete_sql(tables: list[str]) -> str:
    """One DELETE per table: the app's `tables` (in the order given: children first), then GoTrue's."""
    return "; ".join(f"delete from {t}" for t in [*tables, *AUTH_TABLES])


@dataclasses.dataclass
class Database:
    name: str
    admin: ConnInfo
    authenticator: ConnInfo
    provider: str = "embedded"

    _reset_conn: psycopg.Connection | None = dataclasses.field(default=None, repr=False, compare=False)
    _reset_sql: str = dataclasses.field(default="", repr=False, compare=False)

    def connect(self, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.admin.dsn(), autocommit=True, **kwargs)

    def reset(self) -> None:
        """Empty every table the app and auth write (~1 ms); the schema stays."""
        try:
            if self._reset_conn is None or self._reset_conn.closed:
                self._reset_conn = self.connect()
            self._reset_sql = self._reset_sql or reset_sql(self._reset_conn)
            self._reset_conn.execute(self._reset_sql)
        except psycopg.OperationalError as exc:
            self._reset_conn = None
            raise ProviderError(self.provider, f"the server went away while resetting {self.name}: {exc}",
                                hint="the server died mid-run; see its log, then re-run") from None

    def close(self) -> None:
        """Close the kept reset connection (the database stays)."""
        if self._reset_conn is not None:
            self._reset_conn.close()
            self._reset_conn = None

    def to_json(self) -> str:
        """Plain data, for another process to use this database (it is not dropped by that one)."""
        return json.dumps({"name": self.name, "admin": dataclasses.asdict(self.admin),
                           "authenticator": dataclasses.asdict(self.authenticator),
                           "provider": self.provider})

    @classmethod
    def from_json(cls, text: str) -> "Database":
        d = json.loads(text)
        return cls(d["name"], ConnInfo(**d["admin"]), ConnInfo(**d["authenticator"]), d["provider"])


def ensure_template(server: ConnInfo, extra=(), app=None) -> str:
    """The template database of `app`'s schema (default: the case study) on this server."""
    items = migrations.sources(app, extra)
    name = f"dualsync_tpl_{migrations.fingerprint(items)}"
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                build_template(conn, server, name, items)
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))
    return name


def build_template(conn: psycopg.Connection, server: ConnInfo, name: str, items) -> None:
    building = name + "_building"
    conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(building)))
    conn.execute(sql.SQL("create database {}").format(sql.Identifier(building)))
    try:
        with psycopg.connect(server.dsn(building), autocommit=True) as tconn:
            migrations.apply(tconn, items)
    except BaseException:
        # FORCE: a signal can land while the build's connection is being made, leaving its session
        # open on the server for a moment; the interruption, not the clean-up's DROP, is what surfaces.
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(building)))
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
