"""Ways to reach a gateway from synchronous code: a loopback uvicorn server in a thread, and an
in-process httpx transport that runs the ASGI app on a private event-loop thread.

Threads are fine here: these serve contract tests, supabase-py's sync client and standalone use.
The harness drives the app on its own loop through httpx.ASGITransport, with no thread involved.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import uvicorn


class LoopThread:
    """An asyncio loop running in a daemon thread; `run(coro)` waits for the result."""

    def __init__(self, name: str = "gateway-loop"):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class InProcessTransport(httpx.BaseTransport):
    """A sync httpx transport into an ASGI app, without sockets (for httpx.Client, supabase-py sync)."""

    def __init__(self, app, loop: LoopThread):
        self.asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        status, headers, content = self.loop.run(self._send(copy))
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _send(self, request: httpx.Request):
        response = await self.asgi.handle_async_request(request)
        content = await response.aread()
        return response.status_code, response.headers.multi_items(), content


def free_loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it a response written as header + body waits out
    # the peer's delayed ACK (~40 ms per request on Linux loopback).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LoopbackServer:
    """uvicorn serving `app` on a free 127.0.0.1 port in a background thread."""

    def __init__(self, app, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.sock = free_loopback_socket() if port == 0 and host == "127.0.0.1" else None
        self.host = host
        self.port = self.sock.getsockname()[1] if self.sock else port
        # httptools (a dependency) parses HTTP when installed, as uvicorn's default "auto" picks it: h11,
        # pure Python, cost a tenth of the gateway's time under load. No proxy headers: nothing reads
        # the client address, and rewriting it is work on every request.
        config = uvicorn.Config(app, host=host, port=self.port, log_level=log_level, lifespan="on",
                                access_log=False, proxy_headers=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._serve, name=f"gateway-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _serve(self) -> None:
        self.server.run(sockets=[self.sock] if self.sock else None)

    def start(self, timeout: float = 10) -> "LoopbackServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"gateway server on {self.url} did not start within {timeout:.0f} s")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        if self.sock:
            self.sock.close()
