"""The schema cache: tables, columns, keys and functions of the exposed schemas, read from the catalog.

PostgREST keeps such a cache and reloads it on `NOTIFY pgrst, 'reload schema'`. The gateway reloads
it whenever a request names a table, column or function the cache does not know (and on the NOTIFY
when a listener is running), so DDL run while the gateway serves is picked up without a restart.
"""

from __future__ import annotations

import dataclasses
import difflib

from . import relationships

_TABLES_SQL = """
select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.atthasdef or a.attidentity <> ''
       or a.attgenerated <> '', not a.attnotnull, c.relkind,
       coalesce((select array_agg(k.attname order by array_position(i.indkey, k.attnum))
                 from pg_index i join pg_attribute k on k.attrelid = i.indrelid and k.attnum = any(i.indkey)
                 where i.indrelid = c.oid and i.indisprimary), '{}'),
       case when t.typbasetype <> 0 and ad.adbin is null then pg_get_expr(t.typdefaultbin, 0)
            when a.attidentity = 'd' then (select format('nextval(%%L)', d.objid::regclass) from pg_depend d
                                           where d.refobjid = a.attrelid and d.refobjsubid = a.attnum
                                             and d.deptype = 'i' limit 1)
            when a.attgenerated = 's' then null
            else pg_get_expr(ad.adbin, ad.adrelid) end
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_type t on t.oid = a.atttypid
left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'f', 'p')
order by c.relname, a.attnum
"""

_UNIQUES_SQL = """
select c.relname, array_agg(k.attname order by k.attname)
from pg_index i
join pg_class c on c.oid = i.indrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute k on k.attrelid = i.indrelid and k.attnum = any(i.indkey)
where n.nspname = %s and i.indisunique and i.indpred is null
group by c.relname, i.indexrelid
"""

_FUNCTIONS_SQL = """
select p.proname, coalesce(p.proargnames, '{}'), coalesce(p.proargmodes::text[], '{}'),
       array(select format_type(t, null) from unnest(p.proallargtypes) t),
       array(select format_type(t, null) from unnest(p.proargtypes::oid[]) t),
       p.pronargdefaults, p.proretset, format_type(p.prorettype, null), p.provolatile,
       p.prorettype = 'void'::regtype,
       coalesce(b.typtype, t.typtype) = 'c' or coalesce(p.proargmodes::text[] && '{t,b,o}', false),
       p.oid::int8
from pg_proc p join pg_type t on t.oid = p.prorettype join pg_namespace n on n.oid = p.pronamespace
left join pg_type b on t.typtype = 'd' and b.oid = t.typbasetype
where n.nspname = %s and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
"""

HAS_RELATION = "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relname = %s"
HAS_COLUMN = ("select 1 from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
              "where n.nspname = %s and c.relname = %s and a.attname = any(%s) and a.attnum > 0 and not a.attisdropped")
# PostgREST's in-database configuration (its queryDbSettings): the authenticator's `pgrst.*` role
# settings, the database-specific one first (`alter role authenticator [in database d] set pgrst.x = ...`).
DB_SETTINGS_SQL = """
select distinct on (k) k, v from (
  select r.setdatabase, substr(s, 7, strpos(s, '=') - 7) k, substr(s, strpos(s, '=') + 1) v
  from pg_db_role_setting r, unnest(r.setconfig) s
  where r.setrole = (select oid from pg_roles where rolname = current_user)
    and r.setdatabase in (0, (select oid from pg_database where datname = current_database()))
    and s like 'pgrst.%%=%%') settings
order by k, setdatabase desc
"""

# A row when the authenticator's settings turn PostgREST's plan media type on (pgrst.db_plan_enabled).
PLAN_ENABLED_SQL = """
select 1 from pg_db_role_setting r, unnest(r.setconfig) s
where r.setrole = (select oid from pg_roles where rolname = current_user)
  and r.setdatabase in (0, (select oid from pg_database where datname = current_database()))
  and lower(s) in ('pgrst.db_plan_enabled=true', 'pgrst.db_plan_enabled=on', 'pgrst.db_plan_enabled=1')
"""

# Changes whenever a relationship may have appeared (an FK, a view, a function, a relation).
CATALOG_FINGERPRINT = ("select (select count(*) from pg_constraint where contype = 'f'), "
                       "(select coalesce(max(oid::int8), 0) from pg_constraint), (select count(*) from pg_rewrite), "
                       "(select coalesce(max(oid::int8), 0) from pg_proc), (select coalesce(max(oid::int8), 0) from pg_class)")
# How many functions of a name there are, and which (a drop and re-create changes the oids).
FUNCTION_VERSION = ("select count(*), coalesce(sum(p.oid::int8), 0) from pg_proc p join pg_namespace n "
                    "on n.oid = p.pronamespace where n.nspname = %s and p.proname = %s and p.prokind = 'f' "
                    "and p.prorettype <> 'trigger'::regtype")


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str
    has_default: bool
    nullable: bool
    default: str | None = None      # the default as SQL (PostgREST's column_default), for missing=default


@dataclasses.dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, Column]
    primary_key: tuple[str, ...]
    unique_sets: list[frozenset[str]] = dataclasses.field(default_factory=list)
    insertable: bool = True


@dataclasses.dataclass(frozen=True)
class Argument:
    name: str               # "" when unnamed
    type: str
    has_default: bool
    variadic: bool = False

    @property
    def call_type(self) -> str:
        """The type an argument is read as: PostgREST widens char(n)/bit(n) so the value is not cut."""
        return _WIDENED.get(self.type, self.type)


_WIDENED = {"bit": "bit varying", "bit[]": "bit varying[]", "character": "character varying",
            "character[]": "character varying[]"}
# A single unnamed parameter of these types can be called (with the request body); PostgREST leaves
# every other function with an unnamed parameter out of its schema cache.
UNNAMED_CALLABLE = ("bytea", "json", "jsonb", "text", "xml")


@dataclasses.dataclass(frozen=True)
class Function:
    schema: str
    name: str
    arguments: tuple[Argument, ...]
    returns_set: bool
    return_type: str
    volatile: bool
    returns_void: bool
    returns_composite: bool = True

    @property
    def returns_single(self) -> bool:
        return not self.returns_set

    @property
    def returns_scalar(self) -> bool:
        return not self.returns_composite

    def sort_key(self) -> tuple:
        """PostgREST's order for overloads: fewest parameters first, then by the parameters."""
        return len(self.arguments), [(a.name, a.type, a.call_type, not a.has_default, a.variadic)
                                     for a in self.arguments]

    def signature(self) -> str:
        """`schema.name(a => integer, b => text)`, as PGRST203 lists candidates."""
        params = ", ".join(f"{a.name} => {a.type}" for a in self.arguments)
        return f"{self.schema}.{self.name}({params})"


@dataclasses.dataclass
class SchemaCache:
    schema: str
    tables: dict[str, Table]
    functions: dict[str, list[Function]]
    relationships: dict = dataclasses.field(default_factory=dict)   # origin -> [relationships.Relationship]
    fingerprint: tuple = ()
    function_versions: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)  # FUNCTION_VERSION
    aggregates_enabled: bool = False

    def suggest_table(self, name: str) -> str | None:
        found = difflib.get_close_matches(name, list(self.tables), n=1, cutoff=0.75)
        return found[0] if found else None


async def load(conn, schema: str, settings: dict | None = None) -> SchemaCache:
    tables: dict[str, Table] = {}
    cur = await conn.execute(_TABLES_SQL, (schema,))
    for relname, attname, typ, has_default, nullable, relkind, pk, default in await cur.fetchall():
        table = tables.setdefault(relname, Table(schema, relname, {}, tuple(pk), insertable=relkind != "m"))
        table.columns[attname] = Column(attname, typ, bool(has_default), bool(nullable), default)
    cur = await conn.execute(_UNIQUES_SQL, (schema,))
    for relname, cols in await cur.fetchall():
        if relname in tables:
            tables[relname].unique_sets.append(frozenset(cols))
    cur = await conn.execute(_FUNCTIONS_SQL, (schema,))
    functions: dict[str, list[Function]] = {}
    versions: dict[str, tuple[int, int]] = {}
    for *row, oid in await cur.fetchall():
        count, oids = versions.get(row[0], (0, 0))
        versions[row[0]] = (count + 1, oids + oid)
        function = _function(schema, *row)
        if _callable(function):
            functions.setdefault(row[0], []).append(function)
    for overloads in functions.values():
        overloads.sort(key=Function.sort_key)
    rels = await relationships.load(conn, schema, tables)
    fingerprint = tuple(await (await conn.execute(CATALOG_FINGERPRINT)).fetchone())
    settings = await db_settings(conn) if settings is None else settings
    aggregates = settings.get("db_aggregates_enabled", "false").strip().lower() in ("true", "on", "1", "yes")
    return SchemaCache(schema, tables, functions, rels, fingerprint, aggregates_enabled=aggregates,
                       function_versions=versions)


async def db_settings(conn) -> dict[str, str]:
    """{"db_schemas": "public, personal", ...}: the `pgrst.` settings the database gives the connection's role."""
    return dict(await (await conn.execute(DB_SETTINGS_SQL)).fetchall())


def _callable(function: Function) -> bool:
    unnamed = [a for a in function.arguments if not a.name]
    return not unnamed or len(unnamed) == 1 and function.arguments[0].type in UNNAMED_CALLABLE


def _function(schema, name, argnames, argmodes, alltypes, intypes, ndefaults, retset, rettype, volatility, void,
              composite):
    modes = list(argmodes) or ["i"] * len(intypes)
    types = list(alltypes) or list(intypes)
    inputs = [(n, t, m) for n, t, m in zip(list(argnames) + [""] * len(types), types, modes) if m in ("i", "b", "v")]
    first_default = len(inputs) - ndefaults
    arguments = tuple(Argument(n, t, i >= first_default, m == "v") for i, (n, t, m) in enumerate(inputs))
    return Function(schema, name, arguments, bool(retset), rettype, volatility == "v", bool(void), bool(composite))


# ---- every exposed schema ------------------------------------------------------------------------

@dataclasses.dataclass
class Catalog:
    """The schema caches of the exposed schemas (PostgREST's db-schemas: the first is the default),
    read together, with the in-database settings they were read under."""
    schemas: tuple[str, ...]
    caches: dict[str, SchemaCache]
    extra_search_path: tuple[str, ...] = ("public", "extensions")
    aggregates_enabled: bool = False

    @property
    def default(self) -> str:
        return self.schemas[0]

    def of(self, schema: str | None) -> SchemaCache:
        """The cache of `schema` (the default one for None); an exposed schema the database does not
        have, or one a reload stopped exposing, has no tables and no functions."""
        schema = self.default if schema is None else schema
        return self.caches.get(schema) or SchemaCache(schema, {}, {}, aggregates_enabled=self.aggregates_enabled)


def exposed(settings: dict[str, str], configured: tuple[str, ...]) -> tuple[str, ...]:
    """`pgrst.db_schemas` over the gateway's option, split as PostgREST splits db-schemas (commas, each
    name stripped); an empty setting is PostgREST's default, public alone."""
    value = settings.get("db_schemas")
    if value is None:
        return configured
    return tuple(s.strip() for s in value.split(",")) if value else ("public",)


def extra_search_path(settings: dict[str, str], configured: tuple[str, ...]) -> tuple[str, ...]:
    """`pgrst.db_extra_search_path` over the gateway's option; empty is none."""
    value = settings.get("db_extra_search_path")
    if value is None:
        return configured
    return tuple(s.strip() for s in value.split(",")) if value else ()


# The exposed schemas the database lacks: v14 casts each (quoted) name to regnamespace in its schema
# cache queries, so one that does not exist fails the whole cache.
MISSING_SCHEMAS_SQL = ("select s from unnest(%s::text[]) s "
                       "where to_regnamespace('\"' || replace(s, '\"', '\"\"') || '\"') is null")


class SchemaCacheUnavailable(Exception):
    """The cache cannot be read (v14: 503 PGRST002 on every request until it can)."""


async def load_all(conn, schemas: tuple[str, ...], extra: tuple[str, ...] = ("public", "extensions")) -> Catalog:
    """Every exposed schema's cache; the database's `pgrst.db_schemas` / `pgrst.db_extra_search_path`
    override `schemas` / `extra` as PostgREST's in-database configuration overrides its environment.
    An exposed schema the database does not have: SchemaCacheUnavailable (v14 #3644: the cache query
    fails). The extra search path is not checked (the fake database has no `extensions` schema)."""
    settings = await db_settings(conn)
    names = exposed(settings, schemas)
    missing = [r[0] for r in await (await conn.execute(MISSING_SCHEMAS_SQL, (list(names),))).fetchall()]
    if missing:
        raise SchemaCacheUnavailable(f"schema {missing[0]!r} is exposed but does not exist")
    caches = {}
    for name in dict.fromkeys(names):
        caches[name] = await load(conn, name, settings)
    aggregates = next(iter(caches.values())).aggregates_enabled
    return Catalog(names, caches, extra_search_path(settings, extra), aggregates)
