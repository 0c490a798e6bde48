"""Attribution without the client's codec: the ledger opens what a backend stores through the
adapter's own `decode` command.

An app encrypts or encodes its payloads its own way; the checkers need to know which write a
backend row holds. For an adapter that declares `decode`, the World keeps one extra adapter
process (never signed in, never syncing) and asks it, synchronously, each time a commit is
recorded and for every row of the final state. It hears the same `keys` notices as the devices.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from typing import Any

from dualsync.clients.adapter.protocol import PROTOCOL_VERSION
from dualsync.harness.external.process import AdapterFailure, argv_of, launch_timeout


class Decoder:
    def __init__(self, command: str, secret: str, store_dir: str):
        self.command = command
        self.proc = subprocess.Popen(argv_of(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self._buffer = b""
        self._ids = 0
        self._keys: dict[str, int] = {}
        self._configuration = (secret, store_dir)  # sent at first use: the process starts meanwhile
        self._ready = False

    def _handshake(self) -> None:
        self._ready = True
        secret, store_dir = self._configuration
        self._call("hello", {"protocols": [PROTOCOL_VERSION]})
        dead = "http://127.0.0.1:9"  # it never sends a request
        self._call("configure", {"device": "ledger", "user": "ledger", "store_dir": store_dir,
                                 "supabase": {"url": dead, "anon_key": "unused-by-the-decoder"},
                                 "cloudkit": {"url": dead, "container": "iCloud.com.fitme.app",
                                              "environment": "development", "api_token": "api-token"},
                                 "keys": {"secret": secret}, "clock": {"now": 0.0, "virtual": True},
                                 "timeouts": {"command_s": launch_timeout()}})

    def open(self, vault: Any, user_id: str, record_type: str, record_id: str, backend: str,
             payload: Any, version: Any) -> dict[str, Any]:
        """What the backend's copy holds: {fields, deleted, write_id} or {undecryptable: True}."""
        if not self._ready:
            self._handshake()
        current = vault.current_version(user_id)
        if self._keys.get(user_id) != current:
            self._send({"keys": {"user_id": user_id, "current": current, "known": None}})
            self._keys[user_id] = current
        row = ({"payload": payload, "key_version": version} if backend == "supabase" else
               {"recordName": record_id, "fields": {"payload": {"value": payload},
                                                    "keyVersion": {"value": version}}})
        value = self._call("decode", {"type": record_type, "id": record_id, "backend": backend,
                                      "row": row, "user_id": user_id})
        if not isinstance(value, dict):
            raise self._failure(f"answered decode with {value!r}")
        if value.get("undecryptable"):
            return {"undecryptable": True}
        return {"fields": value.get("fields"), "deleted": bool(value.get("deleted")),
                "write_id": value.get("write_id")}

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()

    # A blocking exchange, with a deadline.

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise self._failure("exited") from None

    def _call(self, cmd: str, args: dict[str, Any]) -> Any:
        self._ids += 1
        self._send({"id": self._ids, "cmd": cmd, "args": args})
        deadline = time.monotonic() + launch_timeout()
        while True:
            reply = json.loads(self._line(deadline, cmd))
            if reply.get("id") == self._ids:
                break  # events (none are expected) and stray lines are skipped
        if not reply.get("ok"):
            raise self._failure(f"refused {cmd}: {reply.get('error')}")
        return reply.get("value")

    def _line(self, deadline: float, cmd: str) -> bytes:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            if not ready:
                raise self._failure(f"gave no answer to {cmd} in {launch_timeout():g} s")
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise self._failure(f"exited during {cmd}")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _failure(self, why: str) -> AdapterFailure:
        self.close()
        return AdapterFailure(f"the ledger's decoder (adapter {self.command!r}) {why}")
