"""An external device: an app in another process, driven over the device protocol, seen by the
World through the same attributes as an in-process `Device` (clock, storage, keychain, http,
crashed, client).

What the World changes on a device outside any command (its clock skew, a key it lacks, an armed
disk fault) reaches the adapter as a notice, sent before the next line or reply it gets.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from dualsync.clients.api import ClientCrashed
from dualsync.harness.clock import SkewedClock
from dualsync.harness.external.client import AdapterError, AdapterTransportError, ExternalClient
from dualsync.harness.external.decoder import Decoder
from dualsync.harness.external.hello import NETWORK_POINTS, command_of, describe
from dualsync.harness.external.process import (AdapterFailure, AdapterProcess, Killed, command_timeout,
                                               launch_timeout)
from dualsync.harness.external.proxy import BackendProxy

SETTLE_WINDOW = 0.03   # real seconds of silence after which a device waiting on the Conductor is settled
DISK_FAULTS = {"EIO": "io_error", "ENOSPC": "no_space"}


class ExternalKeychain:
    """What the harness lets the device's keychain know; sent as a `keys` notice."""

    def __init__(self) -> None:
        self.lagging = False
        self._known: dict[str, int] = {}


class ExternalStorage:
    """Disk faults for the adapter's own storage, as `disk` notices. `World.heal` re-initialises
    a device's storage to disarm it, so calling `__init__()` again sends the disarm."""

    def __init__(self, device: "ExternalDevice | None" = None):
        if device is not None:
            self.device = device
        else:
            self.device.notices.append({"disk": {"fault": "none"}})

    def fail_next(self, fault: str, op: str = "write") -> None:
        self.device.notices.append({"disk": {"fault": DISK_FAULTS.get(fault, fault), "op": op}})
        self.device.refresh()

    def lose_unflushed(self) -> None:
        """A power cut: the adapter restores its last durable bytes and dies."""
        process = self.device.process
        if process is not None and process.alive:
            process.send({"disk": {"fault": "lose_unsynced"}})  # it exits once its disk is restored
            process.exiting, process.killed = True, Killed("power cut")


class ExternalDevice:
    def __init__(self, world: Any, name: str, user: str, skew: float):
        self.world, self.name, self.user = world, name, user
        self.command = command_of(world.client_name)
        self.broken: AdapterFailure | None = None
        try:
            self.info = describe(self.command)
        except AdapterFailure as exc:  # raised at its first use, so the World still closes cleanly
            self.broken, self.info = exc, {"capabilities": [], "fault_points": [],
                                           "policy": {"order": "arrival"}}
        self.clock = SkewedClock(world.clock, skew)
        self.storage = ExternalStorage(self)
        self.keychain = ExternalKeychain()
        self.store_dir = Path(world.store_root) / name
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.store_path = str(self.store_dir)
        self.http = httpx.AsyncClient(transport=world.conductor.transport(name))  # probes
        self.crashed = False
        self.client = ExternalClient(self)
        if "decode" in self.info["capabilities"] and world.backends.decoder is None:
            world.backends.decoder = Decoder(self.command, f"world:{world.seed}",
                                             str(Path(world.store_root) / ".ledger-decoder"), world.app.container)
        self.process: AdapterProcess | None = None
        self.proxies: dict[str, BackendProxy] = {}
        self.urls: dict[str, str] = {}
        self.notices: list[dict[str, Any]] = []
        self.open_requests = 0
        self.requests_seen = 0
        self.unstopped_sends = 0   # before_send stops not yet followed by their request
        self.snapshot: dict[str, Any] | None = {}
        self.snapshot_error: str | None = None
        self._sent: dict[str, Any] = {}
        self._starting: asyncio.Future | None = None
        self.launching = 0  # a (re)launch is under way: not settled

    # Process lifecycle.

    async def running(self) -> AdapterProcess:
        if self.broken is not None:
            raise self.broken
        if self._starting is None:
            if self.process is not None and self.process.alive:
                return self.process
            if self.process is not None and self.process.failure:
                raise self.process.failure
            if self.process is None:  # the first launch: start the other devices' adapters too,
                for peer in self.world.devices.values():  # in parallel (nothing they do is observable)
                    if isinstance(peer, ExternalDevice) and peer.process is None and peer._starting is None:
                        peer._start()
            if self._starting is None:
                self._start()
        self.launching += 1
        try:
            await asyncio.shield(self._starting)
        finally:
            if self._starting is not None and self._starting.done():
                self._starting = None
            self.launching -= 1
        return self.process

    def _start(self) -> None:
        self._starting = asyncio.ensure_future(self._launch())
        self._starting.add_done_callback(lambda f: f.cancelled() or f.exception())  # read it later

    async def _launch(self) -> None:
        if not self.proxies:
            for backend, base in self.world.backends.urls.items():
                self.proxies[backend] = BackendProxy(base, lambda r, b=backend: self._request(b, r))
                self.urls[backend] = await self.proxies[backend].start()
        if self.process is not None:
            if self.process.exiting and self.process.proc is not None:  # a power cut: let it finish
                try:
                    await asyncio.wait_for(self.process.proc.wait(), command_timeout())
                except asyncio.TimeoutError:
                    pass
            await self.process.aclose()
        self.process = AdapterProcess(self.name, self.command, self._event)
        self._sent, self.unstopped_sends = {}, 0
        await self.process.start()
        hello = await self._checked("hello", {"protocols": [1]})
        if hello.get("protocol") != 1:
            raise self.process.fail(f"speaks protocol {hello.get('protocol')!r} at relaunch")
        try:
            await self._checked("configure", self._configuration())
        except AdapterError as exc:  # it cannot start from this disk (a torn store): it stays down
            self.snapshot_error = str(exc)
            raise
        self.refresh()
        # What it loaded is what is on disk now (a power cut may have taken back later persists).
        self.snapshot, self.snapshot_error = await self._checked("snapshot", {}), None

    def _configuration(self) -> dict[str, Any]:
        backends = self.world.backends
        return {"device": self.name, "user": self.user, "store_dir": str(self.store_dir),
                "seed": self.world.seed, "profile": self.info.get("profile", self.world.app.name),
                "supabase": {"url": self.urls["supabase"], "anon_key": backends.anon_key},
                "cloudkit": {"url": self.urls["cloudkit"], "container": backends.cloudkit.container_id,
                             "environment": "development", "api_token": "api-token"},
                "keys": {"secret": f"world:{self.world.seed}"},
                "clock": {"now": self.clock.now(), "virtual": True},
                "timeouts": {"command_s": command_timeout(), "settle_ms": SETTLE_WINDOW * 1000}}

    async def _checked(self, cmd: str, args: dict[str, Any]) -> Any:
        try:
            reply = await asyncio.wait_for(self.process.call(cmd, args, now=self.clock.now()),
                                           launch_timeout())
        except asyncio.TimeoutError:
            raise self.process.fail(f"gave no answer to {cmd} in {launch_timeout():g} s") from None
        if not reply.get("ok"):
            error = reply.get("error") or {}
            if cmd == "hello":
                raise self.process.fail(f"refused hello at relaunch: {error.get('message')}")
            raise AdapterError(error.get("kind", "internal"), error.get("message", ""))
        return reply.get("value")

    async def relaunch(self) -> None:
        """The app starts again on its store directory (after a crash, or as a restart)."""
        self.launching += 1
        try:
            if self.process is not None and self.process.alive:
                await self.process.aclose(graceful=True)
            self.crashed = False
            await self.running()
        finally:
            self.launching -= 1

    async def aclose(self) -> None:
        if self.process is not None:
            await self.process.aclose()
        for proxy in self.proxies.values():
            await proxy.aclose()
        await self.http.aclose()
        if self.world.backends.decoder is not None:
            self.world.backends.decoder.close()
            self.world.backends.decoder = None

    def crash(self, point: str) -> None:
        self.crashed = True
        if self.process is not None:
            self.process.kill(Killed(point))

    # Commands.

    async def call(self, cmd: str, **args: Any) -> Any:
        try:
            process = await self.running()
            self.refresh()
            reply = await self._watched(process, process.call(cmd, args, now=self.clock.now()))
        except Killed as exc:
            self.crashed = True
            raise ClientCrashed(exc.point) from None
        except AdapterFailure:
            if asyncio.current_task() in self.world.tasks.values():
                # A World operation records any exception as the client's failure; this one is
                # the harness's. The operation stays pending, and the World's settle raises it.
                await asyncio.get_running_loop().create_future()
            raise
        if reply.get("ok"):
            return reply.get("value")
        error = reply.get("error") or {}
        kind, message = error.get("kind", "internal"), str(error.get("message", ""))
        if kind == "transport":
            raise AdapterTransportError(message)
        raise AdapterError(kind, message)

    async def _watched(self, process: AdapterProcess, call) -> dict[str, Any]:
        """A command's reply; the adapter is hung when it sends nothing for the command timeout
        while no request of it waits on the Conductor (even when no settle is watching)."""
        future = asyncio.ensure_future(call)
        while not future.done():
            await asyncio.wait({future}, timeout=0.5)
            if (not future.done() and self.open_requests == 0
                    and process.waiting_since() > command_timeout()):
                process.fail(f"gave no reply in {command_timeout():g} s and sent nothing meanwhile")
        return future.result()

    def refresh(self) -> None:
        """Send what changed on the harness's side since the adapter last heard: the clock, the
        keys its keychain may hold, disk faults."""
        process = self.process
        if process is None or not process.alive:
            return
        now = self.clock.now()
        if self._sent.get("clock") != now:
            process.send({"clock": now})
            self._sent["clock"] = now
        uid = self.world.backends.user_ids.get(self.user)
        if uid is not None:
            keys = {"user_id": uid, "current": self.world.keys.current(uid),
                    "known": self.keychain._known.get(uid) if self.keychain.lagging else None}
            if self._sent.get("keys") != keys:
                process.send({"keys": keys})
                self._sent["keys"] = keys
        while self.notices:
            process.send(self.notices.pop(0))

    # What the adapter says on its own.

    def _event(self, m: dict[str, Any]) -> None:
        event = m["event"]
        if event == "persist":
            self.snapshot, self.snapshot_error = m["snapshot"], None
            by = m.get("path", "local")
            self.world.history.persist(self.name, m["snapshot"], time=self.world.clock.now(),
                                       by="" if by == "local" else by)
        elif event == "fault_point":
            if "fault_points" not in self.info["capabilities"]:
                raise self.process.fail("stopped at a fault point without the fault_points capability")
            if m["point"] == "before_send":
                self.unstopped_sends += 1
            try:
                self.world.conductor.fault_point(self.name, m["point"], m.get("path") or "local")
            except ClientCrashed as exc:
                self.crash(exc.point)
                return
            self.refresh()
            self.process.send({"resume": m["seq"]})
        elif event == "sleep":
            self.world.clock.advance(max(0.0, float(m["seconds"])))
            self.refresh()
            self.process.send({"resume": m["seq"]})
        else:
            raise self.process.fail(f"sent an unknown event {event!r}")

    async def _request(self, backend: str, request: httpx.Request) -> httpx.Response | None:
        """A request arrived at this device's port for `backend`: the Conductor decides."""
        process = self.process
        if process is None or not process.alive:
            return None
        self.open_requests += 1
        self.requests_seen += 1
        process.last_activity = time.monotonic()
        process.activity.set()
        try:
            if not self._stopped_before(backend, request):
                return None
            try:
                response = await self.world.conductor.handle(self.name, request)
            except httpx.TransportError:
                return None
            except AdapterFailure as exc:  # the ledger's decoder broke while recording a commit
                process._fail_with(exc)
                return None
            if not self._boundary("after_reply", backend):
                return None
            self.refresh()
            return response
        finally:
            self.open_requests -= 1
            process.last_activity = time.monotonic()

    def _stopped_before(self, backend: str, request: httpx.Request) -> bool:
        if "before_send" in self.info["fault_points"] and "fault_points" in self.info["capabilities"]:
            if self.unstopped_sends <= 0:
                self.process.fail(f"claims the fault point before_send but sent {request.method} "
                                  f"{request.url.path} to {backend} without stopping there")
                return False
            self.unstopped_sends -= 1
            return True
        return self._boundary("before_send", backend)

    def _boundary(self, point: str, backend: str) -> bool:
        """An adapter that does not stop at a network fault point itself is crashed at its port."""
        if point in self.info["fault_points"] and "fault_points" in self.info["capabilities"]:
            return True
        if point not in NETWORK_POINTS:
            return True
        try:
            self.world.conductor.fault_point(self.name, point, backend)
        except ClientCrashed as exc:
            self.crash(exc.point)
            return False
        return True

    # Quiescence.

    @property
    def heard(self) -> tuple[int, int, int]:
        """What has come from the adapter so far. The World's settle compares it before and after
        a round: a reply routed in the last moment of a round has not yet resumed the step that
        waits for it, so the round saw a change even though no task is done yet."""
        process = self.process
        return (self.requests_seen, id(process), process.heard if process is not None else 0)

    async def settled(self) -> bool:
        """Settled: no command pending, or every pending one waits on the Conductor and the
        device has been silent for the settle window. A device with commands pending and no
        request open is computing; silent for the command timeout, it is hung."""
        process = self.process
        if self.broken is not None:
            raise self.broken
        if self.launching or (self._starting is not None and not self._starting.done()):
            await asyncio.sleep(0.005)
            return False
        if process is None:
            return True
        if process.failure:
            raise process.failure
        if not process.pending:
            return True
        quiet = process.waiting_since()
        if self.open_requests == 0:
            if quiet > command_timeout():
                raise process.fail(f"gave no reply in {command_timeout():g} s and sent nothing meanwhile")
            await process.next_activity(min(1.0, command_timeout() - quiet + 0.01))
            return False
        if quiet >= SETTLE_WINDOW:
            return True
        await process.next_activity(SETTLE_WINDOW - quiet)
        return False
