"""Harness figures: scenarios per second, time to detect the DEEP-SYNC-001 race, sweep cost.

Every run is the real thing: embedded Postgres behind the Supabase gateway, the CloudKit fake,
reference clients, quiescence and all checkers. `./dualsync bench harness [--quick]`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from dualsync.bench import Figure
from dualsync.harness import runner, sweep
from dualsync.harness.scenario import Scenario, Step, load

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "suites" / "scenarios"


def twenty_steps() -> Scenario:
    """2 devices, 20 steps: sign-ins, then edits on both devices with syncs on both paths."""
    steps = [Step("sign_in", {"device": "A"}), Step("sign_in", {"device": "B"})]
    for i in range(3):
        rid = f"b0000000-0000-4000-8000-00000000000{i}"
        steps += [Step("write", {"device": "A", "type": "daily_logs", "id": rid,
                                 "fields": {"steps": 100 * i}}),
                  Step("sync", {"device": "A", "path": "supabase"}),
                  Step("advance", {"seconds": 5}),
                  Step("write", {"device": "B", "type": "daily_logs", "id": rid,
                                 "fields": {"steps": 100 * i + 1}}),
                  Step("sync", {"device": "B", "path": "cloudkit"}),
                  Step("sync", {"device": "A", "path": "cloudkit"})]
    return Scenario(id="bench-20", guards=["no-lost-write"], devices={
        "A": {"user": "alice", "skew": 0.0}, "B": {"user": "alice", "skew": 0.0}}, steps=steps)


def run(quick: bool) -> list[Figure]:
    from dualsync.fakes.postgres import start_server
    server = start_server("embedded")
    try:
        db = server.new_database("bench_harness")
        try:
            return _in_process(db, quick) + _xdist(quick)
        finally:
            server.drop_database(db)
    finally:
        server.stop()


def _in_process(db, quick: bool) -> list[Figure]:
    reps = 3 if quick else 10
    bench20 = twenty_steps()
    runner.run(bench20, "coordinated", db, reports=None)  # warm imports and the schema cache
    per_run = _seconds(lambda: runner.run(bench20, "coordinated", db, reports=None), reps)
    race = load(SCENARIOS / "deep-sync-001.yaml")
    detect = _seconds(lambda: _detects(runner.run(race, "legacy", db, reports=None)), reps)
    crash = load(SCENARIOS / "crash-at-fault-points.yaml")
    sweeps, points = [], 0
    for _ in range(1 if quick else 3):
        t0 = time.perf_counter()
        report = sweep.sweep(crash, "coordinated", db, reports=None)
        points = len(report.runs)
        sweeps.append((time.perf_counter() - t0) / max(1, points + 1) * 1000)
    return [
        Figure("scenarios per second, 1 process (2 devices, 20 steps)", "scenarios/s",
               [1 / s for s in per_run], "steps + quiescence + 8 checkers"),
        Figure("time to detect DEEP-SYNC-001 on legacy (one run)", "ms", [s * 1000 for s in detect]),
        Figure(f"fault-point sweep, per injected run ({points} points)", "ms", sweeps,
               "crash-at-fault-points.yaml, coordinated"),
    ]


def _detects(result: runner.Run) -> None:
    if "no-lost-write" not in result.violated:
        raise AssertionError("DEEP-SYNC-001 was not detected on legacy: the figure would be meaningless")


def _seconds(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _xdist(quick: bool) -> list[Figure]:
    """The scenario files through pytest with 1 and 2 xdist workers (start-up included)."""
    figures = []
    for workers in (1, 2):
        samples, note = [], ""
        for _ in range(1 if quick else 2):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "pytest", "-p", "dualsync.harness.pytest_plugin", "-p",
                 "dualsync.fakes.postgres.pytest_plugin", str(SCENARIOS), "--no-sweep", "-n", str(workers),
                 "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
            took = time.perf_counter() - t0
            passed = int((re.search(r"(\d+) passed", out.stdout) or [0, 0])[1])
            samples.append(passed / took)
            note = f"{passed} scenario items, wall time incl. pytest and Postgres start"
        figures.append(Figure(f"scenario files per second, pytest -n {workers}", "scenarios/s",
                              samples, note))
    return figures
