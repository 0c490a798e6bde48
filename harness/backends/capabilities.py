"""What a backend adapter can do beyond serving requests, and which scenario steps need what.

A scenario that needs a capability the backend in use lacks is skipped with the reason (never run
and passed): `missing(steps, adapters)` says which and why.
"""

from __future__ import annotations

from typing import Any, Iterable

HOLD_AT_COMMIT = "hold_at_commit"            # park a request inside its database transaction
VIRTUAL_SERVER_TIME = "virtual_server_time"  # the server clock follows the World's virtual clock
DAMAGE = "damage"                            # corrupt stored rows/records directly

ALL = (HOLD_AT_COMMIT, VIRTUAL_SERVER_TIME, DAMAGE)
WHY = {HOLD_AT_COMMIT: "holds a request inside the Supabase write transaction (`hold at: commit`)",
       VIRTUAL_SERVER_TIME: "moves the virtual clock (`advance`), which the server's clock must follow",
       DAMAGE: "damages stored data directly (`corrupt`)"}


def needed(steps: Iterable[Any]) -> dict[str, set[str]]:
    """{backend: capabilities} the steps need of it."""
    out: dict[str, set[str]] = {}
    for step in steps:
        args = step.args
        if step.op == "hold" and args.get("at") == "commit":
            out.setdefault("supabase", set()).add(HOLD_AT_COMMIT)
        if step.op == "advance":
            for backend in ("supabase", "cloudkit"):
                out.setdefault(backend, set()).add(VIRTUAL_SERVER_TIME)
        if step.op == "corrupt":
            for backend in [args["backend"]] if args.get("backend") else ("supabase", "cloudkit"):
                out.setdefault(backend, set()).add(DAMAGE)
    return out


def missing(steps: Iterable[Any], capabilities: dict[str, frozenset[str]]) -> list[str]:
    """Why these steps cannot run on backends with these capabilities ([] when they can)."""
    return [f"{backend} lacks {cap}: the scenario {WHY[cap]}"
            for backend, caps in sorted(needed(steps).items())
            for cap in sorted(caps - capabilities.get(backend, frozenset()))]
