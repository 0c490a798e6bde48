"""Parsed requests -> one parameterised SQL statement, shaped as PostgREST shapes its queries.

Identifiers only ever enter SQL through `sql.Identifier` (quoted), values only as bound parameters
(sent with the unknown type, so PostgreSQL casts them to the column's type exactly as it does for
PostgREST), JSON keys as `sql.Literal`. The result is always rendered by PostgreSQL's own `json_agg`,
so timestamps and numbers look exactly as `to_json` writes them.
"""

from __future__ import annotations

import dataclasses

from psycopg import sql

from .errors import not_implemented
from .grammar import FTS, IS_VALUES, OPERATORS, Condition, Field, Logic, OrderTerm, SelectItem

SOURCE = sql.Identifier("pgrst_source")
INSERTED = sql.Identifier("pgrst_inserted_flag")


class Slot:
    """A request's value standing in a statement built once per request shape (shapes.py): the
    parameter is `fn(values[index])`, computed for each request that reuses the statement."""
    __slots__ = ("index", "fn")

    def __init__(self, index: int, fn=None):
        self.index, self.fn = index, fn

    def __eq__(self, other):
        return isinstance(other, Slot) and other.index == self.index and other.fn is self.fn

    def __hash__(self):
        return hash((Slot, self.index))

    def __repr__(self):
        return f"Slot({self.index}{', ' + self.fn.__name__ if self.fn else ''})"

    def resolve(self, values: list):
        value = values[self.index]
        return value if self.fn is None else self.fn(value)


def bind(value, fn):
    """`fn(value)`, or for a Slot the same computation deferred to each request."""
    if isinstance(value, Slot):
        return Slot(value.index, fn if value.fn is None else (lambda v, f=value.fn: fn(f(v))))
    return fn(value)


@dataclasses.dataclass
class Statement:
    """SQL text with its parameters, in order."""
    parts: list[sql.Composable] = dataclasses.field(default_factory=list)
    params: list[object] = dataclasses.field(default_factory=list)

    def add(self, fragment: sql.Composable, *params: object) -> "Statement":
        self.parts.append(fragment)
        self.params.extend(params)
        return self

    def composed(self) -> sql.Composed:
        return sql.Composed(self.parts)


def relation(schema: str, table: str) -> sql.Composable:
    return sql.Identifier(schema, table)


def field_sql(qualifier: sql.Composable, field: Field) -> sql.Composable:
    out: sql.Composable = sql.SQL("{}.{}").format(qualifier, sql.Identifier(field.name))
    for arrow, key in field.path:
        literal = sql.Literal(int(key)) if key.isdigit() else sql.Literal(key)
        out = sql.SQL("({} {} {})").format(out, sql.SQL(arrow), literal)
    return out


def select_list(qualifier: sql.Composable, items: list[SelectItem], columns: list[str]) -> sql.Composable:
    """`*` expands to the table's columns in table order (explicit, so helper columns never leak)."""
    out = []
    for item in items:
        if item.field is None:
            out.extend(sql.SQL("{}.{}").format(qualifier, sql.Identifier(c)) for c in columns)
            continue
        expr = field_sql(qualifier, item.field)
        if item.cast:
            expr = sql.SQL("CAST({} AS {})").format(expr, sql.SQL(item.cast))
        out.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(item.alias or item.field.label())))
    return sql.SQL(", ").join(out) if out else sql.SQL("")


def condition(stmt: Statement, qualifier: sql.Composable, node: Condition | Logic,
              embedded: dict[str, sql.Composable] | None = None) -> None:
    """`embedded`: embed name -> its "found" flag, for `rel=is.null` / `rel=not.is.null` on an embed."""
    if isinstance(node, Logic):
        stmt.add(sql.SQL("NOT (" if node.negated else "("))
        for i, child in enumerate(node.children):
            if i:
                stmt.add(sql.SQL(" AND " if node.op == "and" else " OR "))
            condition(stmt, qualifier, child, embedded)
        stmt.add(sql.SQL(")"))
        return
    stmt.add(sql.SQL("NOT (" if node.negated else "("))
    if embedded and node.op == "is" and node.value == "null" and not node.field.path and node.field.name in embedded:
        stmt.add(sql.SQL("{} IS NOT TRUE").format(embedded[node.field.name]))
    else:
        _comparison(stmt, field_sql(qualifier, node.field), node)
    stmt.add(sql.SQL(")"))


def _comparison(stmt: Statement, target: sql.Composable, node: Condition) -> None:
    op = node.op
    if op == "is":
        stmt.add(sql.SQL("{} IS {}").format(target, sql.SQL(IS_VALUES[node.value])))
    elif op == "in":
        stmt.add(sql.SQL("{} = ANY({})").format(target, sql.Placeholder()), bind(node.value, array_literal))
    elif op in FTS:
        config = sql.SQL("{}::regconfig, ").format(sql.Placeholder()) if node.language else sql.SQL("")
        params = ([node.language] if node.language else []) + [node.value]
        stmt.add(sql.SQL("{} @@ {}({}{})").format(target, sql.SQL(OPERATORS[op]), config, sql.Placeholder()), *params)
    elif node.quantifier:
        values = bind(node.value, _like_array if op in ("like", "ilike") else array_literal)
        stmt.add(sql.SQL("{} {} {}({})").format(target, sql.SQL(OPERATORS[op]), sql.SQL(node.quantifier.upper()),
                                                sql.Placeholder()), values)
    else:
        value = bind(node.value, _like) if op in ("like", "ilike") else node.value
        stmt.add(sql.SQL("{} {} {}").format(target, sql.SQL(OPERATORS[op]), sql.Placeholder()), value)


def _like(pattern: str) -> str:
    return pattern.replace("*", "%")


def _like_array(values) -> str:
    return array_literal([_like(v) for v in values])


def array_literal(values) -> str:
    """A PostgreSQL array literal with every element quoted, bound as one unknown-typed parameter."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


def where(stmt: Statement, qualifier: sql.Composable, filters: list) -> None:
    if not filters:
        return
    stmt.add(sql.SQL(" WHERE "))
    for i, node in enumerate(filters):
        if i:
            stmt.add(sql.SQL(" AND "))
        condition(stmt, qualifier, node)


def order_by(qualifier: sql.Composable, terms: list[OrderTerm]) -> sql.Composable:
    if not terms:
        return sql.SQL("")
    rendered = []
    for term in terms:
        if term.relation:       # only embed.select orders by an embed; a write or plain read cannot
            raise not_implemented("ordering by an embedded resource's column outside a read (order=rel(col))")
        nulls = sql.SQL(f" NULLS {term.nulls.upper()}") if term.nulls else sql.SQL("")
        rendered.append(sql.SQL("{} {}{}").format(field_sql(qualifier, term.field),
                                                  sql.SQL("DESC" if term.desc else "ASC"), nulls))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(rendered)


def page(stmt: Statement, limit: int | None, offset: int) -> None:
    if limit is not None:
        stmt.add(sql.SQL(" LIMIT {}").format(sql.Literal(limit)))
    if offset:
        stmt.add(sql.SQL(" OFFSET {}").format(sql.Literal(offset)))


def body_columns(singular: bool, render: str = "json", strip_nulls: bool = False,
                 value: str = "_pgrst_t") -> sql.Composable:
    """The result as the client asked for it (Accept): a JSON array, its only element (one object),
    either with nulls stripped, CSV, or GeoJSON; rendered as PostgREST's SqlFragment renders them.
    `value` is what each row aggregates as JSON (`_pgrst_t.pgrst_scalar` for a scalar function)."""
    if render == "csv":
        # Header: the first row's keys (none without rows); body: each row's record text without its parentheses.
        return sql.SQL("coalesce((SELECT string_agg(_pgrst_k, ',') FROM json_object_keys(json_agg(_pgrst_t) -> 0) "
                       "_pgrst_k), '') || E'\\n' || coalesce(string_agg(substring(_pgrst_t::text, 2, "
                       "length(_pgrst_t::text) - 2), E'\\n'), '')")
    if render == "geojson":
        return sql.SQL("json_build_object('type', 'FeatureCollection', 'features', "
                       "coalesce(json_agg(ST_AsGeoJSON(_pgrst_t)::json), '[]'))::text")
    agg = f"json_agg({value}) -> 0" if singular else f"json_agg({value})"
    if strip_nulls:
        agg = f"json_strip_nulls({agg})"
    return sql.SQL(f"coalesce(({agg})::text, '{'null' if singular else '[]'}')")
