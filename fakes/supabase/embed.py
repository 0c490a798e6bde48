"""Resource embedding: `select=*,rel(*)` as a tree of nodes, then one SQL query with lateral joins.

    node = plan(cache, "parents", select_items, nested_params)   # PGRST108 / PGRST200 / PGRST201
    select(stmt, node, source, qualifier)                        # SELECT ... FROM source LATERAL ...

Each embedded relation is a `LEFT JOIN LATERAL` subquery under its parent row, run by the caller's
role (so RLS applies to it as to the parent): to-many embeds are `jsonb_agg` of the child rows
(`[]` when none), to-one embeds `to_jsonb` of the row (null when none), and spreads lift the child's
columns into the parent (to-many spreads as one JSON array per column, as v13+ does). jsonb because
PostgREST's QueryBuilder casts its `json_agg`/`row_to_json` to jsonb (built directly here: the same
values, without re-parsing text), so embedded keys come out in jsonb's order, once each. Each lateral
also yields a "found" flag, which `!inner` and `rel=[not.]is.null` test in the parent's WHERE.
PostgreSQL renders every value, so the JSON is what PostgREST's own queries produce.
"""

from __future__ import annotations

import dataclasses
import itertools

from psycopg import sql

from . import relationships
from .errors import ApiError, not_implemented
from .grammar import Embed, Logic, SelectItem, aggregates_in
from .sqlgen import Statement, condition, field_sql, order_by, page

FOUND = sql.Identifier("_pgrst_f")
VALUE = sql.Identifier("_pgrst_v")
ROW = sql.Identifier("_pgrst_e")


@dataclasses.dataclass
class Node:
    table: object                           # schema.Table of the relation read here
    items: list[SelectItem]                 # plain columns
    children: list["Node"]
    embed: Embed | None = None              # None at the root
    rel: relationships.Relationship | None = None
    filters: list = dataclasses.field(default_factory=list)
    order: list = dataclasses.field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    alias: sql.Composable | None = None     # the child's FROM alias
    lateral: sql.Composable | None = None   # the lateral subquery's alias in the parent
    parent_columns: list = dataclasses.field(default_factory=list)   # computed: the parent's row
    order_fields: list = dataclasses.field(default_factory=list)     # what the parent orders by, to-one

    @property
    def empty(self) -> bool:
        """`rel()`: only there to filter the parent, never shown (PostgREST's empty embed)."""
        return not self.items and all(c.empty for c in self.children)

    def outputs(self) -> list[str]:
        """The names this node's SELECT yields, in order."""
        return [label for _, label, _ in _columns(self, sql.Identifier("_"))]


def has_embeds(select: list, nested: list, order: list = ()) -> bool:
    """Whether the request needs this module: embeds, nested parameters, related orders, aggregates."""
    return (bool(nested) or any(isinstance(item, Embed) for item in select) or any(t.relation for t in order)
            or aggregates_in(select))


def plan(cache, root_name: str, root_table, select: list, nested: list, order: list = ()) -> Node:
    root = _tree(root_table, select)
    for path, kind, value in nested:
        _apply(root, path, kind, value)
    _resolve(cache, root, root_name, 1, itertools.count(1))
    _related_orders(root, root_name, order)
    _same_label_twice(root, root_name, 1)
    return root


def _same_label_twice(node: Node, origin: str, depth: int) -> None:
    """PostgREST names each embed's lateral join `<parent>_<alias or name>_<depth>`, so two sibling
    embeds under one label (`users!first_user(*),users!second_user(*)`) make PostgreSQL refuse the
    query: 400 42712. Checked once every relationship is resolved, as PostgreSQL sees the SQL last."""
    seen: set[str] = set()
    for child in node.children:
        if child.embed.label in seen:
            raise ApiError(400, "42712", f'table name "{origin}_{child.embed.label}_{depth}" specified more than once')
        seen.add(child.embed.label)
    for child in node.children:
        _same_label_twice(child, child.rel.foreign[1], depth + 1)


def _related_orders(node: Node, name: str, order: list) -> None:
    """`order=rel(col)`: rel must be embedded here (PGRST108) and to-one (PGRST118)."""
    for term in order:
        if not term.relation:
            continue
        child = _child(node, term.relation)
        if not child.rel.to_one:
            raise ApiError(400, "PGRST118", f"A related order on '{term.relation}' is not possible",
                           f"'{name}' and '{term.relation}' do not form a many-to-one or one-to-one relationship")
        if child.embed.spread and term.field.name not in child.outputs():
            raise ApiError(400, "42703", f"column {term.relation}.{term.field.name} does not exist")
        if not child.embed.spread and term.field not in child.order_fields:
            child.order_fields.append(term.field)
    for child in node.children:
        _related_orders(child, child.rel.foreign[1], child.order)


def _child(node: Node, label: str) -> Node:
    for child in node.children:
        if child.embed.label == label:
            return child
    raise ApiError(400, "PGRST108", f"'{label}' is not an embedded resource in this request", None,
                   f"Verify that '{label}' is included in the 'select' query parameter.")


def _tree(table, select) -> Node:
    items = [i for i in select if not isinstance(i, Embed)]
    children = [_tree(None, e.select) for e in select if isinstance(e, Embed)]
    for child, embed in zip(children, (e for e in select if isinstance(e, Embed))):
        child.embed = embed
    return Node(table, items, children)


def _apply(node: Node, path: tuple[str, ...], kind: str, value) -> None:
    for step in path:
        found = next((c for c in node.children if step in (c.embed.name, c.embed.alias)), None)
        if found is None:
            raise ApiError(400, "PGRST108", f"'{step}' is not an embedded resource in this request", None,
                           f"Verify that '{step}' is included in the 'select' query parameter.")
        node = found
    if kind in ("filter", "logic"):
        node.filters.append(value)
    elif kind == "order":
        node.order = value
    elif kind == "limit":
        node.limit = value if value is not None else node.limit
    else:
        node.offset = value if value is not None else node.offset


def _resolve(cache, node: Node, origin: str, depth: int, counter) -> None:
    """Aliases as PostgREST names them (`<table>_<depth>`), so PostgreSQL's errors read the same;
    the lateral's alias gets a counter as well, as siblings may share a label."""
    for child in node.children:
        child.rel = relationships.find(cache.relationships, cache.schema, origin, child.embed.name, child.embed.hint)
        if child.embed.spread and not child.rel.to_one and aggregates_in(child.embed.select):
            raise not_implemented("aggregate functions inside a to-many spread embed (...rel(col.sum()))")
        child.table = cache.tables.get(child.rel.foreign[1])
        if child.table is None:         # a relation the cache lists no columns for: nothing to embed
            raise relationships.no_relationship(cache.relationships, cache.schema, origin, child.embed.name,
                                                child.embed.hint)
        child.alias = sql.Identifier(f"{child.rel.foreign[1]}_{depth}")
        child.lateral = sql.Identifier(f"{origin}_{child.embed.label}_{depth}_{next(counter)}")
        child.parent_columns = list(node.table.columns)
        _resolve(cache, child, child.rel.foreign[1], depth + 1, counter)


# ---- SQL ---------------------------------------------------------------------------------------

def select(stmt: Statement, node: Node, source: sql.Composable, qualifier: sql.Composable, *,
           conditions=(), paged: bool = True, positional: bool = False, counting: bool = False) -> None:
    """`SELECT <outputs> FROM <source> <laterals> WHERE ...`; `conditions` are extra fragments the
    caller ANDs in first (a child's join to its parent). `counting`: the rows only (`SELECT 1`), with
    just the laterals that decide which rows (`!inner`, `rel=is.null`)."""
    labels = {c.embed.label for c in node.children}
    tested = _null_tested(node.filters, labels)
    aggregated = any(agg for _, _, agg in _columns(node, qualifier))
    if counting:
        stmt.add(sql.SQL("SELECT 1"))
    else:
        stmt.add(sql.SQL("SELECT "))
        _outputs(stmt, node, qualifier, positional)
    stmt.add(sql.SQL(" FROM ")).add(source)
    for child in node.children:
        if not counting or aggregated or child.embed.join == "inner" or child.embed.label in tested:
            _lateral(stmt, child, qualifier)
    # `rel=is.null` names the embed as the select does (its alias when it has one), as v14 matches it
    embedded = {c.embed.label: sql.SQL("{}.{}").format(c.lateral, FOUND) for c in node.children}
    clauses = list(conditions)
    clauses += [lambda s, f=f: condition(s, qualifier, f, embedded) for f in node.filters]
    clauses += [lambda s, c=c: s.add(sql.SQL("{}.{} IS TRUE").format(c.lateral, FOUND))
                for c in node.children if c.embed.join == "inner"]
    for i, clause in enumerate(clauses):
        stmt.add(sql.SQL(" AND " if i else " WHERE "))
        clause(stmt)
    if aggregated:      # grouped by everything else selected, embeds included (jsonb groups), as v14 does
        groups = [expr for expr, _, agg in _columns(node, qualifier) if not agg]
        if groups:
            stmt.add(sql.SQL(" GROUP BY ") + sql.SQL(", ").join(groups))
    if paged:
        _order(stmt, node, qualifier)
        page(stmt, node.limit, node.offset)


def _null_tested(filters: list, labels: set[str]) -> set[str]:
    found: set[str] = set()
    for f in filters:
        if isinstance(f, Logic):
            found |= _null_tested(list(f.children), labels)
        elif f.op == "is" and f.value == "null" and not f.field.path and f.field.name in labels:
            found.add(f.field.name)
    return found


def _order(stmt: Statement, node: Node, qualifier: sql.Composable) -> None:
    plain = [t for t in node.order if not t.relation]
    if len(plain) == len(node.order):
        stmt.add(order_by(qualifier, node.order))
        return
    rendered = []
    for term in node.order:
        if not term.relation:
            expr = field_sql(qualifier, term.field)
        else:
            child = _child(node, term.relation)
            column = (_nth(child.outputs().index(term.field.name)) if child.embed.spread
                      else sql.Identifier(f"_pgrst_o{child.order_fields.index(term.field)}"))
            expr = sql.SQL("{}.{}").format(child.lateral, column)
        nulls = sql.SQL(f" NULLS {term.nulls.upper()}") if term.nulls else sql.SQL("")
        rendered.append(sql.SQL("{} {}{}").format(expr, sql.SQL("DESC" if term.desc else "ASC"), nulls))
    stmt.add(sql.SQL(" ORDER BY ") + sql.SQL(", ").join(rendered))


def _columns(node: Node, qualifier: sql.Composable) -> list[tuple[sql.Composable, str, bool]]:
    """(expression, output name, aggregated) of everything a node yields: its columns, then its embeds."""
    out = []
    hoisting = _hoists(node)
    for item in node.items:
        if item.field is None:
            out += [(sql.SQL("{}.{}").format(qualifier, sql.Identifier(c)), c, False) for c in node.table.columns]
            continue
        if item.aggregate and hoisting:     # the column itself; the parent aggregates it
            out.append((_aggregated(item, qualifier), item.alias or item.aggregate, False))
            continue
        if item.aggregate:
            out.append((_aggregate(item, qualifier), item.alias or item.aggregate, True))
            continue
        expr = field_sql(qualifier, item.field)
        if item.cast:
            expr = sql.SQL("CAST({} AS {})").format(expr, sql.SQL(item.cast))
        out.append((expr, item.alias or item.field.label(), False))
    for child in node.children:
        if child.empty:
            continue
        if child.embed.spread:      # positional names inside, so a name twice is never ambiguous
            pending = {} if hoisting or not child.rel.to_one else _pending(child)
            for i, name in enumerate(child.outputs()):
                expr = sql.SQL("{}.{}").format(child.lateral, _nth(i))
                out.append((_apply_aggregate(pending[i], expr), name, True) if i in pending else (expr, name, False))
        elif child.rel.to_one:
            out.append((sql.SQL("{}.{}").format(child.lateral, VALUE), child.embed.label, False))
        else:
            out.append((sql.SQL("coalesce({}.{}, '[]'::jsonb)").format(child.lateral, VALUE), child.embed.label,
                        False))
    return out


def _aggregate(item: SelectItem, qualifier: sql.Composable) -> sql.Composable:
    """`col.sum()` -> sum(col), `count()` -> count(*), with the casts before and after."""
    if item.field.name == "*" and not item.field.path:
        return _apply_aggregate(item, sql.SQL("*"))
    return _apply_aggregate(item, _aggregated(item, qualifier))


def _aggregated(item: SelectItem, qualifier: sql.Composable) -> sql.Composable:
    """What an aggregate reads: the column with its cast."""
    inner = field_sql(qualifier, item.field)
    return sql.SQL("CAST({} AS {})").format(inner, sql.SQL(item.cast)) if item.cast else inner


def _apply_aggregate(item: SelectItem, inner: sql.Composable) -> sql.Composable:
    expr = sql.SQL("{}({})").format(sql.SQL(item.aggregate), inner)
    return sql.SQL("CAST({} AS {})").format(expr, sql.SQL(item.aggregate_cast)) if item.aggregate_cast else expr


def _hoists(node: Node) -> bool:
    """v14 hoists a to-one spread's aggregates to the nearest embed that is not one (hoistSpreadAggFunctions):
    the spread yields the columns, that embed aggregates them, grouped by the rest of its select."""
    return node.embed is not None and node.embed.spread and node.rel.to_one


def _pending(node: Node) -> dict[int, SelectItem]:
    """The positions of a to-one spread's outputs still to be aggregated, its spread children's included."""
    pending, at = {}, 0
    for item in node.items:
        if item.field is None:
            at += len(node.table.columns)
            continue
        if item.aggregate:
            if item.field.name == "*" and not item.field.path:
                raise not_implemented("count() inside a to-one spread embed (...rel(count()))")
            pending[at] = item
        at += 1
    for child in node.children:
        if child.empty:
            continue
        width = len(child.outputs()) if child.embed.spread else 1
        if child.embed.spread and child.rel.to_one:
            pending.update({at + i: item for i, item in _pending(child).items()})
        at += width
    return pending


def _nth(i: int) -> sql.Identifier:
    return sql.Identifier(f"_pgrst_c{i}")


def _outputs(stmt: Statement, node: Node, qualifier: sql.Composable, positional: bool) -> None:
    stmt.add(sql.SQL(", ").join(sql.SQL("{} AS {}").format(expr, _nth(i) if positional else sql.Identifier(label))
                                for i, (expr, label, _) in enumerate(_columns(node, qualifier))))


def _lateral(stmt: Statement, child: Node, parent: sql.Composable) -> None:
    stmt.add(sql.SQL(" LEFT JOIN LATERAL (SELECT "))
    if child.embed.spread and child.rel.to_one:
        stmt.add(sql.SQL("{}.*, true AS {}").format(ROW, FOUND))
    elif child.embed.spread:
        aggs = [sql.SQL("coalesce(jsonb_agg({}.{}), '[]') AS {}").format(ROW, _nth(i), _nth(i))
                for i in range(len(child.outputs()))]
        stmt.add(sql.SQL(", ").join(aggs + [sql.SQL("count(*) > 0 AS {}").format(FOUND)]))
    elif child.rel.to_one:
        stmt.add(sql.SQL("to_jsonb({}) AS {}, true AS {}").format(ROW, VALUE, FOUND))
        for i, f in enumerate(child.order_fields):      # what the parent orders by (order=rel(col))
            stmt.add(sql.SQL(", {} AS {}").format(field_sql(ROW, f), sql.Identifier(f"_pgrst_o{i}")))
    else:
        stmt.add(sql.SQL("jsonb_agg({}) AS {}, count(*) > 0 AS {}").format(ROW, VALUE, FOUND))
    stmt.add(sql.SQL(" FROM ("))
    source, joins = _child_source(child, parent)
    select(stmt, child, source, child.alias, conditions=joins, positional=child.embed.spread)
    stmt.add(sql.SQL(") {}) {} ON TRUE").format(ROW, child.lateral))


def _child_source(child: Node, parent: sql.Composable):
    rel, c = child.rel, child.alias
    target = sql.Identifier(*rel.foreign)
    if rel.kind == "computed":
        parent_table = rel.table
        cols = sql.SQL(", ").join(sql.SQL("{}.{}").format(parent, sql.Identifier(n)) for n in child.parent_columns)
        source = sql.SQL("{}(ROW({})::{}) AS {}").format(sql.Identifier(rel.foreign[0], rel.constraint), cols,
                                                          sql.Identifier(*parent_table), c)
        return source, []
    if rel.kind == "m2m":
        j = sql.Identifier(rel.junction[1])
        on = sql.SQL(" AND ").join(sql.SQL("{}.{} = {}.{}").format(c, sql.Identifier(t), j, sql.Identifier(jc))
                                   for t, jc in rel.junction_target)
        source = sql.SQL("{} AS {} JOIN {} AS {} ON {}").format(target, c, sql.Identifier(*rel.junction), j, on)
        pairs = [(j, jc, tc) for tc, jc in rel.junction_source]
    else:
        source = sql.SQL("{} AS {}").format(target, c)
        pairs = [(c, fc, pc) for pc, fc in rel.columns]
    joins = [lambda s, a=a, x=x, y=y: s.add(sql.SQL("{}.{} = {}.{}").format(a, sql.Identifier(x), parent,
                                                                             sql.Identifier(y)))
             for a, x, y in pairs]
    return source, joins
