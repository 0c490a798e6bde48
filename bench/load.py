"""Gateway throughput under load: L concurrent sync loops against the standalone gateway.

The gateway runs as `python -m dualsync.fakes.supabase` in its own process (embedded PostgreSQL);
this process is the load client, on the same cores. Loops are devices, two per user (a 64-loop
phase is 32 users with 2 devices each, so every pull brings back the other device's writes and a
request does the same work in every phase). Each repeats what a sync client does, as its user
through RLS:

    upsert   POST /rest/v1/daily_logs (Prefer: resolution=merge-duplicates), 5 rows: new ids and
             ids this loop wrote before (so both the insert and the conflict path run)
    pull     GET  /rest/v1/daily_logs?updated_at=gt.<cursor>&order=updated_at,id&limit=100

The 4-, 16- and 64-loop phases run in ONE gateway, interleaved over rounds (4, 16, 64, 64, 16,
4, 4, ...), so each sees the same machine and drift cancels. Per phase: requests/s (median over
rounds), p50 and p99 over every request, the CPU per request of the gateway process, of
PostgreSQL and of this load client, and the ratio of the 64-loop to the 4-loop throughput
(acceptance: >= 0.90).

Correctness, over the whole run: every write the gateway acknowledged (2xx) is read back by its
owner with the last acknowledged payload, no pulled row belongs to another user, and the table
holds no row that was never acknowledged. Each is a figure that must be 0; its note names the
first rows at fault.

    ./dualsync bench load [--quick]
    ./dualsync py -m dualsync.bench.load [--loops 4,16,64] [--seconds 3] [--rounds 5]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid

import httpx
import psutil

from dualsync.bench import Figure
from dualsync.fakes.supabase import standalone

PULL = "/rest/v1/daily_logs"
BATCH = 5
DEVICES = 2         # loops (devices) per user


class StandaloneGateway(standalone.StandaloneGateway):
    """The gateway under load: `python -m dualsync.fakes.supabase` in a child process (fakes.supabase.standalone)."""

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU of the gateway process, and of its children (the embedded PostgreSQL)."""
        proc = psutil.Process(self.proc.pid)
        own = proc.cpu_times()
        children = 0.0
        for child in proc.children(recursive=True):
            try:
                t = child.cpu_times()
                children += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return own.user + own.system, children


class Ledger:
    """What the gateway acknowledged and what the users saw."""

    def __init__(self):
        self.acked: dict[str, tuple[str, str]] = {}     # id -> (user id, last acknowledged payload)
        self.crossed: list[str] = []                     # "row R (user A) pulled by user B"
        self.errors: list[str] = []


class Phase:
    def __init__(self):
        self.latencies: list[float] = []
        self.rates: list[float] = []
        self.gateway_cpu: list[float] = []      # ms of the gateway process's CPU per request
        self.postgres_cpu: list[float] = []     # ms of PostgreSQL's processes' CPU per request
        self.client_cpu: list[float] = []       # ms of this (load client) process's CPU per request


async def sign_up(client: httpx.AsyncClient, anon: str) -> tuple[str, str]:
    r = await client.post("/auth/v1/signup", headers={"apikey": anon},
                          json={"email": f"load-{uuid.uuid4().hex[:12]}@example.com", "password": "load-password"})
    r.raise_for_status()
    body = r.json()
    return body["user"]["id"], body["access_token"]


async def sync_loop(url: str, anon: str, user: tuple[str, str], ledger: Ledger, latencies: list[tuple[float, float]],
                    stop: asyncio.Event) -> None:
    """One device's sync loop: upsert a batch, pull from its cursor; until `stop`."""
    user_id, token = user
    headers = {"apikey": anon, "Authorization": f"Bearer {token}"}
    upsert_headers = {**headers, "Prefer": "resolution=merge-duplicates"}
    mine: list[str] = []
    cursor = "2000-01-01T00:00:00Z"
    n = 0
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        while not stop.is_set():
            n += 1
            ids = ([mine[(n * 7) % len(mine)], mine[(n * 13) % len(mine)]] if len(mine) > 2 else []) + \
                [str(uuid.uuid4()) for _ in range(BATCH - (2 if len(mine) > 2 else 0))]
            ids = list(dict.fromkeys(ids))
            body = [{"id": i, "payload": f"{i[:8]}-{n}", "client_modified_at": "2030-01-01T00:00:00Z"} for i in ids]
            t0 = time.perf_counter()
            try:
                r = await client.post(PULL, json=body, headers=upsert_headers)
            except httpx.HTTPError as exc:
                ledger.errors.append(f"upsert: {exc!r}")
                continue
            latencies.append((t0, time.perf_counter()))
            if r.status_code in (200, 201):
                for row in body:
                    if row["id"] not in ledger.acked:
                        mine.append(row["id"])
                    ledger.acked[row["id"]] = (user_id, row["payload"])
            else:
                ledger.errors.append(f"upsert {r.status_code}: {r.text[:200]}")
            t0 = time.perf_counter()
            try:
                r = await client.get(PULL, params={"updated_at": f"gt.{cursor}", "order": "updated_at,id",
                                                   "limit": "100"}, headers=headers)
            except httpx.HTTPError as exc:
                ledger.errors.append(f"pull: {exc!r}")
                continue
            latencies.append((t0, time.perf_counter()))
            if r.status_code != 200:
                ledger.errors.append(f"pull {r.status_code}: {r.text[:200]}")
                continue
            rows = r.json()
            for row in rows:
                if row["user_id"] != user_id:
                    ledger.crossed.append(f"row {row['id']} (user {row['user_id']}) pulled by user {user_id}")
            if rows:
                cursor = rows[-1]["updated_at"]


async def phase(url: str, anon: str, users: list, loops: int, seconds: float, ledger: Ledger, out: Phase,
                gateway_cpu) -> None:
    """Start `loops` loops; once each has finished a request (connections open, at most 5 s), measure
    `seconds`: requests started and finished inside the window count, with their latency."""
    stop = asyncio.Event()
    spans: list[tuple[float, float]] = []
    tasks = [asyncio.create_task(sync_loop(url, anon, users[i // DEVICES], ledger, spans, stop))
             for i in range(loops)]
    ramp_until = time.perf_counter() + 5
    while len(spans) < 2 * loops and time.perf_counter() < ramp_until:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.25)
    t0, cpu0, own0 = time.perf_counter(), gateway_cpu(), time.process_time()
    await asyncio.sleep(seconds)
    t1, cpu1, own1 = time.perf_counter(), gateway_cpu(), time.process_time()
    stop.set()
    await asyncio.gather(*tasks)
    done = [(end - start) * 1000 for start, end in spans if end <= t1 and end >= t0]
    out.latencies.extend((end - start) * 1000 for start, end in spans if start >= t0 and end <= t1)
    out.rates.append(len(done) / (t1 - t0))
    out.gateway_cpu.append((cpu1[0] - cpu0[0]) * 1000 / max(1, len(done)))
    out.postgres_cpu.append((cpu1[1] - cpu0[1]) * 1000 / max(1, len(done)))
    out.client_cpu.append((own1 - own0) * 1000 / max(1, len(done)))


async def verify(url: str, anon: str, users: list, ledger: Ledger, service: str) -> list[str]:
    """Every acknowledged write is there with its last payload, for its owner only; nothing else is."""
    problems = []
    seen_by_owner: dict[str, tuple[str, str]] = {}
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for user_id, token in users:
            headers = {"apikey": anon, "Authorization": f"Bearer {token}"}
            offset = 0
            while True:
                r = await client.get(PULL, params={"select": "id,user_id,payload", "order": "id",
                                                   "limit": "1000", "offset": str(offset)}, headers=headers)
                r.raise_for_status()
                page = r.json()
                for row in page:
                    if row["user_id"] != user_id:
                        ledger.crossed.append(f"row {row['id']} (user {row['user_id']}) read by user {user_id}")
                    seen_by_owner[row["id"]] = (row["user_id"], row["payload"])
                if len(page) < 1000:
                    break
                offset += 1000
        r = await client.get(PULL, params={"select": "id", "limit": "1"},
                             headers={"apikey": service, "Authorization": f"Bearer {service}", "Prefer": "count=exact"})
        r.raise_for_status()
        total = int(r.headers["content-range"].rpartition("/")[2])
    for row_id, (owner, payload) in ledger.acked.items():
        got = seen_by_owner.get(row_id)
        if got is None:
            problems.append(f"acknowledged row {row_id} of user {owner} is missing")
        elif got != (owner, payload):
            problems.append(f"acknowledged row {row_id}: expected {(owner, payload)}, read {got}")
    for row_id in sorted(set(seen_by_owner) - set(ledger.acked)):
        problems.append(f"row {row_id} of user {seen_by_owner[row_id][0]} was never acknowledged")
    if total != len(ledger.acked):
        problems.append(f"the table holds {total} rows, {len(ledger.acked)} were acknowledged")
    return problems


async def measure(url: str, anon: str, service: str, loops: list[int], seconds: float,
                  rounds: int, gateway_cpu) -> tuple[dict[int, Phase], Ledger, list[str], int]:
    ledger = Ledger()
    users = -(-max(loops) // DEVICES)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        accounts = [await sign_up(client, anon) for _ in range(users)]
    phases = {n: Phase() for n in loops}
    await phase(url, anon, accounts, max(loops), min(seconds, 2.0), ledger, Phase(), gateway_cpu)   # warm-up
    for r in range(rounds):
        for n in (loops if r % 2 == 0 else loops[::-1]):    # alternate the order: drift cancels
            await phase(url, anon, accounts, n, seconds, ledger, phases[n], gateway_cpu)
    problems = await verify(url, anon, accounts, ledger, service)
    requests = sum(len(p.latencies) for p in phases.values())
    return phases, ledger, problems, requests


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * q))] if s else float("nan")


def figures(phases: dict[int, Phase], ledger: Ledger, problems: list[str], requests: int) -> list[Figure]:
    out = []
    for n, p in phases.items():
        out.append(Figure(f"{n} loops ({-(-n // DEVICES)} users): throughput", "req/s", p.rates, "per round; median = the figure"))
        out.append(Figure(f"{n} loops: latency p50", "ms", [percentile(p.latencies, 0.5)]))
        out.append(Figure(f"{n} loops: latency p99", "ms", [percentile(p.latencies, 0.99)]))
        out.append(Figure(f"{n} loops: gateway CPU per request", "ms", p.gateway_cpu, "per round"))
        out.append(Figure(f"{n} loops: PostgreSQL CPU per request", "ms", p.postgres_cpu, "per round"))
        out.append(Figure(f"{n} loops: load client CPU per request", "ms", p.client_cpu, "per round"))
    low, high = min(phases), max(phases)
    ratio = statistics.median(phases[high].rates) / statistics.median(phases[low].rates)
    out.append(Figure(f"throughput {high} loops / {low} loops", "x", [ratio], "acceptance >= 0.90"))
    out.append(Figure("requests measured", "requests", [requests]))
    out.append(Figure("acknowledged rows", "rows", [len(ledger.acked)]))
    out.append(Figure("failed requests", "requests", [len(ledger.errors)], "; ".join(ledger.errors[:3])))
    out.append(Figure("acknowledged writes lost or wrong", "rows", [len(problems)], "; ".join(problems[:3])))
    out.append(Figure("rows seen by another user", "rows", [len(ledger.crossed)], "; ".join(ledger.crossed[:3])))
    return out


def run(quick: bool, loops=(4, 16, 64), seconds: float | None = None,
        rounds: int | None = None, gateway_args: tuple[str, ...] = ()) -> list[Figure]:
    seconds = seconds if seconds is not None else (2.0 if quick else 3.0)
    rounds = rounds if rounds is not None else (1 if quick else 5)
    gateway = StandaloneGateway(*gateway_args)
    try:
        result = asyncio.run(measure(gateway.url, gateway.anon_key, gateway.service_key, list(loops), seconds, rounds,
                                     gateway.cpu_seconds))
    finally:
        gateway.stop()
    return figures(*result)


def main(argv: list[str]) -> int:
    from dualsync.fakes.cli import Parser
    ap = Parser(prog="python -m dualsync.bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--loops", default="4,16,64", help="comma-separated loop counts (default 4,16,64)")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured seconds per phase and round (default 3)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds over the phases (default 5)")
    args = ap.parse_args(argv)
    try:
        loops = [int(x) for x in args.loops.split(",")]
        if not loops or min(loops) < 1:
            raise ValueError
    except ValueError:
        ap.error(f"--loops {args.loops}: give positive integers separated by commas, e.g. 4,16,64")
    if args.seconds <= 0 or args.rounds < 1:
        ap.error("--seconds and --rounds must be positive")
    print(f"# load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for f in run(False, loops, args.seconds, args.rounds):
        print("| " + " | ".join(f.row()) + " |")
    print(f"# load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
