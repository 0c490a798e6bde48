"""Connections and the per-request transaction, as PostgREST runs it.

A few long-lived psycopg AsyncConnections per event loop (never one per request): requests are
handed over one at a time, but one may be held open inside its transaction while the next runs.
Connections belong to the loop that opened them; a gateway used from a new loop (a new test, the
uvicorn thread) opens its own set.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import json
from typing import Any, Awaitable, Callable

import psycopg
from psycopg import sql
from psycopg.types.string import TextLoader

from .errors import ApiError, from_database
from .sqlgen import Statement

# PostgREST's txVarQuery: search_path (the request's schema, then the extra search path), role, claims,
# method, path (as PostgREST sees it behind Kong), the request's headers and cookies as JSON objects,
# the Prefer'd TimeZone (unchanged when none is asked for).
SETUP_SQL = ("SELECT set_config('search_path', coalesce(%s, current_setting('search_path')), true), "
             "set_config('role', %s, true), set_config('request.jwt.claims', %s, true), "
             "set_config('request.method', %s, true), set_config('request.path', %s, true), "
             "set_config('request.headers', %s, true), set_config('request.cookies', %s, true), "
             "set_config('timezone', coalesce(%s, current_setting('timezone')), true), "
             "set_config('dualsync.now', %s, true)")
CONNECT_OPTIONS = "-c TimeZone=UTC -c search_path=public,extensions -c application_name=dualsync-gateway"


@dataclasses.dataclass
class RequestContext:
    """Who asks what of the gateway: the request line and the caller's role and JWT claims."""

    method: str
    path: str
    query: str
    role: str
    claims: dict
    headers: str = "{}"             # request.headers: JSON, lower-cased names, no Cookie
    cookies: str = "{}"             # request.cookies: JSON
    timezone: str | None = None     # Prefer: timezone=..., when PostgreSQL knows the zone
    response: dict = dataclasses.field(default_factory=dict)    # response.* settings, plan_rows (run_transaction)
    plan: Any = None                # Accept: application/vnd.pgrst.plan... (a media.Media): reply with EXPLAIN
    rollback: bool = False          # db-tx-end / Prefer: tx=rollback: the transaction ends in ROLLBACK
    schema: str | None = None       # the exposed schema the request selected (None: the default one)
    profiled: bool = False          # chosen by a profile header, or several are exposed: Content-Profile
    search_path: str | None = None  # the transaction's search_path (None: the connection's)

    @property
    def pgrst_path(self) -> str:
        """The path PostgREST sees: Kong strips `/rest/v1`."""
        return self.path[len("/rest/v1"):] if self.path.startswith("/rest/v1/") else self.path


@dataclasses.dataclass
class RequestInfo:
    """What a `before_commit` hook (the Conductor) learns about the transaction it may hold."""
    seq: int
    method: str
    path: str
    query: str
    operation: str          # read / insert / upsert / update / delete / rpc
    target: str             # table or function name
    role: str
    user_id: str | None
    rows: int = 0
    rollback: bool = False  # the transaction ends in ROLLBACK (db-tx-end, Prefer: tx=rollback)


BeforeCommit = Callable[[RequestInfo], Awaitable[None]]


class Pool:
    """At most `size` connections for one event loop; `acquire` waits when all are busy.

    First come, first served: a released connection is handed straight to the longest waiter (a
    future resolved in `release`), so a request arriving meanwhile cannot take it first and send the
    woken waiter to the back of the queue, which is what made the p99 under load (a Condition's
    wake-up re-checks and re-queues). Every step is synchronous except opening a connection.
    """

    def __init__(self, dsn: str, size: int, on_connect=None):
        self.dsn, self.size, self.on_connect = dsn, size, on_connect
        self.idle: list[psycopg.AsyncConnection] = []
        self.count = 0
        self.waiters: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self) -> psycopg.AsyncConnection:
        if self.idle and not self.waiters:
            return self.idle.pop()
        if self.count >= self.size or self.waiters:
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                conn = await waiter
            except BaseException:
                self._give_back(waiter)
                raise
            if conn is not None:
                return conn
            # None: `_wake_for_slot` reserved a slot (counted) for this waiter to open a connection in
        else:
            self.count += 1
        try:
            conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True, options=CONNECT_OPTIONS)
            if self.on_connect is not None:
                await self.on_connect(conn)
            return conn
        except BaseException:
            self.count -= 1
            self._wake_for_slot()
            raise

    def _give_back(self, waiter: asyncio.Future) -> None:
        """A waiter was cancelled: pass on whatever it had been handed, or leave the queue."""
        if waiter.done() and not waiter.cancelled():
            if waiter.result() is None:
                self.count -= 1
                self._wake_for_slot()
            else:
                self._put(waiter.result())
        elif waiter in self.waiters:
            self.waiters.remove(waiter)

    async def release(self, conn: psycopg.AsyncConnection) -> None:
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.count -= 1
            await _close_quietly(conn)
            self._wake_for_slot()
        else:
            self._put(conn)

    def _put(self, conn: psycopg.AsyncConnection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    def _wake_for_slot(self) -> None:
        """A connection slot came free: it is reserved for the longest waiter, which opens a connection."""
        while self.waiters and self.count < self.size:
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.count += 1
                waiter.set_result(None)
                return

    async def close(self) -> None:
        while self.idle:
            await _close_quietly(self.idle.pop())
        self.count = 0

    def abandon(self) -> None:
        """Close from outside the owning loop (it has ended): libpq's finish needs no loop."""
        for conn in self.idle:
            conn.pgconn.finish()
        self.idle.clear()


async def _close_quietly(conn: psycopg.AsyncConnection) -> None:
    try:
        await conn.close()
    except psycopg.Error:
        pass


class Pools:
    """One Pool per running event loop."""

    def __init__(self, dsn: str, size: int, on_connect=None):
        self.dsn, self.size, self.on_connect = dsn, size, on_connect
        self.by_loop: dict[asyncio.AbstractEventLoop, Pool] = {}

    def current(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self.by_loop.get(loop)
        if pool is None:
            for old in [lp for lp in self.by_loop if lp.is_closed()]:
                self.by_loop.pop(old).abandon()
            pool = self.by_loop[loop] = Pool(self.dsn, self.size, self.on_connect)
        return pool

    @contextlib.asynccontextmanager
    async def borrow(self):
        """A connection of this loop's pool for the block, given back (or closed, if left inside a
        transaction) however the block ends."""
        pool = self.current()
        conn = await pool.acquire()
        try:
            yield conn
        finally:
            await pool.release(conn)

    async def close_current(self) -> None:
        pool = self.by_loop.pop(asyncio.get_running_loop(), None)
        if pool:
            await pool.close()

    def abandon_all(self) -> None:
        for pool in self.by_loop.values():
            pool.abandon()
        self.by_loop.clear()


def database_error(exc: Exception, anon: bool) -> ApiError:
    """Map whatever psycopg raised to PostgREST's error response."""
    if isinstance(exc, psycopg.Error) and exc.sqlstate:
        diag = exc.diag
        return from_database(exc.sqlstate, diag.message_primary or str(exc), diag.message_detail,
                             diag.message_hint, anon)
    if isinstance(exc, (psycopg.DataError, UnicodeEncodeError, ValueError)):
        # NUL bytes and lone surrogates never reach the server; PostgreSQL would refuse them the same way.
        return ApiError(400, "22021", 'invalid byte sequence for encoding "UTF8": 0x00')
    if isinstance(exc, psycopg.OperationalError):
        return ApiError(503, "PGRST001", "Database client error. Retrying the connection.", str(exc))
    raise exc


class PlanReply(Exception):
    """The reply is the query's plan (the plan media type): raised by the gateway instead of running
    the query for rows, rendered by the routes as 200 with the plan as body."""

    def __init__(self, body: str, content_type: str):
        super().__init__("plan reply")
        self.body, self.content_type = body, content_type


def explain_statement(statement: Statement, fmt: str, options: tuple[str, ...]) -> Statement:
    """PostgREST's explainF: `EXPLAIN (FORMAT JSON|TEXT, ANALYZE, ...) <the main query>`."""
    head = ", ".join([f"FORMAT {fmt.upper()}", *(o.upper() for o in options)])
    return Statement([sql.SQL(f"EXPLAIN ({head}) "), *statement.parts], list(statement.params))


async def run_explain(conn: psycopg.AsyncConnection, *, read_only: bool, setup: tuple, statement: Statement,
                      rollback: bool = False) -> str:
    """The plan rows as text, each with a newline (PostgREST's planRow), in the request's transaction
    (which ends as `end_transaction` ends it: with ANALYZE, a write stays only on a commit)."""
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY" if read_only else "BEGIN")
            await conn.execute(SETUP_SQL, setup)
            cur = conn.cursor()
            cur.adapters.register_loader("json", TextLoader)       # the plan as PostgreSQL wrote it
            await cur.execute(statement.composed(), statement.params, prepare=False)
        text = "".join(f"{row[0]}\n" for row in await cur.fetchall())
        await end_transaction(conn, rollback)
        return text
    except BaseException as exc:
        if not conn.closed and getattr(exc, "sqlstate", None) == "22023":
            await conn.close()          # as in run_transaction: the statement behind a failed role switch
        elif not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        raise


# What a function may have asked of the response (PostgREST reads both after the main query).
RESPONSE_SQL = ("SELECT nullif(current_setting('response.headers', true), ''), "
                "nullif(current_setting('response.status', true), '')")


async def run_transaction(conn: psycopg.AsyncConnection, *, read_only: bool, setup: tuple,
                          statement: Statement, check: Callable[[tuple], None],
                          before_commit: Callable[[tuple], Awaitable[None]],
                          explain: Statement | None = None, after: dict | None = None,
                          rollback: bool = False) -> tuple:
    """BEGIN; set the request GUCs; run the statement; let `check` veto; await the hook; COMMIT (or,
    with `rollback`, ROLLBACK after the deferred constraints are checked: the reply is the same).
    `after` receives `response_headers` / `response_status` (the response.* settings the statement
    left) and, with `explain` (an EXPLAIN (FORMAT JSON) statement), `plan_rows`: its row estimate."""
    try:
        # One round trip for BEGIN, the settings and the statement (pipeline mode); COMMIT waits
        # for the hook, so a held request stays inside its transaction.
        async with conn.pipeline():
            await conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY" if read_only else "BEGIN")
            await conn.execute(SETUP_SQL, setup)
            cur = await conn.execute(statement.composed(), statement.params)
            # Never prepared: a statement queued behind one that fails is skipped by the server, and
            # psycopg would then believe it prepared (26000 "prepared statement does not exist" after).
            plan = await conn.execute(explain.composed(), explain.params, prepare=False) if explain else None
            settings = await conn.execute(RESPONSE_SQL, prepare=False) if after is not None else None
        row = await cur.fetchone()
        if after is not None:
            after["response_headers"], after["response_status"] = await settings.fetchone()
            if plan is not None:
                after["plan_rows"] = _plan_rows((await plan.fetchone())[0])
        check(row)
        await before_commit(row)
        await end_transaction(conn, rollback)
        return row
    except BaseException as exc:
        if not conn.closed and getattr(exc, "sqlstate", None) == "22023":
            # The role switch failed (a token's role that does not exist): the statement queued behind
            # it never ran, yet psycopg may count it as prepared, and this connection would answer
            # 26000 "prepared statement does not exist" later. Its cache cannot be trusted: close it.
            await conn.close()
        elif not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        raise


async def end_transaction(conn: psycopg.AsyncConnection, rollback: bool) -> None:
    """COMMIT, or v14's optionalRollback: deferred constraints checked first (a violation fails the
    request as a COMMIT would), then ROLLBACK."""
    if rollback:
        await conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        await conn.execute("ROLLBACK")
    else:
        await conn.execute("COMMIT")


def _plan_rows(plan) -> int | None:
    try:
        return int(plan[0]["Plan"]["Plan Rows"])
    except (LookupError, TypeError, ValueError):
        return None


def claims_json(claims: dict[str, Any]) -> str:
    return json.dumps(claims, separators=(",", ":"))
