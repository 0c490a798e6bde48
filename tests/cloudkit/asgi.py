"""Call the fake's ASGI app synchronously: it never awaits real I/O, so one send() runs it."""

from __future__ import annotations

import json


def call(app, method: str, path: str, query: str = "", body: bytes = b"") -> tuple[int, dict, bytes]:
    sent: list[dict] = []
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": []}
    coro = app(scope, receive, send)
    try:
        coro.send(None)
    except StopIteration:
        pass
    else:
        coro.close()
        raise AssertionError("the app awaited something real; it must complete synchronously")
    start = sent[0]
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def call_json(app, method, path, query="", body=b"") -> tuple[int, dict, dict]:
    status, headers, raw = call(app, method, path, query, body)
    return status, headers, json.loads(raw)
