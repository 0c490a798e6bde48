"""Devices in other processes against devices in process: scenario runs per second, in one run.

The same scenario runs alternately in process (`coordinated`, `legacy`) and through the Python
adapter out of process (`cmd:python -m dualsync.clients.adapter ...`), so both sides see the same
machine load. Out of process, each device is an adapter process (started when the device is first
used), every request crosses a loopback port, and every fault point is a round trip on the pipe.
`./dualsync bench external [--quick]`.
"""

from __future__ import annotations

import time

from dualsync.bench import Figure
from dualsync.bench.harness import SCENARIOS, twenty_steps
from dualsync.harness import runner
from dualsync.harness.scenario import load

ADAPTER = "cmd:python -m dualsync.clients.adapter "


def run(quick: bool) -> list[Figure]:
    from dualsync.fakes.postgres import start_server
    server = start_server("embedded")
    try:
        db = server.new_database("bench_external")
        try:
            return _figures(db, 3 if quick else 8)
        finally:
            server.drop_database(db)
    finally:
        server.stop()


def _figures(db, reps: int) -> list[Figure]:
    cases = [("2 devices, 20 steps", twenty_steps(), "coordinated"),
             ("DEEP-SYNC-001", load(SCENARIOS / "deep-sync-001.yaml"), "legacy")]
    figures = []
    for label, scenario, client in cases:
        for name in (client, ADAPTER + client):  # warm: imports, the adapter's hello, the schema
            runner.run(scenario, name, db, reports=None)
        inside, outside = [], []
        for _ in range(reps):
            inside.append(_once(scenario, client, db))
            outside.append(_once(scenario, ADAPTER + client, db))
        figures += [
            Figure(f"{label} on {client}, in process", "runs/s", [1 / s for s in inside]),
            Figure(f"{label} on {client}, out of process", "runs/s", [1 / s for s in outside],
                   "Python adapter, one process per device"),
            Figure(f"{label}: out-of-process run time / in-process", "x",
                   [o / i for o, i in zip(outside, inside)], "pairs run back to back"),
        ]
    return figures


def _once(scenario, client: str, db) -> float:
    t0 = time.perf_counter()
    result = runner.run(scenario, client, db, reports=None)
    took = time.perf_counter() - t0
    ok, why = result.judgement()
    if not ok:
        raise AssertionError(f"{scenario.id} on {client} did not run as expected, the figure "
                             f"would be meaningless: {why}")
    return took
