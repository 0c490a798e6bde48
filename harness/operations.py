"""What a World asks of its devices: each operation runs as a task, recorded as invoke and then
ok, fail or info (a crash, a lost answer), and a crashed device relaunches from its disk first."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

import httpx

from dualsync.clients.api import ClientCrashed, DeviceError
from dualsync.harness.devices import Device, current_path, value_of
from dualsync.harness.steps import StepError

PASSWORD = "correct-horse-battery-9"


class DeviceOperations:
    """Mixed into World: the device steps (sign in/out, login sync, sync, restart, write, read)."""

    async def run_op(self, device: str, f: str, call: Callable[[], Awaitable[Any]], *,
                     path: str = "", wait: bool = True, name: str | None = None) -> None:
        d = self.device(device)
        process = f"{device}/{path}" if path else device
        task = asyncio.ensure_future(self._op(d, process, f, call, path, self.history.step))
        self.tasks[name or f"{f}:{process}"] = task
        if wait:
            await self.settle()
            if not task.done():
                held = ", ".join(self.conductor.held_names()) or "nothing"
                raise StepError(f"{f} on {process} is blocked (held: {held}); release what it waits "
                                "for, or run it with wait: false")

    async def _op(self, d: Device, process: str, f: str, call, path: str, started: int) -> None:
        token = current_path.set(path)
        self.history.append_at(started, "invoke", process, f, time=self.clock.now())
        try:
            if d.crashed:
                await self._relaunch(d)
            value = await call()
        except ClientCrashed as exc:
            d.crashed = True
            self.history.append("info", process, f, time=self.clock.now(), error=str(exc), crashed=True)
        except (httpx.TransportError, asyncio.CancelledError) as exc:
            self.history.append("info", process, f, time=self.clock.now(), error=self._why(exc))
        except Exception as exc:  # a client's own error is an observation, not a harness failure
            self.history.append("fail", process, f, time=self.clock.now(), error=self._why(exc))
        else:
            self.history.append("ok", process, f, time=self.clock.now(),
                                **({"got": value} if f == "read" else {}))
        finally:
            current_path.reset(token)

    async def _relaunch(self, d: Device) -> None:
        """The app starts again from its disk. If it cannot (a torn store), the device stays
        down: its in-memory state died with the crash."""
        self.history.append("note", d.name, "relaunch", time=self.clock.now())
        await d.client.restart()
        d.crashed = False

    async def sign_in(self, device: str, *, wait: bool = True, name: str | None = None) -> None:
        d = self.device(device)
        email = f"{d.user}@example.com"
        first = d.user not in self.signed_up
        self.signed_up.add(d.user)
        call = (lambda: d.client.sign_up(email, PASSWORD)) if first else (
            lambda: d.client.sign_in(email, PASSWORD))

        async def signed_in():
            await call()
            self.backends.user_ids[d.user] = d.client.user_id
        await self.run_op(device, "sign_up" if first else "sign_in", signed_in, wait=wait, name=name)

    async def sign_out(self, device: str, **kw: Any) -> None:
        await self.run_op(device, "sign_out", self.device(device).client.sign_out, **kw)

    async def login_sync(self, device: str, **kw: Any) -> None:
        await self.run_op(device, "login_sync", self.device(device).client.login_sync, **kw)

    async def sync(self, device: str, path: str, **kw: Any) -> None:
        client = self.device(device).client
        await self.run_op(device, "sync", lambda: client.sync(path), path=path, **kw)

    async def restart(self, device: str) -> None:
        d = self.device(device)
        await self.run_op(device, "restart", d.client.restart)
        d.crashed = False

    async def write(self, device: str, record_type: str, record_id: str,
                    fields: dict[str, Any] | None) -> str | None:
        """A local edit (fields None: a delete), recorded with what the device reads back."""
        d = self.device(device)
        try:
            if d.crashed:
                await self._relaunch(d)
            # What the device showed for the record just before the edit: the version the
            # edit replaces, which a hybrid-logical policy must rank it after.
            before = await value_of(d.client.read(record_type, record_id))
            wid = await value_of(d.client.delete(record_type, record_id) if fields is None
                               else d.client.write(record_type, record_id, fields))
        except (OSError, KeyError, ClientCrashed, DeviceError) as exc:
            d.crashed = d.crashed or isinstance(exc, ClientCrashed)
            self.history.append("fail", device, "delete" if fields is None else "write",
                                time=self.clock.now(), error=self._why(exc), record_type=record_type,
                                record_id=record_id)
            return None
        self.history.write(device, d.user, wid, record_type, record_id, fields,
                           time=self.clock.now(), device_time=d.clock.now(),
                           after=await value_of(d.client.read(record_type, record_id)), before=before)
        return wid

    async def read(self, device: str, record_type: str, record_id: str) -> None:
        client = self.device(device).client
        self.history.append("ok", device, "read", time=self.clock.now(), record_type=record_type,
                            record_id=record_id, got=await value_of(client.read(record_type, record_id)))
