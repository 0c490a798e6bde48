"""One statement per REST operation. Each returns a single row:

    (rows: int, total: int | None, inserted: int, body: str | None)

`rows` = rows read or written, `total` = the exact count when asked, `inserted` = rows an upsert
inserted (200 vs 201), `body` = the JSON text to send (None when the client wants no body).
"""

from __future__ import annotations

import dataclasses
import json

from psycopg import sql

from . import embed
from .grammar import SelectItem
from .schema import Function, Table
from .sqlgen import (INSERTED, SOURCE, Statement, array_literal, bind, body_columns, field_sql, order_by, page,
                     relation, select_list, where)


@dataclasses.dataclass
class Shape:
    """What the client asked to get back."""
    select: list[SelectItem]
    filters: list
    order: list
    limit: int | None = None
    offset: int = 0
    count: bool = False
    singular: bool = False
    body: bool = True
    plan: embed.Node | None = None      # the embeds, when select= has any
    render: str = "json"            # json / csv / geojson (media.Media.kind; "object" is `singular`)
    strip_nulls: bool = False       # Accept: ...;nulls=stripped
    count_limit: int | None = None  # count=estimated: count at most max-rows + 1 rows exactly


def rendered(shape: Shape) -> sql.Composable:
    return body_columns(shape.singular, shape.render, shape.strip_nulls)


def read(table: Table, shape: Shape) -> Statement:
    rel = relation(table.schema, table.name)
    if shape.plan is not None:
        return _read_embedded(rel, shape)
    stmt = Statement()
    stmt.add(sql.SQL("SELECT count(*)::int, "))
    _total(stmt, rel, shape)
    stmt.add(sql.SQL(", 0, {} FROM (SELECT {} FROM {}").format(
        _body(shape), select_list(rel, shape.select, list(table.columns)), rel))
    where(stmt, rel, shape.filters)
    stmt.add(order_by(rel, shape.order))
    page(stmt, shape.limit, shape.offset)
    return stmt.add(sql.SQL(") _pgrst_t"))


def _read_embedded(rel, shape: Shape) -> Statement:
    root = dataclasses.replace(shape.plan, filters=shape.filters, order=shape.order, limit=shape.limit,
                               offset=shape.offset)
    stmt = Statement().add(sql.SQL("SELECT count(*)::int, "))
    if shape.count:
        stmt.add(sql.SQL("(SELECT count(*) FROM ("))
        embed.select(stmt, root, rel, rel, paged=False, counting=True)
        page(stmt, shape.count_limit, 0)
        stmt.add(sql.SQL(") _pgrst_c)"))
    else:
        stmt.add(sql.SQL("NULL::bigint"))
    stmt.add(sql.SQL(", 0, {} FROM (").format(_body(shape)))
    embed.select(stmt, root, rel, rel)
    return stmt.add(sql.SQL(") _pgrst_t"))


def _total(stmt: Statement, rel: sql.Composable, shape: Shape) -> None:
    if not shape.count:
        stmt.add(sql.SQL("NULL::bigint"))
        return
    stmt.add(sql.SQL("(SELECT count(*) FROM (SELECT 1 FROM {}").format(rel))
    where(stmt, rel, shape.filters)
    page(stmt, shape.count_limit, 0)
    stmt.add(sql.SQL(") _pgrst_c)"))


def count_plan(table: Table, shape: Shape) -> Statement:
    """count=planned / estimated: the planner's row estimate for the count query (EXPLAIN, FORMAT JSON)."""
    rel = relation(table.schema, table.name)
    if shape.plan is not None:      # with embeds (an !inner one filters), the same rows the count reads
        stmt = Statement().add(sql.SQL("EXPLAIN (FORMAT JSON) "))
        root = dataclasses.replace(shape.plan, filters=shape.filters, order=[], limit=None, offset=0)
        embed.select(stmt, root, rel, rel, paged=False)
        return stmt
    stmt = Statement().add(sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}").format(rel))
    where(stmt, rel, shape.filters)
    return stmt


def _body(shape: Shape) -> sql.Composable:
    return rendered(shape) if shape.body else sql.SQL("NULL::text")


def insert(table: Table, columns: list[str], rows: list[dict], shape: Shape, *, resolution: str | None,
           conflict: list[str], missing_default: bool) -> Statement:
    rel = relation(table.schema, table.name)
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    if not columns:     # `{}` / `[{}, ...]`: a row of defaults per element, as v14's `INSERT INTO t SELECT FROM ...`
        stmt = Statement().add(sql.SQL("WITH pgrst_source AS (INSERT INTO {} SELECT FROM json_array_elements({}::json) "
                                       "_pgrst_body").format(rel, sql.Placeholder()), bind(rows, json.dumps))
    elif missing_default:
        stmt = Statement().add(sql.SQL("WITH pgrst_source AS (INSERT INTO {} ({}) ").format(rel, cols))
        _with_defaults(stmt, table, rel, columns, rows)
    else:
        stmt = Statement().add(sql.SQL("WITH pgrst_source AS (INSERT INTO {} ({}) ").format(rel, cols))
        stmt.add(sql.SQL("SELECT {} FROM json_populate_recordset(NULL::{}, {}::json) _pgrst_body").format(
            cols, rel, sql.Placeholder()), bind(rows, json.dumps))
    _on_conflict(stmt, columns, resolution, conflict)
    # xmax = 0 tells an inserted row from an updated one (200 vs 201); a plain insert needs no
    # column in RETURNING, so (like PostgREST's `RETURNING 1`) minimal inserts skip SELECT policies.
    flag = sql.SQL("(xmax = 0)" if resolution else "true")
    stmt.add(sql.SQL(" RETURNING {}{} AS {})").format(_returned(rel, shape), flag, INSERTED))
    return _mutation_result(stmt, table, shape, inserted=True)


def _with_defaults(stmt: Statement, table: Table, rel, columns: list[str], rows: list[dict]) -> None:
    """`Prefer: missing=default`, as v14 builds it: every inserted column's DEFAULT is evaluated for every
    element (a sequence advances once per row, given key or not), then the element's own keys win."""
    stmt.add(sql.SQL("SELECT {} FROM jsonb_populate_recordset(NULL::{}, (SELECT jsonb_agg(jsonb_build_object({}) "
                     "|| _pgrst_elem) FROM jsonb_array_elements({}::jsonb) _pgrst_elem)) _pgrst_body").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), rel, _defaults(table, columns), sql.Placeholder()),
        bind(rows, json.dumps))


def _defaults(table: Table, columns: list[str]) -> sql.Composable:
    """`'col', <its DEFAULT expression>, ...` for jsonb_build_object (the catalog's own SQL text)."""
    return sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), sql.SQL(table.columns[c].default))
                              for c in columns if table.columns[c].default is not None)


def _on_conflict(stmt: Statement, columns: list[str], resolution: str | None, conflict: list[str]) -> None:
    if not resolution or not conflict:
        return
    target = sql.SQL(", ").join(map(sql.Identifier, conflict))
    if resolution == "ignore-duplicates":
        stmt.add(sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target))
        return
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns]
    if not updates:
        stmt.add(sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(target))
        return
    stmt.add(sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}").format(target, sql.SQL(", ").join(updates)))


def update(table: Table, columns: list[str], row: dict, shape: Shape, *, missing_default: bool = False) -> Statement:
    """PATCH; with missing=default a column `columns=` names but the body lacks takes its DEFAULT (v14)."""
    rel = relation(table.schema, table.name)
    sets = sql.SQL(", ").join(sql.SQL("{0} = _pgrst_body.{0}").format(sql.Identifier(c)) for c in columns)
    if missing_default:
        source = sql.SQL("jsonb_populate_record(NULL::{}, jsonb_build_object({}) || {}::jsonb)").format(
            rel, _defaults(table, columns), sql.Placeholder())
    else:
        source = sql.SQL("json_populate_record(NULL::{}, {}::json)").format(rel, sql.Placeholder())
    stmt = Statement().add(sql.SQL("WITH pgrst_source AS (UPDATE {} SET {} FROM (SELECT * FROM {}) _pgrst_body").format(
        rel, sets, source), bind(row, json.dumps))
    _target_rows(stmt, rel, shape)
    stmt.add(sql.SQL(" RETURNING {}false AS {})").format(_returned(rel, shape), INSERTED))
    return _mutation_result(stmt, table, shape, inserted=False)


def delete(table: Table, shape: Shape) -> Statement:
    rel = relation(table.schema, table.name)
    stmt = Statement().add(sql.SQL("WITH pgrst_source AS (DELETE FROM {}").format(rel))
    _target_rows(stmt, rel, shape)
    stmt.add(sql.SQL(" RETURNING {}false AS {})").format(_returned(rel, shape), INSERTED))
    return _mutation_result(stmt, table, shape, inserted=False)


def _returned(rel, shape: Shape) -> sql.Composable:
    """The row goes back only when a body is wanted; counting needs just the flag."""
    return sql.SQL("{}.*, ").format(rel) if shape.body else sql.SQL("")


def _target_rows(stmt: Statement, rel, shape: Shape) -> None:
    """The rows a PATCH/DELETE touches; with limit/order, the first N by that order (as v12+ allows)."""
    if shape.limit is None and not shape.order:
        where(stmt, rel, shape.filters)
        return
    stmt.add(sql.SQL(" WHERE {0}.ctid = ANY(ARRAY(SELECT {0}.ctid FROM {0}").format(rel))
    where(stmt, rel, shape.filters)
    stmt.add(order_by(rel, shape.order))
    page(stmt, shape.limit, 0)
    stmt.add(sql.SQL("))"))


def _mutation_result(stmt: Statement, table: Table, shape: Shape, *, inserted: bool) -> Statement:
    if shape.plan is not None and shape.body:
        stmt.add(sql.SQL(" SELECT (SELECT count(*) FROM pgrst_source)::int, NULL::bigint, "
                         "(SELECT count(*) FROM pgrst_source WHERE {})::int, (SELECT {} FROM (").format(
                             INSERTED, rendered(shape)))
        root = dataclasses.replace(shape.plan, filters=[], order=[], limit=None, offset=0)
        embed.select(stmt, root, SOURCE, SOURCE, paged=False)
        return stmt.add(sql.SQL(") _pgrst_t)"))
    body = (sql.SQL("(SELECT {} FROM (SELECT {} FROM pgrst_source) _pgrst_t)").format(
        rendered(shape), select_list(SOURCE, shape.select, list(table.columns)))
        if shape.body else sql.SQL("NULL::text"))
    return stmt.add(sql.SQL(
        " SELECT (SELECT count(*) FROM pgrst_source)::int, NULL::bigint, "
        "(SELECT count(*) FROM pgrst_source WHERE {})::int, {}").format(INSERTED, body))


def call(function: Function, args, shape: Shape) -> Statement:
    """`/rpc/<fn>` as PostgREST builds it: the call in a CTE (run once, even when counted), then the
    request's select, filters, order and range over its rows. A scalar result is the column
    `pgrst_scalar`; one composite or scalar answers an object/value (or null when filtered out)."""
    stmt = Statement().add(sql.SQL("WITH pgrst_source AS ("))
    if function.returns_composite:
        stmt.add(sql.SQL("SELECT _pgrst_call.* FROM "))
        if args.kind == "json":
            _argument_record(stmt, args)
            stmt.add(sql.SQL(", LATERAL "))
        _invocation(stmt, function, args)
        stmt.add(sql.SQL(" _pgrst_call)"))
    else:
        stmt.add(sql.SQL("SELECT "))
        _invocation(stmt, function, args)
        stmt.add(sql.SQL(" AS pgrst_scalar"))
        if args.kind == "json":
            stmt.add(sql.SQL(" FROM "))
            _argument_record(stmt, args)
        stmt.add(sql.SQL(")"))
    return _call_result(stmt, function, shape)


def _argument_record(stmt: Statement, args) -> None:
    """The JSON body as one record of the used parameters' types (the first element of an array)."""
    defs = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(a.name), sql.SQL(a.call_type)) for a in args.used)
    if args.json_array:
        stmt.add(sql.SQL("(SELECT * FROM json_to_recordset({}::json) AS _pgrst_r({}) LIMIT 1) _pgrst_args").format(
            sql.Placeholder(), defs), args.body)
    else:
        stmt.add(sql.SQL("json_to_record({}::json) AS _pgrst_args({})").format(sql.Placeholder(), defs), args.body)


def _invocation(stmt: Statement, function: Function, args) -> None:
    """`fn($1::type)`, `fn(a := $1::integer, VARIADIC v := $2::text[])` or `fn(a := _pgrst_args.a)`."""
    stmt.add(sql.SQL("{}(").format(sql.Identifier(function.schema, function.name)))
    if args.kind == "single":
        value = args.single
        cast = sql.SQL("") if isinstance(value, bytes) else sql.SQL("::" + args.used[0].call_type)
        stmt.add(sql.SQL("{}{}").format(sql.Placeholder(), cast), value)
    for i, arg in enumerate(args.used if args.kind in ("direct", "json") else []):
        stmt.add(sql.SQL("{}{} := ").format(sql.SQL(", " if i else ""), _named(arg)))
        if args.kind == "json":
            stmt.add(sql.SQL("_pgrst_args.{}").format(sql.Identifier(arg.name)))
        else:
            value = args.values[arg.name]
            text = array_literal(value) if isinstance(value, list) else value
            stmt.add(sql.SQL("{}::{}").format(sql.Placeholder(), sql.SQL(arg.call_type)), text)
    stmt.add(sql.SQL(")"))


def _named(arg) -> sql.Composable:
    return sql.SQL("{}{}").format(sql.SQL("VARIADIC " if arg.variadic else ""), sql.Identifier(arg.name))


def _call_result(stmt: Statement, function: Function, shape: Shape) -> Statement:
    source = sql.Identifier("_pgrst_fn")
    stmt.add(sql.SQL(" SELECT count(*)::int, "))        # an aggregate: always one row, even for HEAD
    if shape.plan is not None:
        return _embedded_call_result(stmt, function, shape, source)
    if shape.count:
        stmt.add(sql.SQL("(SELECT count(*) FROM pgrst_source {}").format(source))
        where(stmt, source, shape.filters)
        stmt.add(sql.SQL(")"))
    else:
        stmt.add(sql.SQL("NULL::bigint"))
    stmt.add(sql.SQL(", 0, {} FROM (SELECT {} FROM pgrst_source {}").format(
        _call_body(function, shape), _call_select(function, shape, source), source))
    where(stmt, source, shape.filters)
    stmt.add(order_by(source, shape.order))
    page(stmt, shape.limit, shape.offset)
    return stmt.add(sql.SQL(") _pgrst_t"))


def _embedded_call_result(stmt: Statement, function: Function, shape: Shape, source) -> Statement:
    """A function returning a table's rows, with embeds: read as that table (embed.py) over the call."""
    root = dataclasses.replace(shape.plan, filters=shape.filters, order=shape.order, limit=shape.limit,
                               offset=shape.offset)
    rows = sql.SQL("pgrst_source {}").format(source)
    if shape.count:
        stmt.add(sql.SQL("(SELECT count(*) FROM ("))
        embed.select(stmt, root, rows, source, paged=False, counting=True)
        stmt.add(sql.SQL(") _pgrst_c)"))
    else:
        stmt.add(sql.SQL("NULL::bigint"))
    body = (body_columns(shape.singular or function.returns_single, shape.render, shape.strip_nulls) if shape.body
            else sql.SQL("NULL::text"))
    stmt.add(sql.SQL(", 0, {} FROM (").format(body))
    embed.select(stmt, root, rows, source)
    return stmt.add(sql.SQL(") _pgrst_t"))


def _call_select(function: Function, shape: Shape, source) -> sql.Composable:
    """`*` is every column the function returns (its one value for a scalar); fields as for tables."""
    if function.returns_scalar and all(item.field is None for item in shape.select):
        return sql.SQL("{}.pgrst_scalar").format(source)
    out = [sql.SQL("{}.*").format(source) if item.field is None else select_list(source, [item], [])
           for item in shape.select]
    return sql.SQL(", ").join(out)


def _call_body(function: Function, shape: Shape) -> sql.Composable:
    if not shape.body or function.returns_void:
        return sql.SQL("NULL::text")
    value = "_pgrst_t.pgrst_scalar" if function.returns_scalar and all(
        item.field is None for item in shape.select) else "_pgrst_t"
    return body_columns(function.returns_single or shape.singular, shape.render, shape.strip_nulls, value)


__all__ = ["Shape", "rendered", "count_plan", "read", "insert", "update", "delete", "call", "field_sql"]
