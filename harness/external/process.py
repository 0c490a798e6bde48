"""One adapter process: JSON lines over its stdin/stdout, the commands it owes an answer, and
what to say when it misbehaves.

Every way an adapter can go wrong (it exits, hangs, prints something that is not a protocol line,
answers a command nobody asked, speaks another protocol version) ends in one `AdapterFailure`
naming the device, the command and the last exchanges, and the process group is killed.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shlex
import signal
import sys
import time
from typing import Any, Callable

from dualsync.harness.world import StepError

EXCHANGES_KEPT = 8
LINE_LIMIT = 1 << 24  # a store snapshot is one line


class AdapterFailure(StepError):
    """The adapter broke the protocol; the run cannot go on with it."""

    @property
    def headline(self) -> str:
        """The report's first line, with a pointer to the rest (for one-line usage errors)."""
        first, _, rest = str(self).partition("\n")
        return first + ("; set DUALSYNC_PROTOCOL_TRACE=FILE to see every line" if rest else "")


class Killed(Exception):
    """The harness killed the process on purpose (a crash at a fault point, a power cut)."""

    def __init__(self, point: str):
        super().__init__(point)
        self.point = point


def argv_of(command: str) -> list[str]:
    """The command's argv; a leading `python` is the harness's own interpreter (its venv)."""
    argv = shlex.split(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def command_timeout() -> float:
    return float(os.environ.get("DUALSYNC_COMMAND_TIMEOUT", "30"))


def launch_timeout() -> float:
    """For hello and configure: starting an interpreter on a loaded machine takes a while."""
    return max(command_timeout(), 30.0)


class AdapterProcess:
    def __init__(self, device: str, command: str, on_event: Callable[[dict[str, Any]], None]):
        self.device, self.command, self.on_event = device, command, on_event
        self.argv = argv_of(command)
        self.exchanges: collections.deque[str] = collections.deque(maxlen=EXCHANGES_KEPT)
        self.stderr: collections.deque[str] = collections.deque(maxlen=6)
        self.pending: dict[int, tuple[str, asyncio.Future]] = {}
        self.failure: AdapterFailure | None = None
        self.killed: Killed | None = None
        self.last_activity = time.monotonic()
        self.activity = asyncio.Event()  # set by every line from the adapter
        self.heard = 0  # lines from the adapter so far (the World's settle compares it)
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = 0
        self.exiting = False  # a shutdown was asked for: exit is expected
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=LINE_LIMIT, start_new_session=True)
        except OSError as exc:
            raise self._failure(f"the adapter command cannot start ({exc.strerror or exc})") from None
        self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._read_stderr())]

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self.killed is None

    # Sending.

    def send(self, message: dict[str, Any]) -> None:
        if not self.alive or self.proc.stdin.is_closing():
            return
        line = json.dumps(message, separators=(",", ":"), default=str)
        self._log("->", line)
        self.proc.stdin.write(line.encode() + b"\n")
        self.last_activity = time.monotonic()

    async def call(self, cmd: str, args: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        """Send a command; its reply ({ok, value} or {ok: false, error}). Raises AdapterFailure
        when the adapter breaks the protocol and Killed when the harness killed it meanwhile."""
        if self.failure:
            raise self.failure
        if self.killed:
            raise self.killed
        self._ids += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self._ids] = (cmd, future)
        message = {"id": self._ids, "cmd": cmd, "args": args}
        if now is not None:
            message["now"] = now
        self.send(message)
        return await future

    def waiting_since(self) -> float:
        return time.monotonic() - self.last_activity

    async def next_activity(self, timeout: float) -> None:
        """Until the adapter says something (or `timeout` real seconds pass)."""
        self.activity.clear()
        try:
            await asyncio.wait_for(self.activity.wait(), max(0.0, timeout))
        except asyncio.TimeoutError:
            pass

    # Receiving.

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.proc.stdout.readline()
            except (ValueError, asyncio.LimitOverrunError):
                self.fail(f"printed a line longer than {LINE_LIMIT} bytes")
                return
            if not raw:
                break
            self.last_activity = time.monotonic()
            self.activity.set()
            self.heard += 1
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._log("<-", line)
            try:
                message = json.loads(line)
                if not isinstance(message, dict):
                    raise ValueError
            except ValueError:
                self.fail(f"printed a line that is not a JSON object: {line[:120]!r} (log to stderr)")
                return
            self._route(message)
        code = await self.proc.wait()
        if self.killed is None and self.failure is None and not self.exiting:
            self.fail(f"the adapter exited with status {code}" + (
                "" if self.pending else " with no command pending"))
        self._drop_pending()

    def _route(self, m: dict[str, Any]) -> None:
        if "id" in m and "ok" in m:
            entry = self.pending.pop(m["id"], None) if m["id"] is not None else None
            if entry is None:
                if m["id"] is None and not m.get("ok"):
                    self.fail(f"refused a line the harness sent: {(m.get('error') or {}).get('message')}")
                else:
                    self.fail(f"answered id {m['id']}, which is no pending command's (late or duplicate)")
                return
            if not entry[1].done():
                entry[1].set_result(m)
        elif "event" in m:
            try:
                self.on_event(m)
            except AdapterFailure as exc:
                self._fail_with(exc)
            except (KeyError, TypeError, ValueError) as exc:
                self.fail(f"sent a malformed {m.get('event')!r} event ({type(exc).__name__}: {exc})")
        else:
            self.fail(f"sent a line that is neither a reply nor an event: {json.dumps(m)[:120]}")

    async def _read_stderr(self) -> None:
        while True:
            raw = await self.proc.stderr.readline()
            if not raw:
                return
            self.stderr.append(raw.decode("utf-8", "replace").rstrip()[:200])

    # Ending.

    def kill(self, reason: Killed | None = None) -> None:
        """SIGKILL the process group at once (a crash happens between two instructions)."""
        if reason is not None and self.killed is None:
            self.killed = reason
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def fail(self, why: str) -> AdapterFailure:
        return self._fail_with(self._failure(why))

    def _fail_with(self, failure: AdapterFailure) -> AdapterFailure:
        if self.failure is None:
            self.failure = failure
        self.kill()
        self._drop_pending()
        return self.failure

    def _drop_pending(self) -> None:
        error = self.failure or self.killed or Killed("exit")
        for _cmd, future in self.pending.values():
            if not future.done():
                future.set_exception(error)
        self.pending.clear()

    async def aclose(self, graceful: bool = False) -> None:
        if graceful and self.alive and not self.pending:
            self.exiting = True
            try:
                await asyncio.wait_for(self.call("shutdown", {}), 2.0)
                await asyncio.wait_for(self.proc.wait(), 2.0)
            except (asyncio.TimeoutError, AdapterFailure, Killed):
                pass
            self.killed = self.killed or Killed("shutdown")
        self.kill(self.killed or Killed("closed"))
        if self.proc is not None:
            await self.proc.wait()
        for t in self._tasks:
            try:
                await asyncio.wait_for(t, 2.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                t.cancel()
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
        self._drop_pending()

    # Reports.

    def _failure(self, why: str) -> AdapterFailure:
        pending = ", ".join(f"{cmd} (id {i})" for i, (cmd, _f) in self.pending.items()) or "none"
        lines = [f"device {self.device}: adapter {self.command!r} {why}",
                 f"  command(s) pending: {pending}", "  last exchanges:"]
        lines += [f"    {x}" for x in self.exchanges] or ["    (none)"]
        if self.stderr:
            lines += ["  its stderr ends with:"] + [f"    {x}" for x in self.stderr]
        return AdapterFailure("\n".join(lines))

    def _log(self, direction: str, line: str) -> None:
        trace = os.environ.get("DUALSYNC_PROTOCOL_TRACE")  # every line, for adapter authors
        if trace:
            with open(trace, "a") as out:
                out.write(f"{time.monotonic():.4f} {self.device} {direction} {line}\n")
        self.exchanges.append(f"{direction} {line[:160]}{'...' if len(line) > 160 else ''}")
