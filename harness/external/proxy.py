"""A loopback HTTP port per external device and backend: the Conductor on the wire.

Whatever the adapter sends to its port becomes the same `httpx.Request` an in-process client
would have sent to the production host, and goes to `Conductor.handle`: deliver, hold, reorder,
delay, fail, lose the reply after commit, hold inside the Supabase transaction. A decision that
leaves the device without an answer (a lost reply, a dropped connection, a timeout) closes the
connection without a response, which is what the app would see.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import h11
import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
              "proxy-connection", "upgrade", "te", "trailer"}
Handler = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


class BackendProxy:
    def __init__(self, base: str, handler: Handler):
        self.base, self.handler = base.rstrip("/"), handler  # the production base URL it stands for
        self.server: asyncio.AbstractServer | None = None
        self.port = 0
        self._connections: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def aclose(self) -> None:
        if self.server is not None:
            self.server.close()
            for w in list(self._connections):
                w.transport.abort()
            try:
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
            except asyncio.TimeoutError:
                pass
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await _read_request(conn, reader, self.base)
                if request is None:
                    return
                response = await self.handler(request)
                if response is None:  # no answer reaches the device
                    writer.transport.abort()
                    return
                headers = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
                headers.append(("content-length", str(len(response.content))))
                writer.write(conn.send(h11.Response(status_code=response.status_code, headers=headers)))
                writer.write(conn.send(h11.Data(data=response.content)))
                writer.write(conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.IncompleteReadError):
            return
        finally:
            self._connections.discard(writer)
            writer.transport.abort()


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader, base: str) -> httpx.Request | None:
    head: Any = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            if not data and head is None:
                return None
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            break
        elif isinstance(event, h11.ConnectionClosed):
            return None
    headers = [(k.decode(), v.decode()) for k, v in head.headers if k.decode().lower() not in HOP_BY_HOP]
    return httpx.Request(head.method.decode(), base + head.target.decode(), headers=headers,
                         content=bytes(body))
