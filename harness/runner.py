"""Run a scenario file against one client: steps, quiescence, checkers, report.

The outcome is judged against what the file expects of that client: `pass` (every invariant
holds) or a list of invariants that must be violated. A scenario whose expected violation does
not happen is reported as unable to catch what it claims, never as a pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from dualsync.harness import checkers, swimlane
from dualsync.harness.checkers import Verdict
from dualsync.harness.history import AFTER_STEPS, History
from dualsync.harness.scenario import Scenario, Step
from dualsync.harness.world import StepError, World

REPORTS = Path("reports/harness")


@dataclasses.dataclass
class Run:
    scenario: Scenario
    client: str
    history: History
    final: dict[str, dict]
    verdicts: dict[str, Verdict]
    extra: list[Step] = dataclasses.field(default_factory=list)  # injected by a sweep
    label: str = ""
    report: Path | None = None
    saved: Path | None = None  # the run as a scenario file, written when something was violated
    hits: list[tuple[str, str, str, int]] = dataclasses.field(default_factory=list)

    @property
    def violated(self) -> list[str]:
        return [n for n, v in self.verdicts.items() if not v.ok]

    @property
    def expected(self) -> str | list[str]:
        from dualsync.harness.external import expectation_key  # an adapter names whose expectations
        return self.scenario.expected_for(expectation_key(self.client)) or "pass"

    def judgement(self) -> tuple[bool, str]:
        """(as expected?, why) for this client."""
        want = self.expected
        if want == "pass":
            if not self.violated:
                return True, "every invariant holds"
            return False, "\n".join(self.verdicts[n].explain() for n in self.violated)
        missed = [w for w in want if w not in self.violated]
        if missed:
            return False, (f"expected {', '.join(missed)} to be violated by {self.client}, but "
                           + "; ".join(self.verdicts[m].explain() for m in missed if m in self.verdicts)
                           + ": this scenario cannot catch what it claims")
        return True, "\n".join(self.verdicts[n].explain() for n in want)

    def replay_command(self) -> str:
        cmd = launcher() + ["replay", _relative(self.scenario.source), f"--client={self.client}"]
        if self.label:
            cmd.append(f"--inject={self.label}")
        return shlex.join(cmd)


async def execute(world: World, step: Step) -> None:
    a, op = dict(step.args), step.op
    if op in ("hold", "delay", "fail", "lose_reply", "crash"):
        world.decide(op, **a)
        return
    wait, name = a.pop("wait", True), a.pop("as", None)
    if op in ("sign_in", "sign_up"):
        await world.sign_in(a["device"], wait=wait, name=name)
    elif op in ("sign_out", "login_sync"):
        await getattr(world, op)(a["device"], wait=wait, name=name)
    elif op == "sync":
        await world.sync(a["device"], a["path"], wait=wait, name=name)
    elif op == "restart":
        await world.restart(a["device"])
    elif op in ("write", "delete"):
        await world.write(a["device"], a["type"], a["id"], a.get("fields") if op == "write" else None)
    elif op == "read":
        await world.read(a["device"], a["type"], a["id"])
    else:
        await _environment(world, op, a)


async def _environment(world: World, op: str, a: dict[str, Any]) -> None:
    if op == "release":
        world.release(*a["names"])
    elif op == "wait":
        await world.wait(*a["names"])
    elif op == "settle":
        await world.settle()
    elif op == "heal":
        await world.heal()
    elif op == "advance":
        world.advance(float(a["seconds"]))
    elif op == "skew":
        world.skew(a["device"], a["seconds"])
    elif op == "disk":
        world.disk_fault(a["device"], a["fault"], a.get("op", "write"))
    elif op == "probe":
        await world.probe(a["device"], a["token"], a.get("path", "supabase"))
    elif op == "corrupt":
        world.corrupt(a["user"], a["type"], a["id"], a.get("backend"), a.get("at_rest", False))
    elif op == "rotate_key":
        world.rotate_key(a["user"], a.get("device"))
    elif op == "delete_zone":
        world.delete_zone(a["user"])
    else:
        raise StepError(f"step {op!r} has no implementation in the runner")


async def run_async(scenario: Scenario, client: str, database: Any, *, store_root: Path,
                    extra: list[Step] = (), label: str = "", reverse_releases: bool = False) -> Run:
    world = World(client=client, database=database, devices=scenario.devices, store_root=store_root,
                  seed=scenario.seed, liveness_bound=scenario.liveness_bound)
    try:
        for i, step in enumerate(list(extra) + scenario.steps):
            world.history.step = i - len(extra)  # injected steps are -1..; the file's keep 0..
            if reverse_releases and step.op == "release":
                step = Step("release", {"names": list(reversed(step.args["names"]))}, step.line)
            try:
                await execute(world, step)
            except StepError as exc:
                raise StepError(f"{scenario.source}:{step.line}: step {i - len(extra) + 1} "
                                f"({step.op}): {exc}") from None
        world.history.step = AFTER_STEPS
        final = await world.quiesce()
    finally:
        await world.aclose()
    verdicts = checkers.check_all(world.history, final)
    hits = world.conductor.hits[: world.hits_at_heal]
    return Run(scenario, client, world.history, final, verdicts, list(extra), label, hits=hits)


def run(scenario: Scenario, client: str, database: Any, *, reports: Path | None = REPORTS,
        extra: list[Step] = (), label: str = "") -> Run:
    """Run once (twice when the scenario guards determinism) and write the report."""
    database.reset()
    with tempfile.TemporaryDirectory(prefix="dualsync-world-") as tmp:
        result = asyncio.run(run_async(scenario, client, database, store_root=Path(tmp) / "a",
                                       extra=extra, label=label))
        if "determinism" in scenario.guards:
            database.reset()
            other = asyncio.run(run_async(scenario, client, database, store_root=Path(tmp) / "b",
                                          extra=extra, label=label, reverse_releases=True))
            result.verdicts["determinism"] = checkers.check_determinism(
                {"as written": (result.history, result.final),
                 "releases reversed": (other.history, other.final)})
    if reports is not None:
        write_report(result, reports)
    return result


def write_report(result: Run, reports: Path) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{result.scenario.id}-{result.client}" + (
        f"-{result.label}" if result.label else ""))
    result.history.save(_mkdir(reports) / f"{stem}.history.jsonl")
    result.report = swimlane.write(reports / f"{stem}.html", result.history,
                                   result.verdicts.values(),
                                   title=f"{result.scenario.id} against {result.client}",
                                   seed=result.scenario.seed, replay=result.replay_command(),
                                   **swimlane.details(result))
    if result.violated:
        result.saved = save_run(result, reports)
    return result.report


def save_run(result: Run, directory: Path) -> Path:
    """The run as a scenario file (injected steps folded in, the observed verdict as its
    expectation) plus its history: load it and run it again to replay exactly."""
    from dualsync.harness.scenario import save
    s = result.scenario
    observed = result.violated or "pass"
    saved = dataclasses.replace(s, steps=list(result.extra) + list(s.steps),
                                expect={**s.expect, result.client: observed},
                                tags=sorted(set(s.tags) | {"saved-run"}))
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{s.id}-{result.client}" + (f"-{result.label}" if result.label else ""))
    result.history.save(_mkdir(directory) / f"{stem}.history.jsonl")
    return save(saved, directory / f"{stem}.yaml")


def launcher(module: str = "dualsync.harness") -> list[str]:
    """How to run `python -m MODULE` from the current directory in a plain shell: the checkout's
    `dualsync` script (it has the venv), else this very interpreter (an installed package)."""
    script = Path(__file__).resolve().parent.parent / "dualsync"
    if script.is_file() and os.access(script, os.X_OK):
        rel = os.path.relpath(script)
        return [str(script) if rel.startswith("..") else f"./{rel}", "py", "-m", module]
    return [sys.executable, "-m", module]


def _relative(source: str) -> str:
    rel = os.path.relpath(source) if os.path.isabs(source) else source
    return source if rel.startswith("..") else rel


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
