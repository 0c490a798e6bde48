"""The Conductor: the only scheduler. Every request a device sends passes through it, and at every
named fault point of a client it decides whether the client crashes there.

Per request it decides: deliver now, hold until released (before the backend sees it, or after
the backend answered and before the device gets the reply), delay on the virtual clock, fail (an
HTTP status, a CloudKit `serverErrorCode` with `retryAfter`, a timeout, a dropped connection), or
deliver and then lose the reply. Backends get one request at a time: the Conductor awaits each
answer before it hands the next request over, so Postgres's own timing reorders nothing.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import random
import uuid
from typing import Any, Awaitable, Callable

import httpx

from dualsync.fakes.cloudkit.errors import STATUS as CLOUDKIT_STATUS, CloudKitError
from dualsync.clients.api import ClientCrashed
from dualsync.harness.clock import VirtualClock
from dualsync.harness.history import History

REQUEST_TICK = 0.001  # virtual seconds each delivered request takes
ACTIONS = ("hold", "delay", "fail", "lose_reply", "crash")
Observer = Callable[[str, str, httpx.Request, httpx.Response], Awaitable[None] | None]


@dataclasses.dataclass
class Rule:
    """One decision, applied to the next `count` matching requests or fault-point hits."""

    action: str
    device: str | None = None
    path: str | None = None       # backend: "supabase" | "cloudkit"
    match: str | None = None      # substring of "METHOD /path" (requests) or a fault point name
    count: int = 1                # -1: every match
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"unknown Conductor action {self.action!r}; use one of {', '.join(ACTIONS)}")

    def applies(self, device: str, path: str | None, op: str) -> bool:
        return (self.count != 0 and self.device in (None, device) and self.path in (None, path)
                and (self.match is None or self.match in op))

    def use(self) -> bool:
        """Count one match; False while the rule is still skipping earlier occurrences (a sweep
        aims at the n-th time a point is passed)."""
        if self.params.get("skip", 0) > 0:
            self.params["skip"] -= 1
            return False
        if self.count > 0:
            self.count -= 1
        return True


@dataclasses.dataclass
class Exchange:
    """One request on its way through the Conductor."""

    id: int
    device: str
    backend: str
    op: str
    gate: asyncio.Future | None = None
    name: str = ""
    commit_hold: str = ""                  # hold inside the backend transaction, under this name
    in_txn: asyncio.Future | None = None   # set when the backend parks it before COMMIT
    done: asyncio.Future | None = None     # in `active` while the backend works on it


# The exchange a backend is working on: its before_commit hook runs in the delivering task's context.
_exchange: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("exchange", default=None)


class Conductor:
    def __init__(self, clock: VirtualClock, history: History, seed: int = 0):
        self.clock, self.history = clock, history
        self.random = random.Random(f"conductor:{seed}")
        self.rules: list[Rule] = []
        self.backends: dict[str, httpx.AsyncBaseTransport] = {}
        self.hosts: dict[tuple[str, int | None], str] = {}  # (host, port) -> backend name
        self.observers: list[Observer] = []
        self.held: dict[str, list[Exchange]] = {}
        self.active: set[asyncio.Future] = set()
        self.progress = 0          # bumps on every decision, so `World.settle` sees movement
        self.hits: list[tuple[str, str, str, int]] = []  # fault points passed: device, point, path, step
        self._lock = asyncio.Lock()
        self._ids = 0

    # Set-up.

    def add_backend(self, name: str, transport: httpx.AsyncBaseTransport, url: str) -> None:
        """Requests to `url`'s host and port go to `transport` (the backend adapter's base URL)."""
        self.backends[name] = transport
        where = httpx.URL(url)
        self.hosts[(where.host, where.port)] = name

    def add_rule(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        return rule

    def transport(self, device: str) -> "ConductorTransport":
        return ConductorTransport(self, device)

    # Holding and releasing.

    def release(self, *names: str) -> list[str]:
        """Release held exchanges in the order given: this is how a scenario reorders replies."""
        missing = [n for n in names if not self.held.get(n)]
        if missing:
            known = ", ".join(sorted(n for n, xs in self.held.items() if xs)) or "none"
            raise LookupError(f"nothing is held as {', '.join(missing)}; held now: {known}")
        for n in names:
            for x in self.held.pop(n):
                self._open(x)
        return list(names)

    def release_all(self) -> None:
        for name in sorted(self.held):
            for x in self.held.pop(name):
                self._open(x)

    def held_names(self) -> list[str]:
        return sorted(n for n, xs in self.held.items() if xs)

    def _open(self, x: Exchange) -> None:
        if x.gate is not None and not x.gate.done():
            x.gate.set_result(None)
            self._note("release", x)

    async def _park(self, x: Exchange, name: str) -> None:
        x.gate, x.name = asyncio.get_running_loop().create_future(), name
        self.held.setdefault(name, []).append(x)
        self.progress += 1
        await x.gate

    # The decision per request.

    async def handle(self, device: str, request: httpx.Request) -> httpx.Response:
        x = self._exchange(device, request)
        self._note("request", x)
        rule = self._decide(device, x.backend, x.op)
        action = rule.action if rule else "deliver"
        if action == "hold" and rule.params.get("at", "request") == "request":
            await self._park(x, rule.params.get("as") or f"hold{x.id}")
        elif action == "hold" and rule.params.get("at") == "commit":
            x.commit_hold = rule.params.get("as") or f"hold{x.id}"
        elif action == "delay":
            self.clock.call_later(float(rule.params.get("seconds", 1)), lambda: self._open(x))
            await self._park(x, f"delay{x.id}")
        elif action == "fail" and rule.params.get("mixed") and rule.params.get("ck_item_error"):
            return await self._mixed_batch(x, request, rule.params)
        elif action == "fail":
            return self._fail(x, request, rule.params)
        response = await self._deliver(x, request)
        if action == "hold" and rule.params.get("at") == "reply":
            await self._park(x, rule.params.get("as") or f"hold{x.id}")
        if action == "lose_reply":
            self._note("lose_reply", x, status=response.status_code)
            raise httpx.ReadTimeout(f"reply lost after {x.backend} answered (Conductor)",
                                    request=request)
        return response

    def _exchange(self, device: str, request: httpx.Request) -> Exchange:
        self._ids += 1
        host = request.url.host
        backend = self.hosts.get((host, request.url.port))
        if backend is None or backend not in self.backends:
            raise RuntimeError(f"device {device} sent a request to {host}, which no backend of "
                               f"this World serves ({', '.join(self.backends) or 'none started'})")
        return Exchange(self._ids, device, backend, f"{request.method} {request.url.path}")

    def _decide(self, device: str, backend: str | None, op: str) -> Rule | None:
        for rule in self.rules:
            if rule.action != "crash" and rule.applies(device, backend, op) and rule.use():
                self._note_rule(rule, device, op)
                return rule
        return None

    async def _deliver(self, x: Exchange, request: httpx.Request) -> httpx.Response:
        loop = asyncio.get_running_loop()
        x.done, x.in_txn = loop.create_future(), loop.create_future()
        self.active.add(x.done)
        try:
            async with self._lock:  # one request at a time per World
                # Real time passes between two requests; a frozen clock would give two commits
                # the same server timestamp, a tie no real server produces.
                self.clock.advance(REQUEST_TICK)
                token = _exchange.set(x)
                call = asyncio.ensure_future(self.backends[x.backend].handle_async_request(request))
                _exchange.reset(token)
                try:
                    await asyncio.wait({call, x.in_txn}, return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError:
                    call.cancel()  # asyncio.wait does not pass its waiter's cancellation on
                    raise
            # Held inside its transaction: the lock is free, others go on until it is released.
            response = await call
            body = await response.aread()
            reply = httpx.Response(response.status_code, headers=response.headers, content=body,
                                   request=request)
            for observe in self.observers:
                result = observe(x.device, x.backend, request, reply)
                if asyncio.iscoroutine(result):
                    await result
        finally:
            self.active.discard(x.done)
            x.done.set_result(None)
            self.progress += 1
        self._note("reply", x, status=reply.status_code)
        return reply

    async def before_commit(self, info: Any) -> None:
        """The Supabase gateway's hook, inside the transaction, before COMMIT: a `hold` with
        `at: commit` parks here, so another request can commit while this one is still open."""
        x = _exchange.get()
        if x is None or not x.commit_hold:
            return
        self.active.discard(x.done)
        x.in_txn.set_result(None)
        self._note("hold_in_transaction", x, rows=getattr(info, "rows", None))
        await self._park(x, x.commit_hold)
        self.active.add(x.done)

    def _fail(self, x: Exchange, request: httpx.Request, params: dict[str, Any]) -> httpx.Response:
        self._note("fail", x, **{k: v for k, v in params.items() if k != "as"})
        error = params.get("error")
        if error == "timeout":
            raise httpx.ConnectTimeout("timed out before the request was sent (Conductor)",
                                       request=request)
        if error == "drop":
            raise httpx.ConnectError("connection dropped (Conductor)", request=request)
        if params.get("ck_error"):
            return self._cloudkit_error(request, params)
        if params.get("ck_item_error"):
            return self._cloudkit_item_errors(request, params)
        status = int(params.get("status", 503))
        headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else {}
        body = {"code": str(status), "message": f"injected by the Conductor ({x.op})"}
        return httpx.Response(status, json=body, headers=headers, request=request)

    def _cloudkit_error(self, request: httpx.Request, params: dict[str, Any]) -> httpx.Response:
        code = params["ck_error"]
        error = CloudKitError(code, "injected by the Conductor", retry_after=params.get("retry_after"),
                              status=params.get("status") or (None if code in CLOUDKIT_STATUS else 503))
        body = error.body(str(uuid.UUID(int=self.random.getrandbits(128))))
        return httpx.Response(error.status, json=body, request=request)

    @staticmethod
    def _modify_body(request: httpx.Request) -> tuple[dict | None, list]:
        """A records/modify request's body and its operations (none when it is not such a body)."""
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return None, []
        if not isinstance(body, dict):
            return None, []
        ops = body.get("operations")
        return body, ops if isinstance(ops, list) else []

    @staticmethod
    def _item_errors(ops: list, params: dict[str, Any]) -> list[dict]:
        """The per-record error `ck_item_error` for each operation, named by its record."""
        items = []
        for op in ops:
            name = (op.get("record") or {}).get("recordName") if isinstance(op, dict) else None
            item = CloudKitError.item(params["ck_item_error"], "injected by the Conductor", recordName=name)
            if "retry_after" in params:
                item["retryAfter"] = params["retry_after"]
            items.append(item)
        return items

    def _cloudkit_item_errors(self, request: httpx.Request, params: dict[str, Any]) -> httpx.Response:
        """A 200 whose every record carries an error, as records/modify reports per-record
        failures (the batch is not atomic); nothing was saved."""
        _body, ops = self._modify_body(request)
        return httpx.Response(200, json={"records": self._item_errors(ops, params)}, request=request)

    async def _mixed_batch(self, x: Exchange, request: httpx.Request, params: dict[str, Any]) -> httpx.Response:
        """A records/modify batch whose every other operation (the first, third, ...) fails with
        `ck_item_error` while the rest reach the server, which answers them as it would (a save
        conflict, a success): one 200 with the results in the operations' order, as CloudKit
        answers a non-atomic batch. An atomic batch, or one that is not a modify, fails whole."""
        body, ops = self._modify_body(request)
        if len(ops) < 2 or body.get("atomic"):
            return self._fail(x, request, params)
        failed, kept = self._item_errors(ops[0::2], params), ops[1::2]
        forwarded = httpx.Request(request.method, request.url, json={**body, "operations": kept},
                                  headers={k: v for k, v in request.headers.items()
                                           if k.lower() not in ("content-length", "content-type")})
        self._note("fail", x, **{k: v for k, v in params.items() if k != "as"}, failed=len(failed),
                   forwarded=len(kept))
        reply = await self._deliver(x, forwarded)
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        answered = answer.get("records") if isinstance(answer, dict) else None
        if reply.status_code != 200 or not isinstance(answered, list) or len(answered) != len(kept):
            return reply  # the server refused the rest outright: that answer stands for the batch
        merged = [None] * len(ops)
        merged[0::2], merged[1::2] = failed, answered
        return httpx.Response(200, json={**answer, "records": merged}, request=request)

    # Fault points inside a client.

    def fault_point(self, device: str, point: str, path: str = "") -> None:
        """Called by the device's hooks at each named fault point; may crash the client there."""
        self.hits.append((device, point, path, self.history.step))
        for rule in self.rules:
            if rule.action == "crash" and rule.applies(device, path, point) and rule.use():
                self.history.append("fault", device, "crash", time=self.clock.now(), point=point,
                                    path=path)
                raise ClientCrashed(point)

    # History.

    def _note(self, what: str, x: Exchange, **value: Any) -> None:
        self.progress += 1
        self.history.append("net", f"{x.device}/{x.backend}", what, time=self.clock.now(),
                            op=x.op, request=x.id, name=x.name, **value)

    def _note_rule(self, rule: Rule, device: str, op: str) -> None:
        self.history.append("net", device, f"decide:{rule.action}", time=self.clock.now(), op=op,
                            params=json.loads(json.dumps(rule.params, default=str)))


class ConductorTransport(httpx.AsyncBaseTransport):
    """The transport a device's httpx.AsyncClient is built with."""

    def __init__(self, conductor: Conductor, device: str):
        self.conductor, self.device = conductor, device

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.conductor.handle(self.device, request)
