"""One interface for every way of getting a PostgreSQL server.

A provider's `start()` returns a `ConnInfo` once the server accepts connections, or raises
`ProviderError` naming the provider, what failed, the server log's tail and what to do. `stop()` is
idempotent and leaves no process or data directory behind.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Protocol
from urllib.parse import quote

import psycopg


class ProviderError(RuntimeError):
    """A provider could not start or lost its server. The message is meant for a person."""

    def __init__(self, provider: str, problem: str, *, hint: str = "", log_tail: str = ""):
        parts = [f"postgres provider {provider!r}: {problem}"]
        if hint:
            parts.append(f"hint: {hint}")
        if log_tail.strip():
            parts.append("server log (last lines):\n" + log_tail.rstrip())
        super().__init__("\n".join(parts))
        self.provider, self.problem, self.hint = provider, problem, hint


@dataclasses.dataclass(frozen=True)
class ConnInfo:
    host: str
    port: int
    user: str
    password: str
    dbname: str = "postgres"

    def dsn(self, dbname: str | None = None) -> str:
        cred = quote(self.user, safe="")
        if self.password:
            cred += ":" + quote(self.password, safe="")
        return f"postgresql://{cred}@{self.host}:{self.port}/{quote(dbname or self.dbname, safe='')}"

    def redacted(self, dbname: str | None = None) -> str:
        if not self.password:
            return self.dsn(dbname)
        return self.dsn(dbname).replace(":" + quote(self.password, safe="") + "@", ":***@", 1)

    def with_db(self, dbname: str) -> "ConnInfo":
        return dataclasses.replace(self, dbname=dbname)


class Provider(Protocol):
    name: str

    def start(self) -> ConnInfo: ...
    def stop(self) -> None: ...
    def log_tail(self, lines: int = 20) -> str: ...


def wait_until_ready(
    info: ConnInfo,
    *,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
    interval: float = 0.02,
) -> None:
    """Wait until `info` accepts a query. Raises TimeoutError, or ChildProcessError when the
    server process died (as `alive()` reports) so the caller can attach its log."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise ChildProcessError("server process exited during start")
        try:
            with psycopg.connect(info.dsn(), connect_timeout=2, autocommit=True) as conn:
                conn.execute("select 1")
            return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(interval)
    raise TimeoutError(f"not accepting connections after {timeout:.0f} s ({last})")


def server_version(info: ConnInfo) -> str:
    with psycopg.connect(info.dsn(), autocommit=True) as conn:
        return conn.execute("show server_version").fetchone()[0]
