"""Exploration figures: property examples per second per worker (one and two workers), peak
memory of a worker, and schedules per second in exhaustive mode.

Every example is the real thing: a fresh World on embedded Postgres, the CloudKit fake, the
reference client, per-step checks, quiescence and every checker. `./dualsync bench explore`.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from dualsync.bench import Figure

ROOT = Path(__file__).resolve().parent.parent


def worker(seed: int, examples: int) -> dict:
    """One worker: its own Postgres, `examples` examples of the machine on coordinated."""
    from dualsync.harness.servers import database
    from dualsync.harness.explore.profiles import explore
    with database("embedded") as db:
        explore("coordinated", db, "pr", shrink=False, max_examples=2)  # warm imports, schema cache
        r = explore("coordinated", db, "nightly", shrink=False, seed=seed, max_examples=examples,
                    database=None)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"examples": r.examples, "seconds": r.seconds, "peak_mb": peak_mb}


def _spawn(seed: int, examples: int) -> subprocess.Popen:
    code = f"import json, bench.explore as b; print(json.dumps(b.worker({seed}, {examples})))"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _workers(n: int, examples: int, seed: int) -> list[dict]:
    procs = [_spawn(seed + i, examples) for i in range(n)]
    return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def _schedules(quick: bool) -> Figure:
    from dualsync.harness.servers import database
    from dualsync.harness.explore import exhaustive
    with database("embedded") as db:
        r = exhaustive.explore(exhaustive.SCOPES["login-vs-push"], "legacy", db,
                               max_schedules=10 if quick else 60)
    return Figure("exhaustive schedules/s (login-vs-push, legacy)", "schedules/s",
                  [r.schedules / r.seconds], f"{r.schedules} schedules, {r.pruned} pruned")


def run(quick: bool) -> list[Figure]:
    examples = 6 if quick else 25
    one = [w for s in range(1 if quick else 3) for w in _workers(1, examples, 100 + s)]
    two = _workers(2, examples, 200)
    rate = lambda ws: [w["examples"] / w["seconds"] for w in ws]  # noqa: E731
    return [Figure("property examples/s, 1 worker (coordinated)", "examples/s", rate(one)),
            Figure("property examples/s per worker, 2 workers", "examples/s", rate(two)),
            Figure("peak memory of a worker", "MB", [w["peak_mb"] for w in one + two]),
            _schedules(quick)]
