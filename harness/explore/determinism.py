"""Determinism in exploration: a program run twice must give the same history, event for event.

Scenario files check determinism (invariant 6) by running each twice under two release orders and
comparing the end states. Exploration ran each program once, so a World that behaved differently
on a second run of the same steps (a race on real time, an order taken from object identity) went
unseen until a hunt's replay disagreed. Here a program (a failing example, or one passing example
in `every`) is run again in a fresh World on the same database and the two histories are compared
without wall-clock noise (`History.fingerprint`); the first event that differs is the verdict.
"""

from __future__ import annotations

import json
from typing import Any

from dualsync.harness.checkers.verdict import Verdict, Violation, verdict
from dualsync.harness.explore.session import Session
from dualsync.harness.history import History
from dualsync.harness.scenario import Step


def rerun(client: str, database: Any, devices: dict, seed: int, ck_page: int | None,
          steps: list[Step]) -> History:
    """The program's history from a fresh World: its steps, then quiescence."""
    with Session(client, database, devices, seed=seed, ck_page=ck_page) as s:
        for step in steps:
            s.do(step)
        s.finish()
        return s.world.history


def compare(first: History, second: History) -> Verdict:
    """Invariant 6 over two runs of one program: the same events in the same order."""
    a, b = first.fingerprint(), second.fingerprint()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return verdict("determinism", [Violation(
                "determinism", f"the same program ran twice and its histories part at event {i} "
                f"(step {x[3]}): first {_show(x)}, then {_show(y)}", (i,))], len(a))
    if len(a) != len(b):
        return verdict("determinism", [Violation(
            "determinism", f"the same program ran twice and gave {len(a)} events, then {len(b)}: "
            f"the shorter run is a prefix of the longer", (min(len(a), len(b)),))], len(a))
    return verdict("determinism", [], len(a))


def _show(event: tuple) -> str:
    kind, process, f, _step, value = event
    text = json.dumps(json.loads(value), sort_keys=True)
    return f"{kind} {process} {f} {text if len(text) <= 160 else text[:159] + '…'}"
