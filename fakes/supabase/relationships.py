"""Relationships between the exposed relations, read from the catalog as PostgREST v14 detects them.

- every foreign key gives a many-to-one (one-to-one when its columns are a primary key or unique
  constraint of the table) and its inverse, one-to-many (or one-to-one);
- a view whose columns come straight from a table's FK (or referenced) columns carries that table's
  relationships (`viewdeps` finds where each view column comes from);
- a table with FKs to two relations whose columns all lie in its primary key is a junction: the two
  relations are many-to-many through it;
- a function `f(row_type) returns [setof] other_table` is a computed relationship named `f`
  (to-one when it returns one row or is declared `rows 1`); it overrides a detected one of that name.

`find` picks the one relationship an embed names, with PostgREST's PGRST200/PGRST201 errors.
"""

from __future__ import annotations

import dataclasses

from . import fuzzy, viewdeps
from .errors import ApiError

FKS_SQL = """
with uniq as (
  select conrelid, array_agg(key order by key) as cols
  from pg_constraint, unnest(conkey) as _(key)
  where contype in ('p', 'u') group by oid, conrelid)
select n1.nspname, t1.relname, n2.nspname, t2.relname, k.conname,
       array_agg(a1.attname::text order by u.ord), array_agg(a2.attname::text order by u.ord),
       array_agg(a1.attnum order by a1.attnum) in (select cols from uniq where conrelid = k.conrelid)
from pg_constraint k
cross join lateral unnest(k.conkey, k.confkey) with ordinality as u(col, ref, ord)
join pg_attribute a1 on a1.attrelid = k.conrelid and a1.attnum = u.col
join pg_attribute a2 on a2.attrelid = k.confrelid and a2.attnum = u.ref
join pg_class t1 on t1.oid = k.conrelid join pg_namespace n1 on n1.oid = t1.relnamespace
join pg_class t2 on t2.oid = k.confrelid join pg_namespace n2 on n2.oid = t2.relnamespace
where k.contype = 'f' and k.conparentid = 0
group by n1.nspname, t1.relname, n2.nspname, t2.relname, k.conname, k.conrelid, k.oid
order by k.conrelid, k.conname
"""

COMPUTED_SQL = """
select p.proname, an.nspname, ac.relname, rn.nspname, rc.relname, not p.proretset or p.prorows = 1
from pg_proc p
join pg_namespace pn on pn.oid = p.pronamespace
join pg_class ac on ac.reltype = p.proargtypes[0] join pg_namespace an on an.oid = ac.relnamespace
join pg_class rc on rc.reltype = p.prorettype join pg_namespace rn on rn.oid = rc.relnamespace
where pn.nspname = %s and p.pronargs = 1 and p.prokind = 'f'
  and ac.relkind in ('v', 'r', 'm', 'f', 'p') and rc.relkind in ('v', 'r', 'm', 'f', 'p')
order by p.proname
"""

KIND_ORDER = {"o2m": 0, "m2o": 1, "o2o": 2, "m2m": 3, "computed": 4}


@dataclasses.dataclass(frozen=True)
class Relationship:
    table: tuple[str, str]                  # (schema, name): the origin
    foreign: tuple[str, str]                # the target
    kind: str                               # o2m, m2o, o2o, m2m, computed
    constraint: str                         # FK name (m2m: the first junction FK; computed: the function)
    columns: tuple[tuple[str, str], ...] = ()   # (origin column, target column)
    is_self: bool = False
    table_is_view: bool = False
    foreign_is_view: bool = False
    parent: bool = False                    # o2o: the origin is the referenced side
    junction: tuple[str, str] | None = None
    constraint2: str = ""
    junction_source: tuple[tuple[str, str], ...] = ()   # (origin column, junction column)
    junction_target: tuple[tuple[str, str], ...] = ()   # (target column, junction column)
    to_one_computed: bool = False

    @property
    def to_one(self) -> bool:
        return self.kind in ("m2o", "o2o") or (self.kind == "computed" and self.to_one_computed)

    def sort_key(self):
        return (self.kind == "computed", self.table, self.foreign, self.is_self, KIND_ORDER[self.kind],
                self.junction or ("", ""), self.constraint, self.constraint2, self.columns)

    def described(self) -> dict:
        """One candidate in a PGRST201 `details` list."""
        def cols(pairs, side):
            return "(" + ", ".join(p[side] for p in pairs) + ")"
        out = {"cardinality": {"o2m": "one-to-many", "m2o": "many-to-one", "o2o": "one-to-one",
                               "m2m": "many-to-many"}.get(self.kind, ""),
               "embedding": f"{self.table[1]} with {self.foreign[1]}"}
        if self.kind == "m2m":
            out["relationship"] = (f"{self.junction[1]} using {self.constraint}{cols(self.junction_source, 1)} and "
                                   f"{self.constraint2}{cols(self.junction_target, 1)}")
        else:
            out["relationship"] = (f"{self.constraint} using {self.table[1]}{cols(self.columns, 0)} and "
                                   f"{self.foreign[1]}{cols(self.columns, 1)}")
        return out

    def hint_form(self) -> str:
        return f"'{self.foreign[1]}!{self.junction[1] if self.kind == 'm2m' else self.constraint}'"


async def load(conn, schema: str, tables: dict) -> dict[str, list[Relationship]]:
    """Relationships by origin name, every end in `schema`; `tables` (the cache's) gets view keys."""
    kinds = {}
    cur = await conn.execute("select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n "
                             "on n.oid = c.relnamespace where c.relkind in ('v','r','m','f','p') "
                             "and n.nspname not in ('pg_catalog', 'information_schema')")
    for nsp, rel, kind in await cur.fetchall():
        kinds[(nsp, rel)] = kind
    is_view = {k: v in ("v", "m") for k, v in kinds.items()}
    base: list[Relationship] = []
    for nsp1, t1, nsp2, t2, cons, cols, fcols, one in await (await conn.execute(FKS_SQL)).fetchall():
        base.append(Relationship((nsp1, t1), (nsp2, t2), "o2o" if one else "m2o", cons, tuple(zip(cols, fcols)),
                                 is_self=(nsp1, t1) == (nsp2, t2)))
    origins = await viewdeps.column_origins(conn, schema)
    base += _view_rels(base, origins)
    _view_primary_keys(tables, origins, schema)
    pks = {(schema, name): set(t.primary_key) for name, t in tables.items()}
    rels = base + _m2m(base, pks)
    rels += [_inverse(r) for r in base]
    rels = [dataclasses.replace(r, table_is_view=is_view.get(r.table, False),
                                foreign_is_view=is_view.get(r.foreign, False)) for r in rels]
    by_origin: dict[str, list[Relationship]] = {}
    for rel in rels:
        if rel.table[0] == schema and rel.foreign[0] == schema and (rel.junction is None or rel.junction[0] == schema):
            by_origin.setdefault(rel.table[1], []).append(rel)
    for name, nsp1, t1, nsp2, t2, single in await (await conn.execute(COMPUTED_SQL, (schema,))).fetchall():
        if nsp1 != schema or nsp2 != schema:
            continue
        found = by_origin.setdefault(t1, [])
        found[:] = [r for r in found if r.foreign[1] != name]       # the function's name overrides
        found.append(Relationship((nsp1, t1), (nsp2, t2), "computed", name, is_self=t1 == t2,
                                  to_one_computed=bool(single)))
    for found in by_origin.values():
        found.sort(key=Relationship.sort_key)
    return by_origin


def _inverse(rel: Relationship) -> Relationship:
    swapped = tuple((b, a) for a, b in rel.columns)
    return dataclasses.replace(rel, table=rel.foreign, foreign=rel.table, columns=swapped,
                               kind="o2m" if rel.kind == "m2o" else "o2o", parent=rel.kind == "o2o")


def _view_rels(base: list[Relationship], origins: dict) -> list[Relationship]:
    """FK relationships carried over to the views whose columns are the FK's (or referenced) columns."""
    # origins: (view schema, view name) -> {view column: (table schema, table, table column)}
    def views_over(table, columns):
        found = []
        for view, cols in origins.items():
            options = [[vc for vc, src in cols.items() if src == (*table, c)] for c in columns]
            if all(options):
                found.extend((view, combo) for combo in _product(options))
        return found
    out = []
    for rel in base:
        from_views = views_over(rel.table, [c for c, _ in rel.columns])
        to_views = views_over(rel.foreign, [f for _, f in rel.columns])
        for view, vcols in from_views:
            out.append(dataclasses.replace(rel, table=view, columns=tuple(zip(vcols, (f for _, f in rel.columns))),
                                           is_self=False))
        for view, vcols in to_views:
            out.append(dataclasses.replace(rel, foreign=view, columns=tuple(zip((c for c, _ in rel.columns), vcols)),
                                           is_self=False))
        for view1, vcols1 in from_views:
            for view2, vcols2 in to_views:
                out.append(dataclasses.replace(rel, table=view1, foreign=view2, columns=tuple(zip(vcols1, vcols2)),
                                               is_self=view1 == view2))
    return out


def _product(options):
    if not options:
        return [()]
    return [(first, *rest) for first in options[0] for rest in _product(options[1:])]


def _view_primary_keys(tables: dict, origins: dict, schema: str) -> None:
    """A view shows its table's primary key when it shows every column of it (the first such column)."""
    by_name = {(schema, name): t for name, t in tables.items()}
    for (vschema, view), cols in origins.items():
        if vschema != schema or view not in tables or tables[view].primary_key:
            continue
        sources = {src[:2] for src in cols.values()}
        for source in sources:
            table = by_name.get(source)
            if table is None or not table.primary_key:
                continue
            keys = [next((vc for vc, src in cols.items() if src == (*source, k)), None) for k in table.primary_key]
            if all(keys):
                tables[view].primary_key = tuple(keys)
                break


def _m2m(rels: list[Relationship], pks: dict) -> list[Relationship]:
    out = []
    by_table: dict = {}
    for rel in rels:
        if rel.kind == "m2o":
            by_table.setdefault(rel.table, []).append(rel)
    for junction, fks in by_table.items():
        for one in fks:
            for two in fks:
                if one.constraint == two.constraint:
                    continue
                if {c for c, _ in one.columns} | {c for c, _ in two.columns} <= pks.get(junction, set()):
                    out.append(Relationship(one.foreign, two.foreign, "m2m", one.constraint, (),
                                            is_self=one.foreign == two.foreign, junction=junction,
                                            constraint2=two.constraint,
                                            junction_source=tuple((f, c) for c, f in one.columns),
                                            junction_target=tuple((f, c) for c, f in two.columns)))
    return out


# ---- choosing one ----------------------------------------------------------------------------

def find(rels: dict[str, list[Relationship]], schema: str, origin: str, target: str, hint: str | None
         ) -> Relationship:
    found = [r for r in rels.get(origin, []) if _matches(r, target, hint)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise no_relationship(rels, schema, origin, target, hint)
    raise ApiError(300, "PGRST201", f"Could not embed because more than one relationship was found for "
                   f"'{origin}' and '{target}'", [r.described() for r in found],
                   f"Try changing '{target}' to one of the following: {', '.join(r.hint_form() for r in found)}. "
                   "Find the desired relationship in the 'details' key.")


def no_relationship(rels: dict, schema: str, origin: str, target: str, hint: str | None) -> ApiError:
    using = f"' using the hint '{hint}" if hint is not None else ""
    return ApiError(400, "PGRST200", f"Could not find a relationship between '{origin}' and '{target}' in the "
                    "schema cache", f"Searched for a foreign key relationship between '{origin}' and "
                    f"'{target}{using}' in the schema '{schema}', but no matches were found.",
                    _no_rel_hint(rels, origin, target))


def _single(rel: Relationship, side: int) -> str | None:
    if rel.kind in ("o2m", "m2o", "o2o") and len(rel.columns) == 1:
        return rel.columns[0][side]
    return None


def _matches(rel: Relationship, target: str, hint: str | None) -> bool:
    if rel.kind == "computed":
        return target == rel.constraint
    fk = rel.constraint if rel.kind in ("o2m", "m2o", "o2o") else None
    if rel.is_self:
        if hint is None:
            return (target == rel.foreign[1] and rel.kind == "o2m") or (_single(rel, 0) == target and rel.kind == "m2o")
        return target == rel.foreign[1] and rel.kind == "o2m" and _single(rel, 1) == hint
    if hint is None:
        return target == rel.foreign[1] or (not rel.foreign_is_view and target in (fk, _single(rel, 0)))
    return target == rel.foreign[1] and (
        hint in (fk, _single(rel, 0), _single(rel, 1)) or (rel.kind == "m2m" and hint == rel.junction[1]))


def _no_rel_hint(rels: dict, origin: str, target: str) -> str | None:
    """PostgREST's `noRelBetweenHint`: a close target when the origin has relationships (none when the
    target is one of them: then the hint is what failed), else a close origin."""
    if origin in rels:
        names = list(dict.fromkeys(r.foreign[1] for r in rels[origin]))
        if target.lower() in {n.lower() for n in names}:
            return None
        close = fuzzy.best(names, target)
        return f"Perhaps you meant '{close}' instead of '{target}'." if close else None
    close = fuzzy.best(list(rels), origin)
    return f"Perhaps you meant '{close}' instead of '{origin}'." if close else None
