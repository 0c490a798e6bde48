"""Serve a `CloudKit` over loopback with uvicorn in a background thread (tests, the CLI)."""

from __future__ import annotations

import asyncio
import socket
import threading

import uvicorn

from .model import CloudKit
from .wire import asgi_app



class LoopbackServer:
    """A started server: `base_url`, `ck` (the model behind it) and `stop()`."""

    def __init__(self, ck: CloudKit, port: int | None = None, host: str = "127.0.0.1"):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError(f"the fake serves loopback only, not {host!r}")
        self.ck = ck
        # Bind here and hand uvicorn the socket: no window in which another process takes the port.
        # proto=IPPROTO_TCP matters: asyncio turns Nagle off only for sockets that say they are TCP,
        # and without that every small reply waits ~40 ms for a delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # restart on the same --port
        try:
            self._socket.bind((host, port or 0))
        except OSError as e:
            self._socket.close()
            raise RuntimeError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port") from None
        self.port = self._socket.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(asgi_app(ck), log_level="critical", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"cloudkit-fake:{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self, timeout: float = 10.0) -> "LoopbackServer":
        self._thread.start()
        # Readiness: uvicorn sets `started` once the socket listens; fail with a hint otherwise.
        for _ in range(int(timeout / 0.01)):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError(f"CloudKit fake did not start on {self.base_url} within {timeout}s")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
