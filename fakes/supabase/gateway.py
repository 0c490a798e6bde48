"""The gateway's state: configuration, connections, schema cache, clock, control plane and hooks.

    gw = Gateway(GatewayConfig(rest_dsn=db.authenticator.dsn(), admin_dsn=db.admin.dsn()), clock=world.now)
    gw.before_commit = conductor.before_commit        # async (RequestInfo) -> None
    app = gw.app                                      # ASGI: /rest/v1, /auth/v1, /__dualsync
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Awaitable, Callable

import psycopg

from . import dbconfig, embed, routines
from . import schema as schema_cache
from . import tokens
from .control import Control, ServerClock
from .db import (BeforeCommit, PlanReply, Pools, RequestContext, RequestInfo, claims_json, database_error,
                 explain_statement, run_explain, run_transaction)
from .errors import ApiError, not_found_table
from .gotrue import GoTrue
from .gotrue_admin import Admin
from .keys import ALGORITHMS, KeySet
from .shapes import StatementCache
from .sqlgen import Statement


log = logging.getLogger(__name__)

# undefined column / function / table, cached plan changed: the schema moved under the cache.
STALE_SCHEMA = {"42703", "42883", "42P01", "0A000"}


@dataclasses.dataclass
class GatewayConfig:
    rest_dsn: str                       # a login as `authenticator`
    admin_dsn: str | None = None        # a superuser: GoTrue's tables and reset
    jwt_secret: str = tokens.DEFAULT_SECRET
    # PostgREST's db-schemas (the first is the default; Accept-Profile / Content-Profile pick another)
    # and db-extra-search-path as the Supabase CLI sets it; pgrst.db_schemas in the database overrides.
    schemas: tuple[str, ...] | str = ("public",)
    extra_search_path: tuple[str, ...] = ("public", "extensions")
    apikey_profile: str = "hosted"      # "hosted": apikey required (Kong key-auth); "cli": not checked
    max_rows: int | None = 1000         # PGRST_DB_MAX_ROWS as the Supabase CLI sets it
    max_body_bytes: int = 8 * 1024 * 1024
    pool_size: int = 4
    jwt_algorithm: str = "HS256"        # GoTrue's signing key: HS256 (the secret), RS256 or ES256 (JWKS)
    jwt_signing_jwk: dict | None = None # the RS256/ES256 private JWK; None: one is generated at start
    anonymous_sign_ins: bool = False    # GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED (the CLI default: off)
    site_url: str = "http://127.0.0.1:3000"     # GOTRUE_SITE_URL: where links redirect by default
    db_tx_end: str = "commit"           # PGRST_DB_TX_END (Supabase: commit); pgrst.db_tx_end in the database wins

    def __post_init__(self):
        if isinstance(self.schemas, str):
            self.schemas = tuple(s.strip() for s in self.schemas.split(","))
        self.schemas = tuple(self.schemas)
        if not self.schemas or not all(isinstance(s, str) and s and "\x00" not in s for s in self.schemas):
            raise ValueError(f"schemas {self.schemas!r}: give one or more schema names, e.g. ('public', 'personal')")
        if self.apikey_profile not in ("hosted", "cli"):
            raise ValueError(f"apikey_profile {self.apikey_profile!r}: use 'hosted' or 'cli'")
        if self.jwt_algorithm not in ALGORITHMS:
            raise ValueError(f"jwt_algorithm {self.jwt_algorithm!r}: use one of {', '.join(ALGORITHMS)}")
        if self.db_tx_end not in dbconfig.TX_END:
            raise ValueError(f"db_tx_end {self.db_tx_end!r}: use one of {', '.join(dbconfig.TX_END)}")
        if len(self.jwt_secret) < 32:
            raise ValueError("jwt_secret must be at least 32 characters (PostgREST v13+ refuses shorter ones)")

    @property
    def anon_key(self) -> str:
        return tokens.api_key("anon", self.jwt_secret)

    @property
    def service_key(self) -> str:
        return tokens.api_key("service_role", self.jwt_secret)


class Gateway:
    def __init__(self, config: GatewayConfig, *, clock: Callable | None = None,
                 reset_database: Callable[[], Awaitable[None]] | None = None):
        self.config = config
        self.clock = ServerClock(clock)
        self.control = Control(self.clock, reset_database or self._reset_database)
        self.before_commit: BeforeCommit | None = None
        self.rest_pools = Pools(config.rest_dsn, config.pool_size, on_connect=self._listen)
        self.admin_pools = Pools(config.admin_dsn or config.rest_dsn, 2)
        self.keys = KeySet(config.jwt_secret, config.jwt_algorithm, config.jwt_signing_jwk)
        self.auth = GoTrue(self.admin_pools, self.keys, self.clock, anonymous_sign_ins=config.anonymous_sign_ins,
                           site_url=config.site_url)
        self.auth_admin = Admin(self.auth)
        self.cache: schema_cache.Catalog | None = None     # every exposed schema's; None: read on next use
        self.statements = StatementCache()     # generated SQL per request shape; cleared with the cache
        self.db_config: dbconfig.DbConfig | None = None     # PostgREST's in-database configuration
        self.db_config_error: str | None = None             # why the last re-read was refused
        self._db_config_stale = False
        self._timezones: frozenset[str] | None = None
        self._seq = itertools.count(1)
        from .app import build_app      # the routes in front of this gateway
        self.app = build_app(self)

    # ---- schema cache ----------------------------------------------------------------------

    async def _listen(self, conn) -> None:
        """Every REST connection listens on `pgrst`, as PostgREST does: `NOTIFY pgrst, 'reload schema'`
        (seen on the next statement any connection runs) drops the cache."""
        conn.add_notify_handler(self._on_notify)
        await conn.execute("LISTEN pgrst")

    def _on_notify(self, notify) -> None:
        if notify.payload in ("", "reload schema", "reload config"):    # config: pgrst.db_schemas, ...
            self.drop_schema_cache()
        if notify.payload == "reload config":
            self._db_config_stale = True

    def drop_schema_cache(self) -> None:
        """The next request reads the catalog again; no statement composed from the old cache is reused."""
        self.cache = None
        self.statements.clear()

    async def in_db_config(self) -> dbconfig.DbConfig:
        """PostgREST's in-database configuration (dbconfig.py), read on first use and again after
        `NOTIFY pgrst, 'reload config'`. A re-read with an invalid value keeps the previous
        configuration, as PostgREST does ("Failed reloading config: ..."); with no valid one yet (where
        PostgREST would not have started) every request answers 500 naming the setting."""
        if self.db_config is not None and not self._db_config_stale:
            return self.db_config
        self._db_config_stale = False
        async with self.rest_pools.borrow() as conn:
            settings = await dbconfig.read(conn)
        try:
            self.db_config, self.db_config_error = dbconfig.parse(settings, self.config.db_tx_end), None
        except dbconfig.ConfigError as exc:
            self.db_config_error = f"Failed reloading config: {exc}"
            if self.db_config is None:
                raise ApiError(500, "DUALSYNC500", f"pgrst.db_tx_end = {settings.get('db_tx_end')!r}: {exc}", None,
                               "PostgREST does not start with this setting: use commit, commit-allow-override, "
                               "rollback or rollback-allow-override, then NOTIFY pgrst, 'reload config'.") from None
            log.warning("%s (pgrst.db_tx_end = %r; the previous configuration stays)", self.db_config_error,
                        settings.get("db_tx_end"))
        return self.db_config

    async def reload_schema(self) -> schema_cache.Catalog:
        """Read every exposed schema again; 503 PGRST002 while one of them does not exist (v14 keeps no
        cache then and answers every request so; here each request tries again, so creating the schema
        or fixing pgrst.db_schemas is seen at once, where v14 retries with a backoff or on NOTIFY)."""
        async with self.rest_pools.borrow() as conn:
            try:
                self.cache = await schema_cache.load_all(conn, self.config.schemas, self.config.extra_search_path)
            except schema_cache.SchemaCacheUnavailable:
                self.drop_schema_cache()
                raise ApiError(503, "PGRST002", "Could not query the database for the schema cache. Retrying.") from None
        self.statements.clear()
        return self.cache

    async def catalog(self) -> schema_cache.Catalog:
        return self.cache or await self.reload_schema()

    async def _catalog_has(self, query: str, *params) -> bool:
        """One cheap catalog probe, so a miss reloads the cache only when the DDL really changed."""
        async with self.rest_pools.borrow() as conn:
            try:
                return bool(await (await conn.execute(query, params)).fetchone())
            except psycopg.DataError:
                return False            # a name PostgreSQL cannot even hold (NUL byte): it exists nowhere

    async def table(self, name: str, columns: list[str] = (), schema: str | None = None) -> schema_cache.Table:
        """A table or view of `schema` (the request's; None: the default one), PGRST205 when none."""
        cache = (await self.catalog()).of(schema)
        schema = cache.schema
        if name not in cache.tables and await self._catalog_has(schema_cache.HAS_RELATION, schema, name):
            cache = (await self.reload_schema()).of(schema)     # created since the last load
        if name not in cache.tables:
            raise not_found_table(schema, name, cache.suggest_table(name))
        missing = [c for c in columns if c not in cache.tables[name].columns]
        if missing and await self._catalog_has(schema_cache.HAS_COLUMN, schema, name, missing):
            cache = (await self.reload_schema()).of(schema)
            if name not in cache.tables:
                raise not_found_table(schema, name, cache.suggest_table(name))
        return cache.tables[name]

    async def function(self, lookup: routines.Lookup, schema: str | None = None) -> schema_cache.Function:
        """The function an /rpc request calls in `schema` (PGRST202/203 as PostgREST); the cache reloads
        once when the catalog's functions of that name are not the ones it saw (created, dropped, re-created)."""
        cache = (await self.catalog()).of(schema)
        try:
            return routines.find(cache.functions, cache.schema, lookup)
        except ApiError as exc:
            if exc.code != "PGRST202" or not await self._functions_changed(cache, lookup.name):
                raise
        cache = (await self.reload_schema()).of(cache.schema)
        return routines.find(cache.functions, cache.schema, lookup)

    async def _functions_changed(self, cache: schema_cache.SchemaCache, name: str) -> bool:
        async with self.rest_pools.borrow() as conn:
            try:
                row = await (await conn.execute(schema_cache.FUNCTION_VERSION, (cache.schema, name))).fetchone()
                return tuple(row) != cache.function_versions.get(name, (0, 0))
            except psycopg.DataError:
                return False            # a name PostgreSQL cannot even hold (NUL byte): it exists nowhere

    async def refuse_aggregates(self, select: list) -> None:
        """`col.sum()`, `count()`: PGRST123 unless the database turns PostgREST's aggregates on
        (`alter role authenticator set pgrst.db_aggregates_enabled = 'true'`; off by default)."""
        from .grammar import aggregates_in
        if not aggregates_in(select):
            return
        if not (await self.catalog()).aggregates_enabled:
            raise ApiError(400, "PGRST123", "Use of aggregate functions is not allowed")

    async def embed_plan(self, root_name: str, root_table: schema_cache.Table, select: list, nested: list,
                         order: list = ()) -> embed.Node | None:
        """The embedding tree of a request (None without embeds), within the root table's schema (v14
        finds relationships inside the request's schema only). A relationship the cache does not know
        reloads it once when the catalog moved since it was read (DDL without NOTIFY)."""
        if not embed.has_embeds(select, nested, order):
            return None
        cache = (await self.catalog()).of(root_table.schema)
        try:
            return embed.plan(cache, root_name, root_table, select, nested, order)
        except ApiError as exc:
            if exc.code not in ("PGRST200", "PGRST201") or not await self._catalog_moved(cache):
                raise
        cache = (await self.reload_schema()).of(root_table.schema)
        return embed.plan(cache, root_name, cache.tables.get(root_name, root_table), select, nested, order)

    async def _catalog_moved(self, cache: schema_cache.SchemaCache) -> bool:
        async with self.rest_pools.borrow() as conn:
            return tuple(await (await conn.execute(schema_cache.CATALOG_FINGERPRINT)).fetchone()) != cache.fingerprint

    async def plan_enabled(self) -> bool:
        """PostgREST's db-plan-enabled, set in the database as Supabase documents it
        (`alter role authenticator set pgrst.db_plan_enabled = 'true'`); off by default."""
        return await self._catalog_has(schema_cache.PLAN_ENABLED_SQL)

    async def media_handler_exists(self, names: list[str]) -> bool:
        """A domain named as a media type (`create domain "text/html" ...`): a v14 custom media handler."""
        return await self._catalog_has("select 1 from pg_type where typtype = 'd' and lower(typname) = any(%s)",
                                       names)

    async def timezones(self) -> frozenset[str]:
        """pg_timezone_names, read once (PostgREST keeps them in its schema cache): the zones `Prefer:
        timezone=` may name."""
        if self._timezones is None:
            async with self.rest_pools.borrow() as conn:
                rows = await (await conn.execute("select name from pg_timezone_names")).fetchall()
            self._timezones = frozenset(r[0] for r in rows)
        return self._timezones

    # ---- one request, one transaction ------------------------------------------------------

    async def execute(self, ctx: RequestContext, operation: str, target: str, statement: Statement, *,
                      read_only: bool, check: Callable[[tuple], None], explain: Statement | None = None) -> tuple:
        info = RequestInfo(next(self._seq), ctx.method, ctx.path, ctx.query, operation, target, ctx.role,
                           ctx.claims.get("sub") if isinstance(ctx.claims.get("sub"), str) else None,
                           rollback=ctx.rollback)
        now = self.clock.now().isoformat() if self.clock.injected else ""
        setup = (ctx.search_path, ctx.role, claims_json(ctx.claims), ctx.method, ctx.pgrst_path, ctx.headers,
                 ctx.cookies, ctx.timezone, now)
        if ctx.plan is not None:
            await self._explain(ctx, statement, setup, read_only)
        async with self.rest_pools.borrow() as conn:
            try:
                return await run_transaction(conn, read_only=read_only, setup=setup, statement=statement,
                                             check=check, before_commit=self._hook(info), explain=explain,
                                             after=ctx.response, rollback=ctx.rollback)
            except (psycopg.Error, UnicodeEncodeError) as exc:
                if getattr(exc, "sqlstate", None) in STALE_SCHEMA:
                    self.drop_schema_cache()    # DDL the cache has not seen: the next request reloads it
                raise database_error(exc, anon=ctx.role == "anon") from None

    async def _explain(self, ctx: RequestContext, statement: Statement, setup: tuple, read_only: bool) -> None:
        """The plan media type: the query's EXPLAIN is the reply (raised as PlanReply). With ANALYZE
        the query runs, and a write commits unless the transaction ends in a rollback (db-tx-end,
        Prefer: tx=rollback), as PostgREST's plan replies do."""
        plan = ctx.plan
        wrapped = explain_statement(statement, plan.plan_format, plan.plan_options)
        async with self.rest_pools.borrow() as conn:
            try:
                text = await run_explain(conn, read_only=read_only, setup=setup, statement=wrapped,
                                         rollback=ctx.rollback)
            except (psycopg.Error, UnicodeEncodeError) as exc:
                raise database_error(exc, anon=ctx.role == "anon") from None
        raise PlanReply(text, plan.content_type)

    def _hook(self, info: RequestInfo) -> Callable[[tuple], Awaitable[None]]:
        async def before_commit(row: tuple) -> None:
            info.rows = row[0]
            if self.control.take_fault(info.method, info.path, ("hold",)):
                await self.control.hold(info)
            if self.before_commit is not None:
                await self.before_commit(info)
        return before_commit

    async def read_limited(self, request) -> bytes:
        body = await request.body()
        if len(body) > self.config.max_body_bytes:
            raise ApiError(413, "PGRST413", "Request size limit exceeded",
                           f"The body has {len(body)} bytes; this gateway accepts {self.config.max_body_bytes}.")
        return body

    # ---- control-plane operations that touch the database ----------------------------------

    async def _reset_database(self) -> None:
        """The app's tables in `public` and in every exposed schema (children first), then GoTrue's."""
        from dualsync.fakes.postgres.database import APP_TABLES_SQL, delete_sql
        schemas = list(dict.fromkeys(("public", *(self.cache.schemas if self.cache else self.config.schemas))))
        async with self.admin_pools.borrow() as conn:
            tables = [r[0] for r in await (await conn.execute(APP_TABLES_SQL, (schemas,))).fetchall()]
            await conn.execute(delete_sql(tables))

    async def aclose(self) -> None:
        await self.rest_pools.close_current()
        await self.admin_pools.close_current()

    def close(self) -> None:
        """Drop every connection from outside any loop (end of a test session)."""
        self.rest_pools.abandon_all()
        self.admin_pools.abandon_all()
