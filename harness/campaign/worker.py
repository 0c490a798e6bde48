"""One campaign worker: a process with its own database (on the campaign's one Postgres server),
running the runs it is handed.

A run is one hypothesis exploration of the SyncMachine from one seed (`seeds.Run`), saving its
failing examples to the shared example database; the first task of a campaign is instead a
replay of what that database holds. Within a run, a failure whose verdict the campaign already
knows is passed over (`reject`) and exploration goes on; the first new verdict is reported at
once, unshrunk (so an interrupted campaign keeps it), then shrunk while keeping that verdict and
reported again. Every event goes to the coordinator's queue.

Memory: a long-lived process running one varied program after another holds on to the largest
heap any of them needed (the allocator keeps freed arenas; hypothesis caches strategies per run),
so a worker grows slowly over hours. Between runs, a worker whose resident memory has grown past
`recycle` percent of what it held after its first run retires; the coordinator starts a fresh
process in its place, on the same database, and the campaign's memory stays flat (BENCHMARKS.md).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky, Unsatisfiable
from hypothesis.stateful import get_state_machine_test

from dualsync.harness.explore.machine import Config, Failure, SyncMachine
from dualsync.harness.explore.profiles import PROFILES, _shrink_budget

GENERATE = (Phase.explicit, Phase.generate, Phase.target, Phase.shrink)  # no reuse: see replay
PROGRESS_EVERY = 0.5  # seconds between progress events


class Stop(BaseException):
    """Ends a run between examples: the budget is spent, the campaign is stopping, or SIGTERM.
    A BaseException hypothesis does not catch (it treats SystemExit as a test failure)."""


def verdict_key(failure: Failure) -> str:
    """A finding's identity: the client and the set of invariants it violated."""
    return f"{failure.client}: {', '.join(sorted(failure.violated))}"


class Control:
    """What a run's machine consults before each example and tells after it."""

    def __init__(self, wid: int, events, stop, deadline: float | None):
        self.wid, self.events, self.stop, self.deadline = wid, events, stop, deadline
        self.examples = self.steps = 0
        self.target: str | None = None  # the new verdict this run found and is shrinking
        self.known: set[str] = set()
        self.last = 0.0
        self.phase = "generate"

    def check(self) -> None:
        if self.stop.is_set():
            raise Stop("campaign stopping")
        if self.deadline is not None and self.target is None and time.time() >= self.deadline:
            raise Stop("budget spent")

    def example_done(self, steps: int) -> None:
        self.examples += 1
        self.steps += steps
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY:
            self.last = now
            self.events.put(("progress", self.wid, self.examples, self.steps, self.phase))


_CLASS: list[type[SyncMachine]] = []


def _machine(config: Config, control: Control) -> type[SyncMachine]:
    """The machine class, made once per worker and given each run's config and control: hypothesis
    caches rules and strategies per class for good, so a class per run would grow a long
    campaign's memory (BENCHMARKS.md)."""
    if not _CLASS:
        def __init__(self):
            type(self).control.check()
            SyncMachine.__init__(self)

        def teardown(self):
            try:
                SyncMachine.teardown(self)
            finally:
                type(self).control.example_done(len(self.session.steps) if self.session else 0)

        _CLASS.append(type("SyncMachine", (SyncMachine,), {"__init__": __init__, "teardown": teardown}))
    cls = _CLASS[0]
    cls.config, cls.control = config, control
    return cls


def _finding(failure: Failure, opts: dict, pg: Any, *, how: str, shrunk: bool) -> dict:
    from dualsync.harness.explore import corpus
    scenario = corpus.scenario_of(failure, found_by=f"campaign-{opts['profile']}")
    file = os.path.join(opts["out"], "findings", f"{scenario.id}.yaml")
    return {"verdict": verdict_key(failure), "client": failure.client,
            "invariants": list(failure.violated), "explanation": failure.explanation,
            "id": scenario.id, "scenario": _dump(scenario), "steps": len(failure.steps),
            "how": how, "shrunk": shrunk, "file": file,
            "replay": f"python -m dualsync.harness.explore replay {file} --client={failure.client}",
            "swimlane": _swimlane(failure, pg, file) if shrunk else None}


def _dump(scenario) -> str:
    from dualsync.harness.scenario import dumps
    return dumps(scenario)


def _swimlane(failure: Failure, pg: Any, file: str) -> str | None:
    """The failing program replayed once more, drawn: the HTML page of harness.swimlane."""
    from dualsync.harness import swimlane
    from dualsync.harness.explore.session import Session
    try:
        with Session(failure.client, pg, failure.devices, seed=failure.seed,
                     ck_page=failure.ck_page) as s:
            for step in failure.steps:
                s.do(step)
            outcome = s.finish()
            return swimlane.render(s.world.history, outcome.verdicts.values(),
                                   title=verdict_key(failure), seed=failure.seed,
                                   replay=f"python -m dualsync.harness.explore replay {file} "
                                          f"--client={failure.client}")
    except Exception:  # noqa: BLE001 - the finding stands without its drawing
        traceback.print_exc()
        return None


def run_task(task: dict, opts: dict, pg: Any, exdb, control: Control) -> dict:
    """One run (or the replay of the database); its summary. Findings are sent as events."""
    from dualsync.harness.campaign.exampledb import test_key
    replay = task["kind"] == "replay"
    profile = PROFILES[opts["profile"]]
    control.examples = control.steps = 0
    control.target, control.known, control.phase = None, set(task["known"]), task["kind"]
    events, wid = control.events, control.wid

    def accept(failure: Failure) -> bool:
        # Judged to quiescence first, as a replay of the program judges it: a per-step check
        # cuts an example short, and its verdict would name only what was seen by then.
        failure.judge()
        key = verdict_key(failure)
        if key in control.known:
            return False
        if control.target is None:
            control.target, control.phase = key, "shrink"
            events.put(("detected", wid, _finding(failure, opts, pg, how=task["kind"], shrunk=False)))
            return True
        return key == control.target

    config = Config(opts["client"], pg, accept=None if replay else accept, messages=not replay)
    chosen = settings(profile, database=exdb, derandomize=False, max_examples=task["examples"],
                      phases=(Phase.reuse,) if replay else GENERATE, print_blob=False,
                      suppress_health_check=list(HealthCheck))
    test = get_state_machine_test(_machine(config, control), settings=chosen,
                                  _min_steps=chosen.stateful_step_count // 2)
    test._hypothesis_internal_use_seed = task["seed"]
    test._hypothesis_internal_database_key = test_key(opts["client"], profile.stateful_step_count)
    started, outcome, error = time.perf_counter(), "clean", None
    try:
        with _shrink_budget(opts["shrink_seconds"]):
            test()
    except AssertionError:
        outcome = "finding"
    except Flaky as exc:
        outcome, error = "finding", f"not deterministic on replay: {type(exc).__name__}"
    except Unsatisfiable:
        outcome = "clean"  # every failure it met was one already known
    except Stop as exc:
        outcome, error = "stopped", str(exc)
    except Exception as exc:  # noqa: BLE001 - the harness itself broke: recorded, the campaign goes on
        outcome, error = "error", "".join(traceback.format_exception_only(exc)).strip()[-2000:]
    seconds = time.perf_counter() - started
    verdicts = _report_findings(config, opts, pg, task, outcome, control)
    return {"kind": task["kind"], "k": task["k"], "seed": task["seed"], "worker": wid,
            "examples": control.examples, "steps": control.steps, "seconds": round(seconds, 3),
            "outcome": "finding" if verdicts and outcome != "error" else outcome,
            "verdicts": verdicts, "error": error}


def _report_findings(config: Config, opts, pg, task, outcome: str, control: Control) -> list[str]:
    events, wid = control.events, control.wid
    if task["kind"] == "replay":
        # Every entry hypothesis replayed that still fails (report_multiple_bugs keeps them all).
        seen: dict[str, Failure] = {}
        for f in config.failures:
            seen.setdefault(verdict_key(f), f)
        for f in seen.values():
            events.put(("finding", wid, _finding(f, opts, pg, how="replayed", shrunk=True)))
        return list(seen)
    if control.target is None:
        return []
    mine = [f for f in config.failures if verdict_key(f) == control.target]
    # The last failure with the target verdict is the shrunk one (hypothesis's final replay);
    # when the run was stopped mid-shrink, the smallest seen so far stands, marked unshrunk.
    best = mine[-1] if outcome in ("finding", "error") else min(mine, key=lambda f: len(f.steps))
    events.put(("finding", wid, _finding(best, opts, pg, how="generate",
                                         shrunk=outcome == "finding")))
    return [control.target]


def _rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def main(wid: int, opts: dict, tasks, events, stop, log_path: str) -> None:
    """The worker process: its output to its log, SIGINT left to the coordinator, SIGTERM a Stop.
    Its database (`opts["databases"][wid]`, made by the coordinator) outlives it, so a replacement
    process carries on where it retired."""
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def terminate(*_):
        stop.set()
        raise Stop("SIGTERM")

    signal.signal(signal.SIGTERM, terminate)
    from dualsync.fakes.postgres import Database
    from dualsync.harness.campaign.exampledb import Guarded, build
    control = Control(wid, events, stop, opts["deadline"])
    pg = Database.from_json(opts["databases"][str(wid)])
    baseline: float | None = None
    try:
        inner, _ = build(opts["db"], opts["github"])
        exdb = Guarded(inner, lambda text: events.put(("db-problem", wid, text)))
        events.put(("ready", wid, os.getpid()))
        while not stop.is_set():
            task = tasks.get()
            if task is None:
                break
            events.put(("start", wid, task))
            summary = run_task(task, opts, pg, exdb, control)
            summary["rss_mb"] = rss = round(_rss_mb(), 1)
            events.put(("run", wid, summary))
            if baseline is None:
                baseline = rss
            elif opts.get("recycle") and rss > baseline * (1 + opts["recycle"] / 100):
                events.put(("retire", wid, f"{rss:.0f} MB, {baseline:.0f} MB after its first run"))
                break
    except Stop:
        pass
    except BaseException as exc:  # noqa: BLE001 - said to the coordinator, which carries on
        traceback.print_exc()
        events.put(("error", wid, "".join(traceback.format_exception_only(exc)).strip()[-500:]))
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # from here on, only the queue's flush
        pg.close()
        events.put(("exit", wid))
