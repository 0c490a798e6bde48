"""The campaign's main process: starts the Postgres server (one for the campaign, a database on
it per worker), one worker process per `--workers`, hands out the shard's runs (the database's
replay first), collects their events into `State`, shows progress, replaces a worker that
retires to shed memory (worker.py), and writes the report however the campaign ends: budget
spent, Ctrl-C (SIGINT) or SIGTERM, a worker killed, every worker dead."""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import signal
import sys
import time
from pathlib import Path
from typing import Any

from dualsync.harness.campaign import exampledb, report, seeds
from dualsync.harness.campaign.options import BadInput, Options
from dualsync.harness.campaign.progress import Progress

GRACE = 20.0  # seconds workers get to finish their example and report, once stopping
SAMPLE_EVERY = 1.0


@dataclasses.dataclass
class WorkerState:
    wid: int
    pid: int | None = None
    state: str = "starting"
    seed: int | None = None
    run_examples: int = 0
    run_steps: int = 0
    examples: int = 0       # finished runs' examples
    steps: int = 0
    busy_seconds: float = 0.0
    started: float = dataclasses.field(default_factory=time.monotonic)
    exited: bool = False
    died: str | None = None
    retiring: bool = False
    gone_at: float | None = None  # when its retiring process was first seen ended
    recycled: int = 0       # processes replaced to shed memory

    @property
    def total_examples(self) -> int:
        return self.examples + self.run_examples

    def rate(self) -> float:
        return self.total_examples / max(time.monotonic() - self.started, 1e-9)


@dataclasses.dataclass
class State:
    opts: Options
    db: str = ""
    postgres: str = ""
    replayable: int = 0
    started: float = dataclasses.field(default_factory=time.time)
    ended: float | None = None
    interrupted: str | None = None
    workers: dict[int, WorkerState] = dataclasses.field(default_factory=dict)
    runs: list[dict] = dataclasses.field(default_factory=list)
    findings: dict[str, dict] = dataclasses.field(default_factory=dict)  # by verdict
    problems: list[str] = dataclasses.field(default_factory=list)
    samples: list[list[float]] = dataclasses.field(default_factory=list)  # [t, examples]
    errors: list[str] = dataclasses.field(default_factory=list)

    def examples(self) -> int:
        return sum(w.total_examples for w in self.workers.values())

    def steps(self) -> int:
        return sum(w.steps + w.run_steps for w in self.workers.values())


def _write_finding(state: State, f: dict, sighting: bool) -> None:
    """Keep the finding, one per verdict: the first seen, replaced by a shrunk one if it was not.
    `sighting`: a new encounter (a detection or a replay), not the shrunk form of one."""
    old = state.findings.get(f["verdict"])
    if old is not None:
        old["seen"] += sighting
        if old["shrunk"] or not f["shrunk"]:
            return
        f["seen"], f["first_seen"] = old["seen"], old["first_seen"]
        if old["file"] != f["file"]:
            Path(old["file"]).unlink(missing_ok=True)
    else:
        f["seen"], f["first_seen"] = 1, round(time.time() - state.started, 1)
    path = Path(f["file"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f["scenario"])
    if f.get("swimlane"):
        path.with_suffix(".html").write_text(f["swimlane"])
    state.findings[f["verdict"]] = f


def _handle(state: State, event: tuple, progress: Progress) -> int | None:
    """Apply one worker event; the worker id when it is ready for a task."""
    kind, wid, *rest = event
    w = state.workers[wid]
    if kind == "ready":
        first = w.pid is None
        w.pid, w.state = rest[0], "ready"
        if first:
            w.started = time.monotonic()
            return wid
        return None  # a replacement: the task handed to its predecessor waits in its queue
    if kind == "start":
        task = rest[0]
        w.state, w.seed, w.run_examples, w.run_steps = task["kind"], task["seed"], 0, 0
    elif kind == "progress":
        w.run_examples, w.run_steps, w.state = rest[0], rest[1], rest[2]
    elif kind in ("detected", "finding"):
        new = rest[0]["verdict"] not in state.findings
        _write_finding(state, rest[0], sighting=kind == "detected" or rest[0]["how"] == "replayed")
        if new:
            progress.say(f"finding: {rest[0]['verdict']} ({rest[0]['how']}, worker {wid}) "
                         f"-> {rest[0]['file']}")
    elif kind == "run":
        r = rest[0]
        w.examples += r["examples"]
        w.steps += r["steps"]
        w.busy_seconds += r["seconds"]
        w.run_examples = w.run_steps = 0
        w.state = "ready"
        state.runs.append(r)
        if r["outcome"] == "error":
            progress.say(f"worker {wid}: run {r['k']} (seed {r['seed']}) broke: {r['error']}")
        return wid
    elif kind == "db-problem":
        if rest[0] not in state.problems:
            state.problems.append(rest[0])
            progress.say(rest[0])
    elif kind == "error":
        state.errors.append(f"worker {wid}: {rest[0]}")
        progress.say(f"worker {wid} failed: {rest[0]}")
    elif kind == "retire":
        w.retiring, w.state = True, "replacing"
        progress.say(f"worker {wid} (pid {w.pid}) is replaced by a fresh process to shed memory "
                     f"({rest[0]})")
    elif kind == "exit":
        if w.retiring:
            w.state = "retired"  # the loop starts its replacement once the process has ended
        else:
            w.exited, w.state = True, "done"
    return None


class Campaign:
    def __init__(self, opts: Options):
        from dualsync.harness.explore.profiles import PROFILES
        self.opts = opts
        self.state = State(opts)
        self.key = exampledb.test_key(opts.client, PROFILES[opts.profile].stateful_step_count)
        self.plan = seeds.plan(opts.seed, opts.per_seed, opts.shard, opts.examples)
        self.replay_pending = True
        self.in_flight: dict[int, dict] = {}  # worker -> its task
        self.retry: list[dict] = []           # runs a dead worker lost, each handed out once more
        self.deadline = time.time() + opts.seconds if opts.seconds else None

    def open(self) -> None:
        """Everything that can be wrong with the input, said before a worker starts (BadInput)."""
        o = self.opts
        o.out.mkdir(parents=True, exist_ok=True)
        opened = exampledb.open_database(o.db, o.github, self.key, o.out / "set-aside")
        self.state.db, self.state.replayable = opened.description, opened.replayable
        self.state.problems += opened.problems

    def next_task(self) -> dict | None:
        known = sorted(self.state.findings)
        if self.replay_pending:
            self.replay_pending = False
            if self.state.replayable:
                return {"kind": "replay", "k": "replay", "seed": 0, "examples": 1_000_000,
                        "known": known}
        if self.deadline is not None and time.time() >= self.deadline:
            return None
        if self.retry:
            return {**self.retry.pop(0), "known": known, "retried": True}
        run = next(self.plan, None)
        if run is None:
            return None
        return {"kind": "run", "k": run.k, "seed": run.seed, "examples": run.examples, "known": known}

    def run(self) -> State:
        server = self._server()
        try:
            self.databases = {wid: server.new_database(f"campaign_w{wid}")
                              for wid in range(1, self.opts.workers + 1)}
            return self._run(server)
        finally:
            try:
                for db in getattr(self, "databases", {}).values():
                    server.drop_database(db)
            finally:
                server.stop()

    def _server(self):
        """The campaign's Postgres (--postgres, else DUALSYNC_POSTGRES, else embedded): one server,
        a database on it per worker, so replacing a worker does not restart Postgres."""
        from dualsync.fakes.postgres import ProviderError, start_server
        try:
            server = start_server(self.opts.postgres)  # resolved and checked by options()
        except ProviderError as exc:
            raise BadInput(f"--postgres: {str(exc).splitlines()[0]}") from None
        self.state.postgres = server.describe()
        print(self.state.postgres, file=sys.stderr)
        return server

    def _run(self, server) -> State:
        o, state = self.opts, self.state
        ctx = multiprocessing.get_context("spawn")
        events, stop = ctx.Queue(), ctx.Event()
        opts = {**o.to_dict(), "deadline": self.deadline, "out": str(o.out.resolve()),
                "databases": {str(w): db.to_json() for w, db in self.databases.items()}}
        (o.out / "workers").mkdir(parents=True, exist_ok=True)
        procs, tasks = {}, {}
        progress = Progress(state, o.live)

        def start(wid: int) -> None:
            procs[wid] = ctx.Process(target=_worker_main, name=f"campaign-worker-{wid}",
                                     args=(wid, opts, tasks[wid], events, stop,
                                           str(o.out / "workers" / f"worker-{wid}.log")))
            procs[wid].start()

        self._start = start
        previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            for wid in range(1, o.workers + 1):
                tasks[wid] = ctx.Queue()
                state.workers[wid] = WorkerState(wid)
                start(wid)
            with progress:
                self._loop(procs, tasks, events, stop, progress)
        except _Interrupted as exc:
            state.interrupted = exc.args[0]
            progress.say(f"{exc.args[0]}: stopping the workers, keeping the findings so far")
            stop.set()
            self._drain(procs, events, progress, time.monotonic() + GRACE)
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
            stop.set()
            for wid, p in procs.items():
                if state.workers[wid].exited:
                    p.join(timeout=GRACE)  # it said goodbye: let it flush
                if p.is_alive():
                    p.terminate()  # SIGTERM: the worker stops its run
                p.join(timeout=GRACE)
                if p.is_alive():
                    p.kill()
                    p.join()
            state.ended = time.time()
            self._sample()
        return state

    def _loop(self, procs, tasks, events, stop, progress) -> None:
        state, last_sample = self.state, 0.0
        while not all(w.exited or w.died for w in state.workers.values()):
            try:
                ready = _handle(state, events.get(timeout=0.2), progress)
            except queue.Empty:
                ready = None
            if ready is not None:
                self.in_flight.pop(ready, None)  # its run is done (or it has just started)
            if ready is not None and not state.workers[ready].exited:
                task = self.next_task()
                self.in_flight[ready] = task
                tasks[ready].put(task)
                if task is None:
                    state.workers[ready].state = "finishing"
            self._reap(procs, progress)
            if time.monotonic() - last_sample >= SAMPLE_EVERY:
                last_sample = time.monotonic()
                self._sample()
                progress.refresh()

    def _drain(self, procs, events, progress, until: float) -> None:
        while time.monotonic() < until and not all(w.exited or w.died
                                                   for w in self.state.workers.values()):
            try:
                _handle(self.state, events.get(timeout=0.2), progress)
            except queue.Empty:
                pass
            except _Interrupted:
                break  # a second Ctrl-C: stop waiting
            self._reap(procs, progress)

    def _reap(self, procs, progress) -> None:
        """A worker whose process ended without saying so was killed: its run is lost, the
        campaign goes on with the others."""
        for wid, p in list(procs.items()):
            w = self.state.workers[wid]
            if w.retiring and not p.is_alive():
                # Retired (its goodbye read, or it was killed on the way out): a fresh process
                # takes the task already queued for it.
                w.gone_at = w.gone_at or time.monotonic()
                if w.state == "retired" or time.monotonic() - w.gone_at > 5:
                    w.retiring, w.gone_at, w.state = False, None, "starting"
                    w.recycled += 1
                    self._start(wid)
                continue
            if not w.exited and not w.died and not p.is_alive():
                code = p.exitcode
                w.died = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                w.state = "died"
                task = self.in_flight.pop(wid, None)
                if task and task["kind"] == "run" and not task.get("retried"):
                    self.retry.append(task)
                lost = {"kind": "lost", "k": task and task["k"], "seed": task and task["seed"], "worker": wid,
                        "examples": w.run_examples, "steps": w.run_steps, "seconds": 0.0,
                        "outcome": "lost", "verdicts": [], "error": f"worker died ({w.died})"}
                w.examples, w.steps = w.examples + w.run_examples, w.steps + w.run_steps
                w.run_examples = w.run_steps = 0
                if task is not None:
                    self.state.runs.append(lost)
                progress.say(f"worker {wid} (pid {w.pid}) died ({w.died}); its run of seed "
                             f"{w.seed} is lost (handed to another worker once more, time "
                             "allowing); the campaign goes on")

    def _sample(self) -> None:
        self.state.samples.append([round(time.time() - self.state.started, 2), self.state.examples()])


class _Interrupted(BaseException):
    pass


def _interrupt(signum, _frame) -> None:
    raise _Interrupted("interrupted (SIGINT)" if signum == signal.SIGINT
                       else f"terminated ({signal.Signals(signum).name})")


def _worker_main(*args: Any) -> None:
    from dualsync.harness.campaign import worker
    worker.main(*args)


def run(opts: Options) -> tuple[State, int]:
    """Open, run, report; the exit code (0 clean, 1 findings or broken runs, 130 interrupted)."""
    campaign = Campaign(opts)
    campaign.open()
    state = campaign.run()
    report.write(state)
    if state.interrupted:
        return state, 130
    bad = state.findings or any(r["outcome"] in ("error", "lost") for r in state.runs) or state.errors
    return state, 1 if bad else 0

