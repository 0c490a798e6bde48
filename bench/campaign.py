"""Campaign figures: examples per second with 1 and 2 workers (the speed-up is the ratio), and
the memory of the workers over a long campaign (growth from its first to its last minutes).

Each figure runs the real command, `python -m dualsync.harness.campaign` (coordinated, nightly
profile, its own example database and output in a temporary directory), and samples it from
outside with psutil. The two throughput campaigns do the same work: one example budget, one base
seed, so both run the same seeds (programs differ a lot in cost from seed to seed: two time-budget
campaigns on different seeds compare different work). Sizes are parameters (environment):
  DUALSYNC_BENCH_CAMPAIGN_EXAMPLES  each throughput campaign's example budget (default 240; --quick 60)
  DUALSYNC_BENCH_MEMORY_SECONDS     the memory campaign (default 600; --quick 60)
  DUALSYNC_BENCH_RECYCLE            the memory campaign's --recycle (default: the campaign's own)
The rate counts examples from the first finished example to the end (start-up, Postgres and
imports, excluded), from the campaign's own throughput samples (report.json).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from dualsync.bench import Figure

ROOT = Path(__file__).resolve().parent.parent


PER_SEED = 10  # small runs, so two workers share a fixed budget evenly to its end


def _campaign(workers: int, budget: list[str], tmp: Path, sample=None, seconds=0.0) -> dict:
    name = f"{workers}-{'-'.join(budget).replace('-', '')}"
    out = tmp / f"out-{name}"
    cmd = [sys.executable, "-m", "dualsync.harness.campaign", "--client", "coordinated",
           "--profile", "nightly", *budget, "--per-seed", str(PER_SEED), "--workers", str(workers),
           "--seed", "1", "--db", str(tmp / f"db-{name}"), "--out", str(out), "--no-live"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples, started = [], time.monotonic()
    while proc.poll() is None:
        elapsed = time.monotonic() - started
        if sample is not None and elapsed < seconds:  # not once the workers wind down
            got = sample(proc.pid)
            if got:
                samples.append((elapsed, *got))
        time.sleep(5)
    report = json.loads((out / "report.json").read_text())
    report["memory_samples"] = samples
    return report


def steady_rate(report: dict) -> float:
    """Examples per second from the first sample with an example finished to the last sample."""
    (series,) = report["throughput"].values()
    started = next((i for i, (_t, n) in enumerate(series) if n > 0), None)
    if started is None or series[-1][0] <= series[started][0]:
        return 0.0
    (t0, n0), (t1, n1) = series[started], series[-1]
    return (n1 - n0) / (t1 - t0)


def _workers_rss(coordinator: int) -> tuple[float, float] | None:
    """(MB of the worker Python processes, MB with the campaign's Postgres server added)."""
    try:
        descendants = psutil.Process(coordinator).children(recursive=True)
    except psutil.Error:
        return None
    python, total = 0.0, 0.0
    for c in descendants:
        try:
            line = " ".join(c.cmdline())
            if "resource_tracker" in line:
                continue
            rss = c.memory_info().rss
            if "multiprocessing" in line:  # a campaign worker
                python += rss
            total += rss
        except psutil.Error:
            continue
    return (python / 2**20, total / 2**20) if python else None


def growth(samples: list[tuple[float, float, float]], which: int) -> tuple[float, float, float]:
    """(MB early, MB late, growth in %): the median over the first tenth of the campaign after
    its warm-up (the first tenth, at least a minute where there is room: start-up, imports, the
    first programs) against the median over its last tenth."""
    end = samples[-1][0]
    warm = min(max(60.0, end / 10), end / 3)
    tenth = max(end / 10, 10.0)
    early = [s[which] for s in samples if warm <= s[0] < warm + tenth] or [samples[0][which]]
    late = [s[which] for s in samples if s[0] >= end - tenth] or [samples[-1][which]]
    e, l = statistics.median(early), statistics.median(late)
    return e, l, 100 * (l - e) / e


def middle(samples: list[tuple[float, float, float]], which: int) -> float:
    """MB over the middle tenth: growth that stops early (caches filling, the allocator's high
    water mark) shows as early < middle = late; a leak as early < middle < late."""
    end = samples[-1][0]
    mid = [s[which] for s in samples if abs(s[0] - end / 2) <= max(end / 20, 10.0)]
    return statistics.median(mid) if mid else float("nan")


def run(quick: bool) -> list[Figure]:
    examples = int(os.environ.get("DUALSYNC_BENCH_CAMPAIGN_EXAMPLES", 60 if quick else 240))
    memory_seconds = float(os.environ.get("DUALSYNC_BENCH_MEMORY_SECONDS", 60 if quick else 600))
    recycle = os.environ.get("DUALSYNC_BENCH_RECYCLE")
    with tempfile.TemporaryDirectory(prefix="dualsync-bench-campaign-") as tmp:
        one = _campaign(1, ["--examples", str(examples)], Path(tmp))
        two = _campaign(2, ["--examples", str(examples)], Path(tmp))
        mem = _campaign(2, ["--budget", f"{int(memory_seconds)}s"]
                        + (["--recycle", recycle] if recycle is not None else []),
                        Path(tmp), sample=_workers_rss, seconds=memory_seconds)
    r1, r2 = steady_rate(one), steady_rate(two)
    same = sorted(one["seeds"]) == sorted(two["seeds"])
    figures = [
        Figure("campaign examples/s, 1 worker (coordinated, nightly)", "examples/s", [r1],
               f"{one['examples']} examples in {one['seconds']:.0f} s, budget {examples}, "
               f"{len(one['runs'])} runs"),
        Figure("campaign examples/s, 2 workers, the same seeds", "examples/s", [r2],
               f"{two['examples']} examples in {two['seconds']:.0f} s"
               + ("" if same else "; NOT the same seeds as the 1-worker campaign")),
        Figure("speed-up, 2 workers over 1", "x", [r2 / r1 if r1 else 0.0], "target >= 1.6 on 2 cores"),
    ]
    samples = mem["memory_samples"]
    replaced = sum(w.get("replaced", 0) for w in mem["worker_stats"])
    if len(samples) >= 4:
        for which, what in ((0, "worker processes"), (1, "workers + Postgres")):
            early, late, pct = growth(samples, which + 1)
            figures.append(Figure(f"memory growth over a {memory_seconds:.0f} s campaign, {what}", "%",
                                  [pct], f"{early:.0f} MB -> {middle(samples, which + 1):.0f} MB "
                                         f"half-way -> {late:.0f} MB, 2 workers, "
                                         f"{mem['examples']} examples, {len(samples)} samples, "
                                         f"{replaced} worker(s) replaced (--recycle "
                                         f"{recycle if recycle is not None else 'default'})"))
    return figures
