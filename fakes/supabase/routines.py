"""Which function an /rpc request calls, decided as PostgREST v14 decides it (`Plan.findProc`), and the
errors it answers when none or several fit.

A function fits when the request's argument names cover its required parameters and stay within
its parameters. A function with a single unnamed json/jsonb (or, by Content-Type, text, xml, bytea)
parameter is the fallback when no function fits by names. More than one fit: 300 PGRST203. None:
404 PGRST202, worded by Content-Type, with a fuzzy "Perhaps you meant to call ..." hint.
"""

from __future__ import annotations

import dataclasses

from . import fuzzy
from .errors import ApiError
from .schema import Function

RENAME_HINT = "Try renaming the parameters or the function itself in the database so function overloading can be resolved"
RAW_MEDIA = ("text", "xml", "bytea")        # bodies passed whole to a single unnamed parameter
UNNAMED_FOR = {"json": ("json", "jsonb"), "text": ("text",), "xml": ("xml",), "bytea": ("bytea",)}
NAME_HINT_SCORE = 0.75


@dataclasses.dataclass(frozen=True)
class Lookup:
    """What a request says about the function it wants."""
    name: str
    keys: frozenset[str]    # the argument names given
    media: str              # "json", "text", "xml", "bytea", or another body media type
    is_post: bool


def find(functions: dict[str, list[Function]], schema: str, lookup: Lookup) -> Function:
    overloads = functions.get(lookup.name, [])
    matched = [f for f in overloads if _fits(f, lookup)]
    fallback = [f for f in overloads if f not in matched and _takes_body(f, lookup)]
    candidates = matched or fallback
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise ambiguous(candidates)
    raise not_found(schema, lookup, [n for n in functions], overloads)


def _fits(function: Function, lookup: Lookup) -> bool:
    if not function.arguments:
        return not lookup.keys and not (lookup.is_post and lookup.media in RAW_MEDIA)
    required = {a.name for a in function.arguments if not a.has_default}
    optional = {a.name for a in function.arguments if a.has_default}
    return set(lookup.keys) - optional == required


def _takes_body(function: Function, lookup: Lookup) -> bool:
    if not lookup.is_post or len(function.arguments) != 1 or function.arguments[0].name:
        return False
    return function.arguments[0].type in UNNAMED_FOR.get(lookup.media, ())


def ambiguous(candidates: list[Function]) -> ApiError:
    listed = ", ".join(f.signature() for f in candidates)
    return ApiError(300, "PGRST203", f"Could not choose the best candidate function between: {listed}", None,
                    RENAME_HINT)


def not_found(schema: str, lookup: Lookup, all_names: list[str], overloads: list[Function]) -> ApiError:
    func = f"{schema}.{lookup.name}"
    keys = sorted(lookup.keys)
    listed = ", ".join(keys)
    single_only = lookup.is_post and lookup.media in RAW_MEDIA

    def or_none(text: str) -> str:
        return text if keys else " without parameters"

    message = f"Could not find the function {func}{'' if single_only else or_none(f'({listed})')} in the schema cache"
    searched = f" with parameter{'s' if len(keys) > 1 else ''} {listed}"
    if single_only:
        searched = f" with a single unnamed {lookup.media} parameter"
    elif lookup.is_post and lookup.media == "json":
        searched = or_none(searched) + " or with a single unnamed json/jsonb parameter"
    else:
        searched = or_none(searched)
    details = f"Searched for the function {func}{searched}, but no matches were found in the schema cache."
    hint = None if single_only else _hint(schema, lookup, all_names, overloads)
    return ApiError(404, "PGRST202", message, details, hint)


def _hint(schema: str, lookup: Lookup, all_names: list[str], overloads: list[Function]) -> str | None:
    prefix = f"Perhaps you meant to call the function {schema}."
    if not overloads:
        found = fuzzy.best(all_names, lookup.name, NAME_HINT_SCORE)
        return prefix + found if found else None

    def as_text(names) -> str:
        return "(" + ", ".join(sorted(names)) + ")"
    found = fuzzy.best([as_text(a.name for a in f.arguments) for f in overloads], as_text(lookup.keys))
    return prefix + lookup.name + found if found else None
