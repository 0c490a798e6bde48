"""A minimal harness side of the device protocol v1, for driving one adapter process from a test
until the harness's own external devices land: commands with ids, overlapping commands, events,
fault points held or answered with a SIGKILL, and relaunch on the same store directory."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any, Awaitable, Callable

# What a test decides at a fault point: None resumes at once, an awaitable resumes when it is
# done, "kill" crashes the process there.
Gate = Callable[[dict], "None | Awaitable[Any] | str"]


class CommandFailed(Exception):
    def __init__(self, cmd: str, error: dict):
        super().__init__(f"{cmd}: {error.get('kind')}: {error.get('message')}")
        self.cmd, self.kind, self.error = cmd, error.get("kind"), error


class Crashed(Exception):
    """The process died (killed at a fault point, or it exited) before replying."""


class ProtocolDevice:
    def __init__(self, argv: list[str], config: dict, env: dict | None = None, timeout: float = float(os.environ.get("NODE_TIER_TIMEOUT", "30"))):
        self.argv, self.config, self.env, self.timeout = argv, config, env, timeout
        self.proc: asyncio.subprocess.Process | None = None
        self.hello: dict | None = None
        self.events: list[dict] = []
        self.exchanges: list[str] = []
        self.gate: Gate = lambda event: None
        self.killed_at: dict | None = None
        self._ids = 0
        self._pending: dict[int, tuple[str, asyncio.Future]] = {}
        self._reader: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self.stderr = b""

    # -- process ------------------------------------------------------------------------------

    async def launch(self) -> "ProtocolDevice":
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=self.env, limit=16 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read(self.proc))
        self._err = asyncio.ensure_future(self._drain_stderr(self.proc))
        self.hello = await self.command("hello", protocols=[1])
        await self.command("configure", **self.config)
        return self

    async def relaunch(self) -> "ProtocolDevice":
        await self.close()
        self.killed_at = None
        return await self.launch()

    def kill(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)

    async def close(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            try:
                await asyncio.wait_for(self.command("shutdown"), 5)
            except (Crashed, CommandFailed, asyncio.TimeoutError):
                pass
            self.kill()
        await self.proc.wait()
        for task in (self._reader, self._err, *self._tasks):
            if task:
                task.cancel()
        self.proc = None

    async def _drain_stderr(self, proc) -> None:
        while True:
            chunk = await proc.stderr.read(65536)
            if not chunk:
                return
            self.stderr = (self.stderr + chunk)[-20000:]

    # -- lines --------------------------------------------------------------------------------

    def _send(self, message: dict) -> None:
        line = json.dumps(message)
        self.exchanges.append("> " + line[:300])
        self.proc.stdin.write(line.encode() + b"\n")

    async def _read(self, proc) -> None:
        try:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                self.exchanges.append("< " + line.decode()[:300])
                message = json.loads(line)
                if "event" in message:
                    self._on_event(message)
                elif message.get("id") in self._pending:
                    cmd, future = self._pending.pop(message["id"])
                    if not future.done():
                        if message.get("ok"):
                            future.set_result(message.get("value"))
                        else:
                            future.set_exception(CommandFailed(cmd, message.get("error") or {}))
                else:
                    raise AssertionError(f"adapter sent a line that answers nothing: {line!r}")
        finally:
            for cmd, future in self._pending.values():
                if not future.done():
                    future.set_exception(Crashed(f"{cmd}: the adapter's output ended before it replied"))
            self._pending.clear()

    def _on_event(self, event: dict) -> None:
        self.events.append(event)
        if event["event"] in ("fault_point", "sleep"):
            decision = self.gate(event) if event["event"] == "fault_point" else None
            if decision == "kill":
                self.killed_at = event
                self.kill()
            elif decision is None:
                self._send({"resume": event["seq"]})
            else:
                task = asyncio.ensure_future(self._resume_after(decision, event["seq"]))
                self._tasks.add(task)

    async def _resume_after(self, awaitable, seq: int) -> None:
        await awaitable
        if self.proc and self.proc.returncode is None:
            self._send({"resume": seq})

    # -- commands -----------------------------------------------------------------------------

    def start(self, cmd: str, **args: Any) -> asyncio.Future:
        """Send a command; the future is its value (CommandFailed / Crashed otherwise)."""
        if self.proc is None or self.proc.returncode is not None:
            raise Crashed(f"{cmd}: the adapter is not running")
        self._ids += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[self._ids] = (cmd, future)
        self._send({"id": self._ids, "cmd": cmd, "args": args, "now": time.time()})
        return future

    async def command(self, cmd: str, **args: Any) -> Any:
        try:
            return await asyncio.wait_for(self.start(cmd, **args), self.timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"{cmd}: no reply in {self.timeout} s; last exchanges:\n"
                                 + "\n".join(self.exchanges[-12:]) + "\nstderr:\n" + self.stderr.decode()[-2000:]) from None

    def notice(self, message: dict) -> None:
        """A notice (`clock`, `keys`, `disk`): applied at once, never answered."""
        self._send(message)

    def persists(self, path: str | None = None) -> list[dict]:
        return [e for e in self.events if e["event"] == "persist" and (path is None or e["path"] == path)]


def node_env(node_modules) -> dict:
    return dict(os.environ, NODE_PATH=str(node_modules))
