"""Serve a `CloudKit` over loopback with uvicorn in a background thread (tests, the CLI)."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from .model import CloudKit
from .wire import asgi_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """A started server: `base_url`, `ck` (the model behind it) and `stop()`."""

    def __init__(self, ck: CloudKit, port: int | None = None, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the fake serves loopback only, not {host!r}")
        self.ck = ck
        self.port = port or free_port()
        self.base_url = f"http://{host}:{self.port}"
        config = uvicorn.Config(asgi_app(ck), host=host, port=self.port, log_level="critical",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"cloudkit-fake:{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def start(self, timeout: float = 10.0) -> "LoopbackServer":
        self._thread.start()
        # Readiness: uvicorn sets `started` once the socket listens; fail with a hint otherwise.
        for _ in range(int(timeout / 0.01)):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError(f"CloudKit fake did not start on {self.base_url} within {timeout}s "
                           "(is the port taken? pass another --port)")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
