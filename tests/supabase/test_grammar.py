"""The query-string grammar and the SQL it becomes (no database needed)."""

from __future__ import annotations

import pytest
from psycopg import sql

from dualsync.fakes.supabase import grammar, sqlgen, statements
from dualsync.fakes.supabase.errors import ApiError
from dualsync.fakes.supabase.grammar import Condition, Field, Logic, OrderTerm, SelectItem
from dualsync.fakes.supabase.schema import Column, Table


def parse_error(fn, *args) -> ApiError:
    with pytest.raises(ApiError) as caught:
        fn(*args)
    return caught.value


def test_filter_operators_and_negation():
    assert grammar.parse_filter("age", "gte.18") == Condition(Field("age"), "gte", "18")
    assert grammar.parse_filter("age", "not.eq.18") == Condition(Field("age"), "eq", "18", negated=True)
    assert grammar.parse_filter("t", "in.(a,\"b,c\",d)").value == ("a", "b,c", "d")
    assert grammar.parse_filter("t", "is.NULL").value == "null"
    assert grammar.parse_filter("t", "eq.a.b.c").value == "a.b.c"      # dots in the value are data
    assert grammar.parse_filter("t", "like(any).{a*,b*}") == Condition(Field("t"), "like", ("a*", "b*"),
                                                                       quantifier="any")
    assert grammar.parse_filter("doc", "fts(english).cat").language == "english"


def test_json_path_fields():
    field = grammar.parse_field("data->a->>b")
    assert field == Field("data", (("->", "a"), ("->>", "b"))) and field.label() == "b"


@pytest.mark.parametrize("column, expression", [
    ("a", "1"), ("a", "zz.1"), ("a", "in.1,2"), ("a", "is.maybe"), ("a", "eq(some).{1}"), ("", "eq.1"),
    ("a", "not.1"), ("a->", "eq.1"),
])
def test_bad_filters_are_pgrst100(column, expression):
    error = parse_error(grammar.parse_filter, column, expression)
    assert (error.status, error.code) == (400, "PGRST100")
    assert error.message.startswith('"failed to parse filter')


def test_logic_trees_nest():
    tree = grammar.parse_logic("or", "(a.eq.1,and(b.gt.2,c.not.is.null),not.or(d.eq.x,e.in.(1,2)))")
    assert tree.op == "or" and len(tree.children) == 3
    inner = tree.children[1]
    assert isinstance(inner, Logic) and inner.op == "and" and inner.children[1].negated
    assert tree.children[2].negated and tree.children[2].children[1].value == ("1", "2")
    assert grammar.parse_logic("or", '(a.eq."x,y")').children[0].value == "x,y"


@pytest.mark.parametrize("value", ["()", "(a.eq.1", "a.eq.1", "(a.eq.1))", "(a.zz.1)", "(a)"])
def test_bad_logic_trees_are_pgrst100(value):
    assert parse_error(grammar.parse_logic, "or", value).code == "PGRST100"


def test_select_items():
    items = grammar.parse_select("id,text:payload,kv:key_version::text,data->>k")
    assert items == [SelectItem(Field("id")), SelectItem(Field("payload"), "text"),
                     SelectItem(Field("key_version"), "kv", "text"), SelectItem(Field("data", (("->>", "k"),)))]
    assert grammar.parse_select("") == [SelectItem(None)]
    assert isinstance(grammar.parse_select("id,owner(name)")[1], grammar.Embed)
    assert parse_error(grammar.parse_select, "id::text;drop").code == "PGRST100"
    # aggregates parse; the gateway refuses them (PGRST123, or 501 when the database turns them on)
    assert grammar.parse_select("total:amount::int.sum()::text,count()") == [
        SelectItem(Field("amount"), "total", "int", "sum", "text"), SelectItem(Field("*"), None, None, "count")]


def test_order_terms():
    assert grammar.parse_order("a.desc.nullslast,b") == [OrderTerm(Field("a"), True, "last"), OrderTerm(Field("b"))]
    assert parse_error(grammar.parse_order, "a.up").code == "PGRST100"


def test_limits_and_ranges():
    assert grammar.parse_limit("10") == 10 and grammar.parse_offset("-3") == 0
    assert parse_error(grammar.parse_limit, "-1").status == 416
    assert grammar.parse_range_header("0-19") == (0, 20) and grammar.parse_range_header("5-") == (5, None)
    assert grammar.parse_range_header("bytes") is None
    assert grammar.parse_columns('"id","weird name",kind') == ["id", "weird name", "kind"]


TABLE = Table("public", "logs", {"id": Column("id", "uuid", False, False), "n": Column("n", "integer", True, True)},
              ("id",))


def render(statement) -> str:
    return statement.composed().as_string(None)


def test_identifiers_are_quoted_and_values_bound():
    hostile = 'n"; drop table logs; --'
    shape = statements.Shape([SelectItem(Field(hostile))], [Condition(Field(hostile), "eq", "'; drop --")],
                             [OrderTerm(Field(hostile))])
    stmt = statements.read(TABLE, shape)
    text = render(stmt)
    assert '"n""; drop table logs; --"' in text
    assert "'; drop --" not in text and stmt.params == ["'; drop --"]


def test_in_list_is_one_array_parameter():
    stmt = sqlgen.Statement()
    sqlgen.condition(stmt, sql.Identifier("t"), grammar.parse_filter("n", 'in.(1,"a\\"b",c\\d)'))
    assert stmt.params == ['{"1","a\\"b","c\\\\d"}']


def test_upsert_statement_shape():
    shape = statements.Shape([SelectItem(None)], [], [])
    text = render(statements.insert(TABLE, ["id", "n"], [{"id": "x", "n": 1}], shape,
                                    resolution="merge-duplicates", conflict=["id"], missing_default=False))
    assert 'ON CONFLICT ("id") DO UPDATE SET "id" = EXCLUDED."id", "n" = EXCLUDED."n"' in text
    assert "json_populate_recordset" in text
