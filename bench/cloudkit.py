"""CloudKit fake figures: records/modify and changes/zone throughput (in-process and over
loopback), reset time, memory per 100,000 records.   python -m dualsync.bench cloudkit [--quick]"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import time
import tracemalloc

import httpx

from dualsync.bench import Figure, timed
from dualsync.fakes.cloudkit import CloudKit
from dualsync.fakes.cloudkit.wire import asgi_app

ZONE = {"zoneName": "Bench"}
API = "fake-ck-api-token"


def _record(i: int) -> dict:
    return {"operationType": "create", "record": {"recordName": f"r{i}", "recordType": "DailyLog", "fields": {
        "date": {"value": "2026-03-02"}, "steps": {"value": i}, "payload": {"value": "x" * 64}}}}


def _fresh(ck: CloudKit):
    ck.reset()
    ck.config.web_auth_token_rotation = "off"
    db = ck.db("bench")
    db.zones_modify({"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})
    return db, ck.mint_web_auth_token("bench")


def _fill(db, n: int) -> None:
    for start in range(0, n, 200):
        db.records_modify({"zoneID": ZONE, "operations": [_record(i) for i in range(start, min(n, start + 200))]})


class _Http:
    """A client of one fake, in-process (ASGI) or a separate server process, that drives it only
    through HTTP: the wire for operations, the control plane for reset and tokens."""

    def __init__(self, base_url: str, container: str, transport=None):
        self.root, self.base = base_url, f"{base_url}/database/1/{container}/development/private/"
        if transport is None:
            self.client, self.loop = httpx.Client(), None     # what an external client does
        else:
            self.loop = asyncio.new_event_loop()
            self.client = httpx.AsyncClient(transport=transport)
        self.token = ""

    def _send(self, method: str, url: str, **kw) -> httpx.Response:
        if self.loop is None:
            return self.client.request(method, url, **kw)
        return self.loop.run_until_complete(self.client.request(method, url, **kw))

    def post(self, op: str, body: dict) -> dict:
        resp = self._send("POST", self.base + op, json=body, params={"ckAPIToken": API, "ckWebAuthToken": self.token})
        assert resp.status_code == 200, resp.text[:200]
        return resp.json()

    def fresh(self) -> None:
        self._send("POST", self.root + "/_control/reset")
        self._send("POST", self.root + "/_control/config", json={"web_auth_token_rotation": "off"})
        self.token = self._send("POST", self.root + "/_control/tokens", json={"user": "bench"}).json()["webAuthToken"]
        self.post("zones/modify", {"operations": [{"operationType": "create", "zone": {"zoneID": ZONE}}]})

    def fill(self, n: int) -> None:
        for start in range(0, n, 200):
            self.post("records/modify", {"zoneID": ZONE, "operations": [_record(i) for i in range(start, min(n, start + 200))]})

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


def _modify_rate(http: _Http, batch: int, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        http.fresh()
        t0 = time.perf_counter()
        for b in range(10):
            http.post("records/modify", {"zoneID": ZONE, "operations": [_record(b * batch + i) for i in range(batch)]})
        out.append(10 * batch / (time.perf_counter() - t0))
    return out


def _changes_rate(http: _Http, n: int, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        http.fresh()
        http.fill(n)
        t0, sync, seen = time.perf_counter(), None, 0
        while True:
            entry = {"zoneID": ZONE, "resultsLimit": 200, **({"syncToken": sync} if sync else {})}
            page = http.post("changes/zone", {"zones": [entry]})["zones"][0]
            seen, sync = seen + len(page["records"]), page["syncToken"]
            if not page["moreComing"]:
                break
        assert seen == n
        out.append(n / (time.perf_counter() - t0))
    return out


def _throughput(where: str, http: _Http, quick: bool) -> list[Figure]:
    rounds = 3 if quick else 7
    n = 2000 if quick else 10_000
    return [
        Figure(f"records/modify {where}, 1 op per request", "requests/s", _modify_rate(http, 1, rounds)),
        Figure(f"records/modify {where}, 200 ops per request", "records/s", _modify_rate(http, 200, rounds)),
        Figure(f"changes/zone {where}, pages of 200 from nil", "records/s", _changes_rate(http, n, rounds),
               note=f"{n:,} records"),
    ]


@contextlib.contextmanager
def _server_process():
    """`python -m dualsync.fakes.cloudkit` in its own process, so client and server don't share a GIL."""
    proc = subprocess.Popen([sys.executable, "-m", "dualsync.fakes.cloudkit", "--api-token", API],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _model_figures(quick: bool) -> list[Figure]:
    ck = CloudKit(api_token=API)
    rounds = 3 if quick else 7

    def direct_modify() -> float:
        db, _ = _fresh(ck)
        t0 = time.perf_counter()
        _fill(db, 2000)
        return 2000 / (time.perf_counter() - t0)

    def reset_with(n: int) -> list[float]:
        out = []
        for _ in range(rounds * 10):
            db, _ = _fresh(ck)
            _fill(db, n)
            out += timed(ck.reset, 1, scale=1e6)
        return out

    return [Figure("records/modify model call (no wire), 200 ops per call", "records/s",
                   [direct_modify() for _ in range(rounds)]),
            Figure("reset, empty model", "µs", timed(ck.reset, 200 if quick else 2000, scale=1e6)),
            Figure("reset, 1 user with 20 records (a typical test)", "µs", reset_with(20)),
            Figure("reset, 1 user with 1,000 records", "µs", reset_with(1000))]


def _memory(quick: bool) -> Figure:
    n = 20_000 if quick else 100_000
    samples = []
    for _ in range(1 if quick else 3):
        ck = CloudKit(api_token=API)
        gc.collect()
        tracemalloc.start()
        db, _ = _fresh(ck)
        _fill(db, n)
        gc.collect()
        used, _peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        samples.append(used / n * 100_000 / 2 ** 20)
        del ck, db
    return Figure("memory per 100,000 records (3 fields, 64-byte string)", "MiB", samples,
                  note=f"measured with tracemalloc on {n:,} records")


def run(quick: bool) -> list[Figure]:
    figures = _model_figures(quick)
    ck = CloudKit(api_token=API)
    inproc = _Http("https://api.apple-cloudkit.com", ck.container_id, httpx.ASGITransport(asgi_app(ck)))
    figures += _throughput("in-process (httpx ASGITransport)", inproc, quick)
    inproc.close()
    with _server_process() as info:
        loopback = _Http(info["baseURL"], info["container"])
        figures += _throughput("loopback (server process, httpx.Client)", loopback, quick)
        loopback.close()
    figures.append(_memory(quick))
    return figures
