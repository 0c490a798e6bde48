"""Resource embedding: `select=*,rel(*)` as a tree of nodes, then one SQL query with lateral joins.

    node = plan(cache, "parents", select_items, nested_params)   # PGRST108 / PGRST200 / PGRST201
    select(stmt, node, source, qualifier)                        # SELECT ... FROM source LATERAL ...

Each embedded relation is a `LEFT JOIN LATERAL` subquery under its parent row, run by the caller's
role (so RLS applies to it as to the parent): to-many embeds are `json_agg` of the child rows (`[]`
when none), to-one embeds `row_to_json` of the row (null when none), and spreads lift the child's
columns into the parent (to-many spreads as one JSON array per column, as v13+ does). Each lateral
also yields a "found" flag, which `!inner` and `rel=[not.]is.null` test in the parent's WHERE.
PostgreSQL renders every value, so the JSON is exactly what PostgREST's own queries produce.
"""

from __future__ import annotations

import dataclasses
import itertools

from psycopg import sql

from . import relationships
from .errors import ApiError
from .grammar import Embed, SelectItem
from .sqlgen import Statement, condition, order_by, page, select_list

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

    @property
    def empty(self) -> bool:
        """`rel()`: only there to filter the parent, never shown (PostgREST's empty embed)."""
        return not self.items and all(c.empty for c in self.children)

    def outputs(self) -> list[str]:
        """The names this node's SELECT yields, in order."""
        names: list[str] = []
        for item in self.items:
            names.extend(list(self.table.columns) if item.field is None else [item.alias or item.field.label()])
        for child in self.children:
            if child.empty:
                continue
            names.extend(child.outputs() if child.embed.spread else [child.embed.label])
        return names


def has_embeds(select: list, nested: list) -> bool:
    return bool(nested) or any(isinstance(item, Embed) for item in select)


def plan(cache, root_name: str, root_table, select: list, nested: list) -> Node:
    root = _tree(root_table, select)
    for path, kind, value in nested:
        _apply(root, path, kind, value)
    _resolve(cache, root, root_name, 1, itertools.count(1))
    return root


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
        node.limit = value
    else:
        node.offset = value


def _resolve(cache, node: Node, origin: str, depth: int, counter) -> None:
    """Aliases as PostgREST names them (`<table>_<depth>`), so PostgreSQL's errors read the same;
    the lateral's alias gets a counter as well, as siblings may share a label."""
    for child in node.children:
        child.rel = relationships.find(cache.relationships, cache.schema, origin, child.embed.name, child.embed.hint)
        child.table = cache.tables[child.rel.foreign[1]]
        child.alias = sql.Identifier(f"{child.rel.foreign[1]}_{depth}")
        child.lateral = sql.Identifier(f"{origin}_{child.embed.label}_{depth}_{next(counter)}")
        child.parent_columns = list(node.table.columns)
        _resolve(cache, child, child.rel.foreign[1], depth + 1, counter)


# ---- SQL ---------------------------------------------------------------------------------------

def select(stmt: Statement, node: Node, source: sql.Composable, qualifier: sql.Composable, *,
           conditions=(), paged: bool = True) -> None:
    """`SELECT <outputs> FROM <source> <laterals> WHERE ...`; `conditions` are extra fragments the
    caller ANDs in first (a child's join to its parent)."""
    stmt.add(sql.SQL("SELECT "))
    _outputs(stmt, node, qualifier)
    stmt.add(sql.SQL(" FROM ")).add(source)
    for child in node.children:
        _lateral(stmt, child, qualifier)
    embedded = {c.embed.label: sql.SQL("{}.{}").format(c.lateral, FOUND) for c in node.children}
    embedded.update({c.embed.name: embedded[c.embed.label] for c in node.children})
    clauses = list(conditions)
    clauses += [lambda s, f=f: condition(s, qualifier, f, embedded) for f in node.filters]
    clauses += [lambda s, c=c: s.add(sql.SQL("{}.{} IS TRUE").format(c.lateral, FOUND))
                for c in node.children if c.embed.join == "inner"]
    for i, clause in enumerate(clauses):
        stmt.add(sql.SQL(" AND " if i else " WHERE "))
        clause(stmt)
    if paged:
        stmt.add(order_by(qualifier, node.order))
        page(stmt, node.limit, node.offset)


def _outputs(stmt: Statement, node: Node, qualifier: sql.Composable) -> None:
    parts = []
    own = select_list(qualifier, node.items, list(node.table.columns))
    if node.items:
        parts.append(own)
    for child in node.children:
        if child.empty:
            continue
        if child.embed.spread:
            parts += [sql.SQL("{}.{} AS {}").format(child.lateral, sql.Identifier(n), sql.Identifier(n))
                      for n in child.outputs()]
        elif child.rel.to_one:
            parts.append(sql.SQL("{}.{} AS {}").format(child.lateral, VALUE, sql.Identifier(child.embed.label)))
        else:
            parts.append(sql.SQL("coalesce({}.{}, '[]'::json) AS {}").format(
                child.lateral, VALUE, sql.Identifier(child.embed.label)))
    stmt.add(sql.SQL(", ").join(parts))


def _lateral(stmt: Statement, child: Node, parent: sql.Composable) -> None:
    stmt.add(sql.SQL(" LEFT JOIN LATERAL (SELECT "))
    if child.embed.spread and child.rel.to_one:
        stmt.add(sql.SQL("{}.*, true AS {}").format(ROW, FOUND))
    elif child.embed.spread:
        aggs = [sql.SQL("coalesce(json_agg({}.{}), '[]'::json) AS {}").format(ROW, sql.Identifier(n), sql.Identifier(n))
                for n in child.outputs()]
        stmt.add(sql.SQL(", ").join(aggs + [sql.SQL("count(*) > 0 AS {}").format(FOUND)]))
    elif child.rel.to_one:
        stmt.add(sql.SQL("row_to_json({}) AS {}, true AS {}").format(ROW, VALUE, FOUND))
    else:
        stmt.add(sql.SQL("json_agg({}) AS {}, count(*) > 0 AS {}").format(ROW, VALUE, FOUND))
    stmt.add(sql.SQL(" FROM ("))
    source, joins = _child_source(child, parent)
    select(stmt, child, source, child.alias, conditions=joins)
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
