"""What a backend adapter can do beyond serving requests, and which scenario steps need what.

A scenario that needs a capability the backend in use lacks is skipped with the reason (never run
and passed): `missing(scenario, capabilities)` says which and why. What the steps need is derived
from them (`hold at: commit`, `corrupt`); what a scenario relies on beyond its steps (a server clock
that follows the virtual clock, so that a token expires when the World says) it declares with
`needs: [virtual_server_time]`.
"""

from __future__ import annotations

from typing import Any

HOLD_AT_COMMIT = "hold_at_commit"            # park a request inside its database transaction
VIRTUAL_SERVER_TIME = "virtual_server_time"  # the server clock follows the World's virtual clock
DAMAGE = "damage"                            # corrupt stored rows/records directly

ALL = (HOLD_AT_COMMIT, VIRTUAL_SERVER_TIME, DAMAGE)
WHY = {HOLD_AT_COMMIT: "holds a request inside the Supabase write transaction (`hold at: commit`)",
       VIRTUAL_SERVER_TIME: "relies on the server's clock following the virtual clock (`needs:`)",
       DAMAGE: "damages stored data directly (`corrupt`)"}


def needed(scenario: Any) -> dict[str, set[str]]:
    """{backend: capabilities} a scenario needs of it: what its steps need, and what it declares."""
    out: dict[str, set[str]] = {}
    for cap in getattr(scenario, "needs", ()):
        for backend in ("supabase", "cloudkit"):
            out.setdefault(backend, set()).add(cap)
    for step in scenario.steps:
        args = step.args
        if step.op == "hold" and args.get("at") == "commit":
            out.setdefault("supabase", set()).add(HOLD_AT_COMMIT)
        if step.op == "corrupt":
            for backend in [args["backend"]] if args.get("backend") else ("supabase", "cloudkit"):
                out.setdefault(backend, set()).add(DAMAGE)
    return out


def missing(scenario: Any, capabilities: dict[str, frozenset[str]]) -> list[str]:
    """Why the scenario cannot run on backends with these capabilities ([] when it can)."""
    return [f"{backend} lacks {cap}: the scenario {WHY[cap]}"
            for backend, caps in sorted(needed(scenario).items())
            for cap in sorted(caps - capabilities.get(backend, frozenset()))]
