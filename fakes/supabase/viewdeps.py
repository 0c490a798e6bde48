"""Where each column of a view comes from: (schema, table, column), followed through views of views.

PostgreSQL stores a view as the parse tree of its query (`pg_rewrite.ev_action`, in the node text
format). Each output column of that query is a TargetEntry whose `resorigtbl`/`resorigcol` name the
relation and column it was read from directly (PostgreSQL fills them for subqueries and CTEs too),
which is what PostgREST's own view-dependency query digs out. Expressions have no origin and carry
no relationship.
"""

from __future__ import annotations

VIEWS_SQL = """
select c.oid, n.nspname, c.relname, r.ev_action::text
from pg_rewrite r join pg_class c on c.oid = r.ev_class join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('v', 'm') and r.rulename = '_RETURN' and (n.nspname = %s or c.oid = any(%s))
"""
NAMES_SQL = """
select c.oid, n.nspname, c.relname, c.relkind, a.attnum, a.attname
from pg_class c join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.oid = any(%s)
"""
MAX_VIEW_DEPTH = 8


def tokens(text: str):
    """The node text format's tokens: braces and parentheses, else whitespace-separated words
    (a backslash escapes the next character, as outToken writes it)."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "{}()":
            yield ch
            i += 1
        else:
            word = []
            while i < n and not text[i].isspace() and text[i] not in "{}()":
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                word.append(text[i])
                i += 1
            yield "".join(word)


def parse(text: str):
    """Nodes become dicts (`{NAME :field value ...}` -> {"": NAME, field: value}), lists lists."""
    stream = tokens(text)

    def value(tok):
        if tok == "{":
            node = {"": next(stream)}
            key = None
            for t in stream:
                if t == "}":
                    return node
                if t.startswith(":") and key is None:
                    key = t[1:]
                    node[key] = None
                    continue
                if t.startswith(":"):
                    key = t[1:]
                    node[key] = None
                    continue
                node[key] = value(t)
                key = None
            return node
        if tok == "(":
            items = []
            for t in stream:
                if t == ")":
                    return items
                items.append(value(t))
            return items
        return tok

    first = next(stream, None)
    return value(first) if first is not None else None


def targets(ev_action: str) -> list[tuple[str, int, int]]:
    """(output column, origin relation oid, origin attnum) of the view query's visible columns."""
    tree = parse(ev_action)
    query = tree[0] if isinstance(tree, list) and tree else tree
    out = []
    for entry in (query or {}).get("targetList") or []:
        if not isinstance(entry, dict) or entry.get("resjunk") == "true":
            continue
        try:
            out.append((entry.get("resname"), int(entry.get("resorigtbl") or 0), int(entry.get("resorigcol") or 0)))
        except (TypeError, ValueError):
            continue
    return out


async def column_origins(conn, schema: str) -> dict[tuple[str, str], dict[str, tuple[str, str, str]]]:
    """{(view schema, view): {view column: (schema, table, column)}} for the views of `schema`."""
    raw: dict[int, tuple[str, str, list]] = {}
    wanted: list[int] = []
    for _ in range(MAX_VIEW_DEPTH):
        rows = await (await conn.execute(VIEWS_SQL, (schema if not raw else "", wanted))).fetchall()
        for oid, nsp, name, action in rows:
            if oid not in raw:
                try:
                    raw[oid] = (nsp, name, targets(action))
                except (RecursionError, StopIteration):
                    raw[oid] = (nsp, name, [])
        referenced = {o for _, _, ts in raw.values() for _, o, _ in ts if o}
        wanted = [o for o in referenced if o not in raw]
        if not rows or not wanted:
            break
    oids = list({o for _, _, ts in raw.values() for _, o, _ in ts if o})
    names: dict[tuple[int, int], tuple[str, str, str]] = {}
    kinds: dict[int, str] = {}
    for oid, nsp, rel, kind, attnum, attname in await (await conn.execute(NAMES_SQL, (oids,))).fetchall():
        names[(oid, attnum)] = (nsp, rel, attname)
        kinds[oid] = kind

    def resolve(oid: int, attnum: int, depth: int = 0):
        if (oid, attnum) not in names or depth > MAX_VIEW_DEPTH:
            return None
        if kinds.get(oid) not in ("v", "m") or oid not in raw:
            return names[(oid, attnum)]
        column = names[(oid, attnum)][2]
        for name, src, col in raw[oid][2]:
            if name == column and src:
                return resolve(src, col, depth + 1)
        return None

    out = {}
    for oid, (nsp, name, ts) in raw.items():
        if nsp != schema:
            continue
        cols = {}
        for column, src, col in ts:
            if src and column:
                found = resolve(src, col)
                if found:
                    cols[column] = found
        out[(nsp, name)] = cols
    return out
