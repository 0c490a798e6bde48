"""The generated SQL, composed once per request shape and reused with each request's values.

Two requests have one shape when they differ only in the values they compare with (`id=eq.1` and
`id=eq.2`, `in.(...)` lists of any length, the JSON body of a write): the statement is built by
`statements` once, with a `Slot` in place of each value, rendered to text, and kept in a bounded
LRU; every later request of that shape binds its own values to the same text. Everything else the
SQL is made of is part of the key: the operation, the Table object (and, with embeds, every embedded
Table and relationship object, so a plan is never shared across schema caches, schemas or reloads),
the select list, the filters' columns, operators, negation, quantifiers and `is` values, the order,
limit and offset (rendered as literals), count, the media type's rendering, and a write's columns,
conflict target and resolution. Not cached: `/rpc` calls and count=planned's EXPLAIN (composed per
request, as before).

    cache = StatementCache()
    stmt = cache.read(table, shape)           # same arguments as statements.read / insert / update / delete
    cache.clear()                             # when the schema cache is dropped or reloaded
"""

from __future__ import annotations

import collections
import dataclasses

from psycopg import sql

from . import statements
from .embed import Node
from .grammar import Condition, Logic
from .sqlgen import Slot, Statement

SIZE = 512          # shapes kept; a gateway serves a handful of them in any test or sync loop


@dataclasses.dataclass
class _Entry:
    table: object           # the root Table: the key holds its id, this holds it alive and is checked
    text: str | None        # the SQL with %s placeholders; None: not cacheable, build every time
    params: list            # Slot (a request's value, maybe transformed) or a constant
    plan: object = None     # the embed tree: holds alive the Tables and relationships whose ids are keyed


class StatementCache:
    def __init__(self, size: int = SIZE):
        self.size = size
        self.entries: collections.OrderedDict[tuple, _Entry] = collections.OrderedDict()
        self.hits = self.misses = 0

    def clear(self) -> None:
        self.entries.clear()

    def read(self, table, shape: statements.Shape) -> Statement:
        return self._statement(("read",), table, shape, lambda t, s, _: statements.read(t, s))

    def delete(self, table, shape: statements.Shape) -> Statement:
        return self._statement(("delete",), table, shape, lambda t, s, _: statements.delete(t, s))

    def insert(self, table, columns: list[str], rows: list[dict], shape: statements.Shape, *,
               resolution: str | None, conflict: list[str], missing_default: bool) -> Statement:
        key = ("insert", tuple(columns), resolution, tuple(conflict), missing_default)
        return self._statement(key, table, shape, lambda t, s, body: statements.insert(
            t, columns, body, s, resolution=resolution, conflict=conflict, missing_default=missing_default),
            body=rows)

    def update(self, table, columns: list[str], row: dict, shape: statements.Shape, *,
               missing_default: bool = False) -> Statement:
        key = ("update", tuple(columns), missing_default)
        return self._statement(key, table, shape, lambda t, s, body: statements.update(
            t, columns, body, s, missing_default=missing_default), body=row)

    def _statement(self, head: tuple, table, shape: statements.Shape, build, body=None) -> Statement:
        values: list = [] if body is None else [body]
        key, filters, before_plan = self.key(head, table, shape, values)
        try:
            entry = self.entries.get(key)
        except TypeError:               # something unhashable in the request's structure: not cached
            return build(table, shape, body)
        if entry is not None and self.reusable(entry, table):
            self.hits += 1
            try:
                self.entries.move_to_end(key)
            except KeyError:        # cleared or evicted meanwhile by a request on another thread's loop
                pass
        else:
            self.misses += 1
            entry = self._compose(table, shape, filters, before_plan, build, body)
            self.entries[key] = entry
            while len(self.entries) > self.size:
                try:
                    self.entries.popitem(last=False)
                except KeyError:
                    break
        if entry.text is None:          # not renderable without a connection: the builders' own way
            return build(table, shape, body)
        return Statement([sql.SQL(entry.text)],
                         [p.resolve(values) if isinstance(p, Slot) else p for p in entry.params])

    @staticmethod
    def reusable(entry: _Entry, table) -> bool:
        """The key holds the Table's id; this is the same Table, not one that took a freed one's id."""
        return entry.table is table

    @staticmethod
    def key(head: tuple, table, shape: statements.Shape, values: list) -> tuple[tuple, tuple, int]:
        """(the shape's key, the root filters with Slots, how many values precede the plan's); the
        request's values are appended to `values` in the order the Slots number them."""
        filters = tuple(_strip(f, values) for f in shape.filters)
        before_plan = len(values)
        plan = _plan_key(shape.plan, values) if shape.plan is not None else None
        key = (head, id(table), tuple(shape.select), filters, tuple(shape.order), shape.limit, shape.offset,
               shape.count, shape.singular, shape.body, shape.render, shape.strip_nulls, shape.count_limit, plan)
        return key, filters, before_plan

    @staticmethod
    def _compose(table, shape: statements.Shape, filters: tuple, before_plan: int, build, body) -> _Entry:
        """Build the statement once with Slots for values; the plan's filters are numbered after the
        body's and the root filters' values, as `_plan_key` collected them."""
        plan = _plan_template(shape.plan, [None] * before_plan) if shape.plan is not None else None
        template = dataclasses.replace(shape, filters=list(filters), plan=plan)
        stmt = build(table, template, Slot(0) if body is not None else None)
        try:
            text = stmt.composed().as_string(None)
        except (ValueError, UnicodeError):      # NUL bytes, lone surrogates: the connection refuses them later
            return _Entry(table, None, [], plan)
        if "\x00" in text:
            return _Entry(table, None, [], plan)
        return _Entry(table, text, list(stmt.params), plan)


def _strip(node, values: list):
    """A filter with each compared value replaced by a Slot (appended to `values`); `is` values stay,
    as they are SQL keywords, and so does a full-text search's language."""
    if isinstance(node, Logic):
        return dataclasses.replace(node, children=tuple(_strip(c, values) for c in node.children))
    if isinstance(node, Condition) and node.op != "is":
        values.append(node.value)
        return dataclasses.replace(node, value=Slot(len(values) - 1))
    return node


def _plan_key(node: Node, values: list) -> tuple:
    """What an embed tree contributes to the SQL, depth first; its filters' values go to `values`
    in the same order `_plan_template` numbers them."""
    return (id(node.table), id(node.rel), node.embed, tuple(node.items), tuple(_strip(f, values) for f in node.filters),
            tuple(node.order), node.limit, node.offset, tuple(node.order_fields), tuple(node.parent_columns),
            tuple(_plan_key(c, values) for c in node.children))


def _plan_template(node: Node, values: list) -> Node:
    filters = [_strip(f, values) for f in node.filters]
    return dataclasses.replace(node, filters=filters, children=[_plan_template(c, values) for c in node.children])
