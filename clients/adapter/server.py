"""One reference client behind the device protocol: JSON lines on stdin/stdout.

A reader thread takes every line as it arrives. Notices (`clock`, `keys`, `disk`) and `resume`s
are applied there at once, so they take effect in the order the harness sent them, even while the
client stands at a fault point (where it blocks, as the in-process hook does). Commands go to the
event loop, one task each, so they may overlap as the protocol allows.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import httpx

from dualsync import clients
from dualsync.clients.adapter.protocol import CAPABILITIES, PROTOCOL_VERSION
from dualsync.clients.api import FAULT_POINTS, Hooks
from dualsync.clients.catalogue import variant
from dualsync.clients.codec import open_record
from dualsync.clients.crypto import Keychain, KeyVault
from dualsync.clients.errors import BackendError, ClientError, NotSignedIn
from dualsync.clients.storage import FaultyStorage

_path: contextvars.ContextVar[str] = contextvars.ContextVar("path", default="")
PRODUCTION_HOSTS = {"supabase": "dualsync.supabase.co", "cloudkit": "api.apple-cloudkit.com"}


class CommandError(Exception):
    def __init__(self, kind: str, message: str, transient: bool = False):
        super().__init__(message)
        self.kind, self.transient = kind, transient


class AdapterClock:
    """The device clock: the latest `now` or `clock` the harness sent; waits go to the harness."""

    def __init__(self, adapter: "Adapter"):
        self.adapter, self.value = adapter, 0.0

    def now(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        await self.adapter.wait_for_harness({"event": "sleep", "seconds": max(0.0, float(seconds))})


class RoutingTransport(httpx.AsyncBaseTransport):
    """Each backend's requests go to the loopback port the harness opened for it."""

    def __init__(self, routes: dict[str, str]):
        self.routes = {host: httpx.URL(url) for host, url in routes.items()}
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        base = self.routes.get(request.url.host)
        if base is None:
            raise httpx.ConnectError(f"no backend is configured for {request.url.host}", request=request)
        request.url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
        request.headers["host"] = f"{base.host}:{base.port}"
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Adapter:
    def __init__(self, variant: str, stdin: Any = None, stdout: Any = None):
        self.variant = variant
        self.stdin = stdin or sys.stdin.buffer
        self.stdout = stdout or sys.stdout
        self.clock = AdapterClock(self)
        self.storage = FaultyStorage()
        self.client: Any = None
        self.vault: KeyVault | None = None
        self.keychain: Keychain | None = None
        self.http: httpx.AsyncClient | None = None
        self.ck_token: str | None = None
        self._out = threading.Lock()
        self._waits: dict[int, Callable[[], None]] = {}
        self._seq = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.finished: asyncio.Future | None = None

    # -- wire ---------------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":"), default=str)
        with self._out:
            self.stdout.write(line + "\n")
            self.stdout.flush()

    async def run(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.finished = self.loop.create_future()
        threading.Thread(target=self._read, name="stdin", daemon=True).start()
        code = await self.finished
        if self.http is not None:
            await self.http.aclose()
        return code

    def _read(self) -> None:
        for raw in self.stdin:
            try:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.send({"id": None, "ok": False, "error": _error("bad_command", "a line that is not a "
                           f"JSON object: {raw[:80]!r}")})
                continue
            self._take(message)
        if self._waits:  # stdin closed while the app stands at a fault point: nothing can resume it
            os._exit(0)
        self.loop.call_soon_threadsafe(self._finish, 0)

    def _take(self, m: dict[str, Any]) -> None:
        """Apply a notice or resume here and now; hand a command to the loop."""
        if "now" in m or "clock" in m:
            self.clock.value = float(m.get("clock", m.get("now")))
        if "resume" in m:
            wake = self._waits.pop(m["resume"], None)
            if wake is not None:
                wake()
        elif "keys" in m:
            self._keys(m["keys"])
        elif "disk" in m:
            self._disk(m["disk"])
        elif "cmd" in m:
            self.loop.call_soon_threadsafe(self._dispatch, m)

    def _finish(self, code: int) -> None:
        if not self.finished.done():
            self.finished.set_result(code)

    # -- the harness's say at fault points and sleeps ------------------------------------------

    def fault_point(self, name: str, **ctx: Any) -> None:
        if ctx.get("backend"):
            _path.set(ctx["backend"])
        resumed = threading.Event()
        seq = self._register(resumed.set)
        self.send({"event": "fault_point", "seq": seq, "point": name, "path": _path.get() or "local"})
        resumed.wait()  # the app stands still here until the harness says go (or kills it)

    async def wait_for_harness(self, event: dict[str, Any]) -> None:
        woken = self.loop.create_future()
        seq = self._register(lambda: self.loop.call_soon_threadsafe(_settle, woken))
        self.send({**event, "seq": seq})
        await woken

    def _register(self, wake: Callable[[], None]) -> int:
        with self._out:
            self._seq += 1
            self._waits[self._seq] = wake
            return self._seq

    def on_persist(self, snapshot: dict[str, Any]) -> None:
        self.send({"event": "persist", "path": _path.get() or "local", "snapshot": snapshot})

    def _keys(self, k: dict[str, Any]) -> None:
        if self.vault is None:
            return
        uid = str(k["user_id"])
        while self.vault.current_version(uid) < int(k["current"]):
            self.vault.rotate(uid)
        known = k.get("known")
        self.keychain.lagging = known is not None
        if known is not None:
            self.keychain._known[uid] = int(known)

    def _disk(self, d: dict[str, Any]) -> None:
        fault = d.get("fault")
        if fault == "lose_unsynced":  # a power cut: files fall back to their durable bytes, the app dies
            self.storage.lose_unflushed()
            os._exit(137)
        elif fault == "none":
            self.storage.__init__()
        else:
            self.storage.fail_next({"io_error": "EIO", "no_space": "ENOSPC"}[fault], d.get("op", "write"))

    # -- commands -----------------------------------------------------------------------------

    def _dispatch(self, m: dict[str, Any]) -> None:
        asyncio.ensure_future(self._command(m))

    async def _command(self, m: dict[str, Any]) -> None:
        cid, name, args = m.get("id"), m.get("cmd"), m.get("args") or {}
        _path.set(args.get("path", "") if name == "sync" else "")
        try:
            handler = getattr(self, f"cmd_{name}", None)
            if handler is None:
                raise CommandError("bad_command", f"unknown command {name!r}")
            if self.client is None and name not in ("hello", "configure", "shutdown"):
                raise CommandError("store" if self.config_error else "bad_command",
                                   self.config_error or f"{name} before configure")
            value = handler(**args)
            if asyncio.iscoroutine(value):
                value = await value
        except CommandError as exc:
            self.send({"id": cid, "ok": False, "error": _error(exc.kind, str(exc), exc.transient)})
        except Exception as exc:  # every failure is an answer, never a dead adapter
            self.send({"id": cid, "ok": False, "error": _classify(exc)})
        else:
            self.send({"id": cid, "ok": True, "value": value})
        if name == "shutdown" or (name == "hello" and self.refused):
            self._finish(0)

    config_error: str | None = None
    refused = False

    def cmd_hello(self, protocols: list[int] = ()) -> dict[str, Any]:
        if PROTOCOL_VERSION not in list(protocols):
            self.refused = True
            raise CommandError("protocol_version", f"this adapter speaks protocol {PROTOCOL_VERSION}, "
                               f"not {list(protocols)}")
        p = variant(self.variant).behaviour.policy
        policy = {"order": p.order, "granularity": p.granularity,
                  "respects_needs_sync": p.respects_needs_sync, "stamps": p.stamps}
        return {"protocol": PROTOCOL_VERSION, "profile": "fitme",
                "client": f"python reference {self.variant}", "expect_as": self.variant,
                "capabilities": list(CAPABILITIES), "fault_points": list(FAULT_POINTS), "policy": policy}

    def cmd_configure(self, **a: Any) -> None:
        store_dir = Path(a["store_dir"])
        store_dir.mkdir(parents=True, exist_ok=True)
        self.vault = KeyVault(a.get("keys", {}).get("secret", "dualsync"))
        self.keychain = Keychain(self.vault)
        routes = {PRODUCTION_HOSTS[b]: a[b]["url"] for b in PRODUCTION_HOSTS if b in a}
        self.http = httpx.AsyncClient(transport=RoutingTransport(routes))
        if "now" in a.get("clock", {}):
            self.clock.value = float(a["clock"]["now"])
        ck = a.get("cloudkit", {})
        try:
            self.client = clients.make(
                self.variant, device=a["device"], http=self.http, store_path=str(store_dir / "store.json"),
                clock=self.clock, hooks=Hooks(fault_point=self.fault_point, on_persist=self.on_persist),
                storage=self.storage, keychain=self.keychain, seed=a.get("seed", 0),
                supabase_key=a.get("supabase", {}).get("anon_key", "anon-key"),
                cloudkit_container=ck.get("container", "iCloud.com.fitme.app"),
                cloudkit_environment=ck.get("environment", "development"),
                cloudkit_api_token=ck.get("api_token", "api-token"),
                cloudkit_sign_in=lambda email: self.ck_token)
        except ClientError as exc:  # a torn store: the app cannot start from this disk
            self.config_error = str(exc)
            raise CommandError("store", str(exc)) from None
        self.config_error = None

    async def cmd_sign_up(self, email: str, password: str, cloudkit_web_auth_token: str | None = None):
        self.ck_token = cloudkit_web_auth_token
        await self.client.sign_up(email, password)
        return {"user_id": self.client.auth.user_id}

    async def cmd_sign_in(self, email: str, password: str, cloudkit_web_auth_token: str | None = None):
        self.ck_token = cloudkit_web_auth_token
        await self.client.sign_in(email, password)
        return {"user_id": self.client.auth.user_id}

    async def cmd_sign_out(self) -> None:
        await self.client.sign_out()

    def cmd_write(self, type: str, id: str, fields: dict[str, Any]) -> dict[str, str]:
        return {"write_id": self.client.write(type, id, fields)}

    def cmd_delete(self, type: str, id: str) -> dict[str, str]:
        return {"write_id": self.client.delete(type, id)}

    def cmd_read(self, type: str, id: str) -> dict[str, Any]:
        return {"fields": self.client.read(type, id)}

    async def cmd_sync(self, path: str) -> None:
        await self.client.sync(path)

    async def cmd_login_sync(self) -> None:
        await self.client.login_sync()

    def cmd_snapshot(self) -> dict[str, Any]:
        return self.client.store_snapshot()

    def cmd_decode(self, type: str, id: str, backend: str, row: dict[str, Any], user_id: str = "") -> dict:
        """Open a backend's copy: a Supabase row ({payload, key_version}) or a CloudKit record as
        Web Services returns it ({recordName, fields: {payload: {value}, keyVersion: {value}}}),
        with every key the user has."""
        if backend == "cloudkit":
            fields = row.get("fields") or {}
            payload = (fields.get("payload") or {}).get("value")
            version = (fields.get("keyVersion") or {}).get("value")
        else:
            payload, version = row.get("payload"), row.get("key_version")
        uid = user_id or self.client.auth.user_id
        try:
            rec = open_record(Keychain(self.vault), uid, type, id, payload, version)
        except ClientError:
            return {"undecryptable": True}
        return {"write_id": rec.write_id, "deleted": rec.deleted, "fields": rec.fields}

    def cmd_shutdown(self) -> None:
        return None


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _error(kind: str, message: str, transient: bool = False) -> dict[str, Any]:
    return {"kind": kind, "message": message[:500], "transient": transient}


def _classify(exc: Exception) -> dict[str, Any]:
    why = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.TransportError):
        return _error("transport", why, True)
    if isinstance(exc, BackendError):
        return _error("backend", why, exc.transient)
    if isinstance(exc, NotSignedIn):
        return _error("not_signed_in", why)
    if isinstance(exc, KeyError):
        return _error("not_found", why)
    if isinstance(exc, (ValueError, TypeError)):
        return _error("invalid", why)
    if isinstance(exc, OSError):
        return _error("store", why)
    if isinstance(exc, ClientError):
        return _error("backend" if "answered garbage" in str(exc) else "store" if "local store" in str(exc)
                      else "internal", why)
    return _error("internal", why)
