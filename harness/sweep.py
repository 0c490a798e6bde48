"""The fault-point sweep: run a scenario once per fault point it passes, enumerated, not sampled.

A baseline run records every fault point each device passed before the faults healed and every
request it sent. Then, one run per entry: crash the client at exactly that passage (before send,
after the reply and before mark-synced, between applying remote changes and persisting, mid-persist)
or let the backend commit and lose the reply. Each run is checked like any other.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from dualsync.harness import runner
from dualsync.harness.scenario import SWEEP_KINDS as KINDS, Scenario, Step


@dataclasses.dataclass
class SweepReport:
    scenario: Scenario
    client: str
    baseline: runner.Run
    runs: list[runner.Run]

    def judgement(self, want: Any) -> tuple[bool, str]:
        """`pass`: every injected run passes. A list: some injected run violates all of it (a
        mutant need only lose data at one fault point for the sweep to have teeth)."""
        head = f"{self.scenario.id} sweep against {self.client}: {len(self.runs)} fault points"
        if not self.runs:  # a sweep that injected nothing tested nothing: never green
            return False, (f"{head}: the sweep tested nothing; check its devices, kinds and from_step "
                           f"in {self.scenario.source}")
        if want != "pass":
            hit = [r for r in self.runs if all(w in r.violated for w in want)]
            if hit:
                return True, f"{head}; {', '.join(want)} violated at {hit[0].label}"
            return False, f"{head}; none violated {', '.join(want)}: the sweep cannot catch it"
        bad = [f"[{r.label}] " + "\n".join(r.verdicts[n].explain() for n in r.violated)
               + f"\n  diagram: {r.report}\n  replay: {r.replay_command()}"
               for r in self.runs if r.violated]
        return (not bad, head + (f", {len(bad)} failed:\n" + "\n".join(bad[:5]) if bad
                                 else ", all as expected"))


def expectation(scenario: Scenario, client: str) -> Any:
    spec = scenario.sweep or {}
    from dualsync.harness.external import expectation_key  # an adapter names whose expectations
    return (spec.get("expect") or {"coordinated": "pass"}).get(expectation_key(client))


def points(run: runner.Run, kinds=KINDS, devices=None, from_step: int = 0) -> list[tuple[str, Step]]:
    """(label, injected step) for every passage of a fault point in `run` at or after scenario
    step `from_step` (before it, devices are still signing in: nothing to lose yet), in order."""
    out, seen = [], Counter()
    if "crash" in kinds:
        for device, point, path, step in run.hits:
            n = seen[(device, point, path)]
            seen[(device, point, path)] += 1
            if (devices is None or device in devices) and step >= from_step:
                args = {"device": device, "point": point, "path": path, "skip": n}
                out.append((f"crash:{device}:{point}:{path}:{n}", Step("crash", args)))
    if "lose_reply" in kinds:
        out += _requests(run, devices, from_step)
    return out


def _requests(run: runner.Run, devices, from_step: int) -> list[tuple[str, Step]]:
    heal = next((e.index for e in run.history if e.type == "note" and e.f == "heal"), len(run.history))
    out, seen = [], Counter()
    for e in run.history.events[:heal]:
        if e.type == "net" and e.f == "request":
            device, backend = e.process.split("/", 1)
            op = e.value["op"]
            n = seen[(device, backend, op)]
            seen[(device, backend, op)] += 1
            if (devices is None or device in devices) and e.step >= from_step:
                out.append((f"lose_reply:{device}:{backend}:{op}:{n}",
                            Step("lose_reply", {"device": device, "path": backend, "match": op, "skip": n})))
    return out


def step_for(label: str) -> Step:
    """The injected step a label names (for `python -m dualsync.harness replay --inject=LABEL`)."""
    kind, device, where, what, n = label.split(":", 4) if label.count(":") >= 4 else (label, "", "", "", "0")
    if not n.isdigit():
        kind = "bad"  # the passage number must be a count: refused below with the forms
    if kind == "crash":
        return Step("crash", {"device": device, "point": where, "path": what, "skip": int(n)})
    if kind == "lose_reply":
        return Step("lose_reply", {"device": device, "path": where, "match": what, "skip": int(n)})
    raise ValueError(f"--inject={label}: not a sweep label; use crash:DEVICE:POINT:PATH:N or "
                     "lose_reply:DEVICE:BACKEND:METHOD /path:N as a sweep report prints them")


def after_sign_in(scenario: Scenario) -> int:
    """The first step after the opening sign-ins: a crash while an account is being created
    leaves a device signed out, which is not a loss the sweep is about."""
    n = 0
    while n < len(scenario.steps) and scenario.steps[n].op in ("sign_in", "sign_up"):
        n += 1
    return n


def sweep(scenario: Scenario, client: str, database: Any, *, reports=runner.REPORTS) -> SweepReport:
    spec = scenario.sweep or {}
    baseline = runner.run(scenario, client, database, reports=None)
    runs = []
    for label, step in points(baseline, spec.get("kinds", KINDS), spec.get("devices"),
                              spec.get("from_step", after_sign_in(scenario))):
        run = runner.run(scenario, client, database, reports=None, extra=[step], label=label)
        if run.violated and reports is not None:
            runner.write_report(run, reports)
        runs.append(run)
    return SweepReport(scenario, client, baseline, runs)
