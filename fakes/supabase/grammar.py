"""PostgREST's query-string grammar (the subset sync clients and supabase-py send), parsed to a tree.

Nothing here touches SQL: names stay plain strings until `sqlgen` quotes them, values stay strings
until they are bound as parameters. Every malformed input raises `ApiError` PGRST100 (or the code
PostgREST gives), never anything else.
"""

from __future__ import annotations

import dataclasses
import re

from .errors import ApiError, not_implemented, parse_error

OPERATORS = {
    "eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=",
    "like": "LIKE", "ilike": "ILIKE", "match": "~", "imatch": "~*",
    "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>", "nxr": "&<", "nxl": "&>", "adj": "-|-",
    "is": "IS", "isdistinct": "IS DISTINCT FROM", "in": "= ANY",
    "fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery", "wfts": "websearch_to_tsquery",
}
QUANTIFIABLE = {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"}
FTS = {"fts", "plfts", "phfts", "wfts"}
IS_VALUES = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
RESERVED = {"select", "columns", "on_conflict", "order", "limit", "offset", "and", "or", "not.and", "not.or"}
_OPS_HINT = "operator (eq, gt, ...)"
_NAME = re.compile(r'"(?:[^"\\]|\\.)*"|(?:[^.,:()"\-]|-(?!>))+')
_PATH_STEP = re.compile(r'(->>|->)("(?:[^"\\]|\\.)*"|(?:[^.,:()"\-]|-(?!>))+)')
_CAST = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[\])?$")
_INT = re.compile(r"^[0-9]+$")


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    path: tuple[tuple[str, str], ...] = ()   # (arrow, key) steps of a JSON path

    def label(self) -> str:
        """The output name PostgREST gives: the last JSON key, or the column itself."""
        return self.path[-1][1] if self.path else self.name


@dataclasses.dataclass(frozen=True)
class SelectItem:
    field: Field | None          # None means `*`
    alias: str | None = None
    cast: str | None = None
    aggregate: str | None = None  # `col.sum()`, `count()` (field `*`): parsed, served by no one yet
    aggregate_cast: str | None = None


@dataclasses.dataclass(frozen=True)
class Embed:
    """A resource embedding `[alias:]rel[!hint][!inner|!left](...)` or a spread `...rel(...)`."""
    name: str
    alias: str | None = None
    hint: str | None = None
    join: str | None = None          # "inner" / "left"
    spread: bool = False
    select: tuple = ()               # SelectItem / Embed; () for an empty embed `rel()`

    @property
    def label(self) -> str:
        return self.alias or self.name


@dataclasses.dataclass(frozen=True)
class Condition:
    field: Field
    op: str
    value: str | tuple[str, ...] | None
    negated: bool = False
    quantifier: str | None = None   # "any" / "all"
    language: str | None = None     # full-text search configuration


@dataclasses.dataclass(frozen=True)
class Logic:
    op: str                     # "and" / "or"
    children: tuple["Condition | Logic", ...]
    negated: bool = False


@dataclasses.dataclass(frozen=True)
class OrderTerm:
    field: Field
    desc: bool = False
    nulls: str | None = None    # "first" / "last"
    relation: str | None = None  # `order=rel(col)`: a column of a to-one embed


def unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return token


def parse_field(text: str, what: str = "filter") -> Field:
    match = _NAME.match(text)
    if not match:
        raise parse_error(what, text, 1, "unexpected end of input expecting field name")
    pos, steps = match.end(), []
    while pos < len(text):
        step = _PATH_STEP.match(text, pos)
        if not step:
            raise parse_error(what, text, pos + 1, f"unexpected {text[pos]!r} expecting \"->\" or end of input")
        steps.append((step.group(1), unquote(step.group(2))))
        pos = step.end()
    name = unquote(match.group(0)).strip() if match.group(0)[0] == '"' else match.group(0).strip()
    if not name:
        raise parse_error(what, text, 1, "unexpected end of input expecting field name")
    return Field(name, tuple(steps))


def split_top(text: str, what: str, raw: str, arrays: bool = False) -> list[str]:
    """Split on commas outside parentheses and double quotes. With `arrays` (a logic tree's values),
    a value that starts with `{` runs to the next `}` whatever it holds, as PostgREST's pPgArray reads it."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\":
            i += 2
            continue
        if arrays and not quoted and ch == "{" and i and text[i - 1] == ".":
            close = text.find("}", i)
            if close < 0:
                raise parse_error(what, raw, len(text) + 1, 'unexpected end of input expecting "}"')
            i = close + 1
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth < 0:
                raise parse_error(what, raw, i + 1, "unexpected \")\"")
        elif not quoted and depth == 0 and ch == ",":
            parts.append(text[start:i])
            start = i + 1
        i += 1
    if depth or quoted:
        raise parse_error(what, raw, len(text) + 1, "unexpected end of input expecting \")\" or '\"'")
    parts.append(text[start:])
    return parts


# ---- filters -------------------------------------------------------------------------------

def parse_filter(column: str, expression: str) -> Condition:
    """`col=[not.]op[(modifier)].value` as it appears in a query parameter."""
    raw = expression
    field = parse_field(column)
    negated = expression.startswith("not.")
    if negated:
        expression = expression[4:]
    return _operation(field, expression, negated, raw)


def _operation(field: Field, expression: str, negated: bool, raw: str) -> Condition:
    match = re.match(r"^([a-z_]+)(?:\(([^)]*)\))?\.", expression)
    if not match or match.group(1) not in OPERATORS:
        raise parse_error("filter", raw, 1, f'unexpected "{expression[:1]}" expecting "not" or {_OPS_HINT}')
    op, modifier, value = match.group(1), match.group(2), expression[match.end():]
    if op in FTS:
        return Condition(field, op, value, negated, language=modifier)
    if modifier is not None:
        return _quantified(field, op, modifier, value, negated, raw)
    return Condition(field, op, _operand(op, value, raw), negated)


def _quantified(field: Field, op: str, modifier: str, value: str, negated: bool, raw: str) -> Condition:
    if modifier not in ("any", "all") or op not in QUANTIFIABLE:
        raise parse_error("filter", raw, len(op) + 2, 'unexpected modifier expecting "any" or "all"')
    items = _list_value(value, "{", "}", raw)
    return Condition(field, op, items, negated, quantifier=modifier)


def _operand(op: str, value: str, raw: str) -> str | tuple[str, ...] | None:
    if op == "in":
        return _list_value(value, "(", ")", raw)
    if op == "is":
        key = value.lower()
        if key not in IS_VALUES:
            raise parse_error("filter", raw, len(raw) - len(value) + 1,
                              'unexpected value expecting "null", "not_null", "true", "false" or "unknown"')
        return key
    return value


def _list_value(value: str, opening: str, closing: str, raw: str) -> tuple[str, ...]:
    if not (value.startswith(opening) and value.endswith(closing)):
        raise parse_error("filter", raw, len(raw) - len(value) + 1, f'unexpected value expecting "{opening}"')
    inner = value[1:-1]
    if inner == "":
        return ()
    return tuple(unquote(item.strip()) if item.strip().startswith('"') else item
                 for item in split_top(inner, "filter", raw))


# ---- logic trees ---------------------------------------------------------------------------

def parse_logic(key: str, value: str) -> Logic:
    """`or=(a.eq.1,b.lt.2)` / `not.and=(...)`: key is the operator, value the parenthesised list."""
    negated = key.startswith("not.")
    op = key[4:] if negated else key
    return _tree(op, value, negated, value)     # v14 names only the value: "failed to parse logic tree ((...))"


def _tree(op: str, body: str, negated: bool, raw: str) -> Logic:
    body = body.strip()                         # whitespace around parentheses and commas is allowed (lexeme)
    if not (body.startswith("(") and body.endswith(")")) or not body[1:-1].strip():
        raise parse_error("logic tree", raw, len(op) + 2, 'unexpected ")" expecting field name (* or [a..z0..9_$]), '
                          "negation operator (not) or logic operator (and, or)")
    children = tuple(_tree_item(part.strip(), raw) for part in split_top(body[1:-1], "logic tree", raw, arrays=True))
    return Logic(op, children, negated)


def _tree_item(text: str, raw: str) -> Condition | Logic:
    nested = re.match(r"(not\.)?(and|or)\s*\(", text)
    if nested:
        return _tree(nested.group(2), text[nested.end() - 1:], bool(nested.group(1)), raw)
    match = _NAME.match(text)
    if not match:
        raise parse_error("logic tree", raw, 1, "unexpected end of input expecting field name")
    end = match.end()
    while end < len(text) and text.startswith("->", end):
        step = _PATH_STEP.match(text, end)
        if not step:
            break
        end = step.end()
    if not text.startswith(".", end):
        raise parse_error("logic tree", raw, end + 1, 'unexpected end of input expecting "."')
    field = parse_field(text[:end], "logic tree")
    expression = text[end + 1:]
    negated_op = expression.startswith("not.")
    value = _operation(field, expression[4:] if negated_op else expression, negated_op, raw)
    if value.op not in ("in",) and isinstance(value.value, str):
        value = dataclasses.replace(value, value=unquote(value.value))
    return value


# ---- select, order, ranges, column lists ---------------------------------------------------

MAX_EMBED_DEPTH = 64


def parse_select(text: str) -> list[SelectItem | Embed]:
    if text.strip() == "":
        return [SelectItem(None)]
    parts = split_top(text, "select", text)
    depth = deepest = 0
    for ch in text:         # parentheses are balanced here; quoted ones only make this stricter
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_EMBED_DEPTH:
        raise not_implemented(f"embeds nested deeper than {MAX_EMBED_DEPTH} levels")
    return [_select_item(part.strip(), text) for part in parts]


def _select_item(text: str, raw: str) -> SelectItem | Embed:
    if text == "*":
        return SelectItem(None)
    aggregate = _AGGREGATE.fullmatch(text)
    if aggregate:
        return _aggregate_item(aggregate, raw)
    if text.endswith(")"):
        return _embed(text, raw)
    alias = None
    head = re.match(r'^("(?:[^"\\]|\\.)*"|[^:"]+):(?!:)', text)
    if head:
        alias, text = unquote(head.group(1)), text[head.end():]
    cast = None
    if "::" in text:
        text, cast = text.rsplit("::", 1)
        if not _CAST.match(cast):
            raise parse_error("select", raw, len(raw) - len(cast) + 1, "unexpected cast type expecting a type name")
    if not text:
        raise parse_error("select", raw, 1, "unexpected end of input expecting field name")
    return SelectItem(parse_field(text, "select"), alias, cast)


_AGGREGATE = re.compile(r'(?:(?P<alias>"(?:[^"\\]|\\.)*"|[^:"()]+):(?!:))?(?:(?P<body>[^()]+)\.)?'
                        r'(?P<fn>sum|avg|min|max|count)\(\)(?:::(?P<cast>[A-Za-z_][A-Za-z0-9_]*))?')


def _aggregate_item(match: re.Match, raw: str) -> SelectItem:
    body, fn = match.group("body"), match.group("fn")
    if body is None and fn != "count":
        raise parse_error("select", raw, 1, "unexpected \"(\" expecting field name")
    cast = None
    if body and "::" in body:
        body, cast = body.rsplit("::", 1)
        if not _CAST.match(cast):
            raise parse_error("select", raw, 1, "unexpected cast type expecting a type name")
    alias = unquote(match.group("alias")) if match.group("alias") else None
    field = parse_field(body, "select") if body else Field("*")
    return SelectItem(field, alias, cast, fn, match.group("cast"))


def aggregates_in(items) -> bool:
    return any(getattr(i, "aggregate", None) or (isinstance(i, Embed) and aggregates_in(i.select)) for i in items)


_EMBED_HEAD = re.compile(r'^(?:("(?:[^"\\]|\\.)*"|[^:"!().,]+):(?!:))?(\.\.\.)?("(?:[^"\\]|\\.)*"|[^:"!().,]+)'
                         r'((?:!(?:"(?:[^"\\]|\\.)*"|[^:"!().,]+))*)\(')


def _embed(text: str, raw: str) -> Embed:
    """`[alias:]name[!p][!p](items)` or `...name[!p][!p](items)`, `!inner`/`!left` or a hint each."""
    head = _EMBED_HEAD.match(text)
    if not head or (head.group(1) and head.group(2)):
        raise parse_error("select", raw, 1, "unexpected \"(\" expecting field name or embedded resource")
    params = [unquote(p) for p in re.findall(r'!("(?:[^"\\]|\\.)*"|[^!]+)', head.group(4))]
    if len(params) > 2 or any(not p.strip() for p in params):
        raise parse_error("select", raw, len(raw) - len(text) + head.end(), 'unexpected "!" expecting "("')
    join = next((p for p in params if p in ("inner", "left")), None)
    hint = next((p for p in params if p not in ("inner", "left")), None)
    name = unquote(head.group(3)).strip()
    if not name or name == "count":
        raise parse_error("select", raw, 1, "unexpected \"(\" expecting field name or embedded resource")
    inner = text[head.end():-1]
    items = () if inner.strip() == "" else tuple(_select_item(part.strip(), raw) for part in split_top(inner, "select", raw))
    alias = unquote(head.group(1)) if head.group(1) else None
    return Embed(name, alias, hint, join, bool(head.group(2)), items)


def parse_order(text: str) -> list[OrderTerm]:
    terms = []
    for part in split_top(text, "order", text):
        related = re.match(r'^([^.()"]+)\(([^()]*)\)', part)
        relation = None
        if related:
            relation, part = related.group(1).strip(), related.group(2) + part[related.end():]
        pieces = part.split(".")
        modifiers = pieces[1:]
        desc, nulls = False, None
        if modifiers and modifiers[0] in ("asc", "desc"):
            desc = modifiers.pop(0) == "desc"
        if modifiers and modifiers[0] in ("nullsfirst", "nullslast"):
            nulls = modifiers.pop(0)[5:]
        if modifiers or not pieces[0]:
            raise parse_error("order", text, len(pieces[0]) + 2,
                              'unexpected modifier expecting "asc", "desc", "nullsfirst" or "nullslast"')
        terms.append(OrderTerm(parse_field(pieces[0], "order"), desc, nulls, relation))
    return terms


def parse_limit(text: str) -> int:
    stripped = text.strip()
    if re.fullmatch(r"-[0-9]+", stripped):
        raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                       "Limit should be greater than or equal to zero.")
    if not _INT.match(stripped):
        raise parse_error("limit", text, 1, "unexpected value expecting a non-negative integer")
    return int(stripped)


def parse_offset(text: str) -> int:
    stripped = text.strip()
    if re.fullmatch(r"-[0-9]+", stripped):
        return 0      # PostgREST ignores a negative offset
    if not _INT.match(stripped):
        raise parse_error("offset", text, 1, "unexpected value expecting a non-negative integer")
    return int(stripped)


def parse_range_header(text: str) -> tuple[int, int | None] | None:
    """`Range: 0-19` (items) -> (offset, limit or None). Unparseable ranges are ignored, as PostgREST does."""
    match = re.fullmatch(r"\s*(?:items=)?([0-9]+)-([0-9]*)\s*", text)
    if not match:
        return None
    first = int(match.group(1))
    if match.group(2) == "":
        return first, None
    last = int(match.group(2))
    if last < first:
        raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                       f"The range {first}-{last} is not satisfiable.")
    return first, last - first + 1


def parse_columns(text: str, what: str = "columns") -> list[str]:
    names = [unquote(part.strip()) for part in split_top(text, what, text)]
    if any(name == "" for name in names):
        raise parse_error(what, text, 1, "unexpected \",\" expecting field name")
    return names
