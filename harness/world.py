"""World and Device: backends, devices, one clock, one seed, one event loop.

A World is a plain object: every scenario step is one method, so a scenario file, a hypothesis
state machine or an exhaustive search all drive it the same way. Each device operation runs as an
asyncio task; `settle` drives the loop until every task is done or parked at the Conductor, so
the order in which held replies are released is the only source of interleaving.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx

from dualsync import clients
from dualsync.clients.api import ROUTES, ClientCrashed, Hooks
from dualsync.clients.crypto import Keychain, KeyVault
from dualsync.clients.errors import ClientError
from dualsync.clients.storage import FaultyStorage
from dualsync.harness.backends import Backends, CommitRecorder
from dualsync.harness.clock import SkewedClock, VirtualClock
from dualsync.harness.conductor import Conductor, Rule
from dualsync.harness.history import History

PASSWORD = "correct-horse-battery-9"
QUIESCENCE_ROUNDS = 6
ROUND_GAP = 30.0  # virtual seconds between quiescence rounds: long enough for any retryAfter here
_current_path: contextvars.ContextVar[str] = contextvars.ContextVar("sync_path", default="")


class StepError(RuntimeError):
    """A step could not be carried out as written (not a finding about the client)."""


class Device:
    """One install of the client under test, with its own store directory and clock."""

    def __init__(self, world: "World", name: str, user: str, skew: float, page_size: int | None = None):
        self.world, self.name, self.user = world, name, user
        self.clock = SkewedClock(world.clock, skew)
        self.storage = FaultyStorage()
        self.keychain = Keychain(world.vault)
        self.store_path = str(world.store_root / name / "store.json")
        Path(self.store_path).parent.mkdir(parents=True, exist_ok=True)
        self.http = httpx.AsyncClient(transport=world.conductor.transport(name))
        self.crashed = False
        self.client = clients.make(
            world.client_name, device=name, http=self.http, store_path=self.store_path,
            clock=self.clock, hooks=Hooks(fault_point=self._fault_point, on_persist=self._on_persist),
            storage=self.storage, keychain=self.keychain, seed=world.seed,
            supabase_url=world.backends.supabase_url, supabase_key=world.backends.anon_key,
            cloudkit_api_token="api-token", cloudkit_sign_in=world.backends.cloudkit_sign_in(user, name),
            **({"page_size": page_size} if page_size else {}))

    def _fault_point(self, name: str, **ctx: Any) -> None:
        if ctx.get("backend"):
            # Each sync path of a device runs in its own task (and context) when the client runs
            # them in parallel, so this names the path a later persist belongs to.
            _current_path.set(ctx["backend"])
        self.world.conductor.fault_point(self.name, name, _current_path.get() or "local")

    def _on_persist(self, snapshot: dict[str, Any]) -> None:
        self.world.history.persist(self.name, snapshot, time=self.world.clock.now(),
                                   by=_current_path.get())

async def _value(result: Any) -> Any:  # in process a value, out of process an awaitable
    return await result if inspect.isawaitable(result) else result


class World:
    def __init__(self, *, client: str, database: Any, devices: dict[str, dict[str, Any]],
                 store_root: str | Path, seed: int = 0, liveness_bound: float = 600.0):
        self.client_name, self.seed = client, seed
        self.clock, self.history = VirtualClock(), History()
        self.vault = KeyVault(f"world:{seed}")
        self.store_root = Path(store_root)
        self.conductor = Conductor(self.clock, self.history, seed)
        self.backends = Backends(database, self.clock, self.vault, seed)
        for name, transport in self.backends.transports.items():
            self.conductor.add_backend(name, transport)
        self.device_user = {d: spec["user"] for d, spec in devices.items()}
        self.conductor.observers.append(CommitRecorder(self.backends, self.history, self.device_user))
        self.backends.gateway.before_commit = self.conductor.before_commit
        from dualsync.harness.external import make_device  # in process, or in another process
        self.devices = {d: make_device(self, d, spec, Device) for d, spec in devices.items()}
        self.tasks: dict[str, asyncio.Task] = {}
        self.signed_up: set[str] = set()
        self.hits_at_heal: int | None = None  # fault points passed before faults healed
        self.history.append("note", "world", "setup", time=self.clock.now(), client=client,
                            seed=seed, devices=self.device_user, routes=ROUTES,
                            policy=_policy(self.devices), liveness_bound=liveness_bound)

    def users(self) -> list[str]:
        return sorted(set(self.device_user.values()))

    def device(self, name: str) -> Device:
        if name not in self.devices:
            raise StepError(f"no device {name!r}; this World has {', '.join(self.devices)}")
        return self.devices[name]

    async def aclose(self) -> None:
        self.conductor.release_all()
        for t in self.tasks.values():
            t.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for d in self.devices.values():
            await getattr(d, "aclose", d.http.aclose)()
        await self.backends.aclose()

    # Device operations: each is recorded as invoke + ok/fail/info.

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
        token = _current_path.set(path)
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
            _current_path.reset(token)

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
            self.backends.user_ids[d.user] = d.client.auth.user_id
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
            before = await _value(d.client.read(record_type, record_id))
            wid = await _value(d.client.delete(record_type, record_id) if fields is None
                               else d.client.write(record_type, record_id, fields))
        except (OSError, KeyError, ClientCrashed, ClientError) as exc:
            d.crashed = d.crashed or isinstance(exc, ClientCrashed)
            self.history.append("fail", device, "delete" if fields is None else "write",
                                time=self.clock.now(), error=self._why(exc), record_type=record_type,
                                record_id=record_id)
            return None
        self.history.write(device, d.user, wid, record_type, record_id, fields,
                           time=self.clock.now(), device_time=d.clock.now(),
                           after=await _value(d.client.read(record_type, record_id)), before=before)
        return wid

    async def read(self, device: str, record_type: str, record_id: str) -> None:
        client = self.device(device).client
        self.history.append("ok", device, "read", time=self.clock.now(), record_type=record_type,
                            record_id=record_id, got=await _value(client.read(record_type, record_id)))

    # Conductor decisions and the environment.

    def decide(self, action: str, **params: Any) -> Rule:
        target = {k: params.pop(k) for k in ("device", "path", "match") if k in params}
        if action == "crash":
            target["match"] = params.pop("point")
        return self.conductor.add_rule(Rule(action, count=params.pop("count", 1), params=params,
                                            **target))

    def release(self, *names: str) -> None:
        try:
            self.conductor.release(*names)
        except LookupError as exc:
            raise StepError(str(exc)) from None

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.history.append("note", "world", "advance", time=self.clock.now(), seconds=seconds)

    def skew(self, device: str, seconds: float) -> None:
        self.device(device).clock.skew = float(seconds)

    def disk_fault(self, device: str, fault: str, op: str = "write") -> None:
        d = self.device(device)
        self.history.append("fault", device, f"disk:{fault}", time=self.clock.now(), op=op)
        if fault == "lose_unsynced":
            # A power cut: files fall back to their last durable bytes and the app's memory is
            # gone with it, so its next operation starts from disk.
            d.storage.lose_unflushed()
            d.crashed = True
        else:
            d.storage.fail_next({"io_error": "EIO", "no_space": "ENOSPC"}[fault], op)

    def corrupt(self, user: str, record_type: str, record_id: str, backend: str | None = None,
                at_rest: bool = False) -> None:
        for b in [backend] if backend else ROUTES[record_type]:
            if self.backends.corrupt(user, record_type, record_id, b, at_rest):
                self.history.append("note", "world", "corrupt", time=self.clock.now(), backend=b,
                                    record_type=record_type, record_id=record_id, at_rest=at_rest)
                self.history.commit(b, user, record_type, record_id, time=self.clock.now(),
                                    write_id=None, decryptable=False)

    def rotate_key(self, user: str, device: str | None = None) -> None:
        """A new key version for `user`. The other devices of the user keep only the old one
        until the faults heal (their keychain has not synced yet); `device` has the new one."""
        uid = self.backends.user_ids.get(user, user)
        old = self.vault.current_version(uid)
        new = self.vault.rotate(uid)
        self.history.append("note", "world", "rotate_key", time=self.clock.now(), user=user,
                            version=new)
        for d in self.devices.values():
            if d.user == user and d.name != device:
                d.keychain.lagging, d.keychain._known[uid] = True, old
                self.history.append("note", d.name, "keychain", time=self.clock.now(), known=old)

    def _keychains_catch_up(self) -> None:
        for d in self.devices.values():
            if d.keychain.lagging:
                d.keychain.lagging = False
                self.history.append("note", d.name, "keychain", time=self.clock.now(), known=None)

    def delete_zone(self, user: str) -> None:
        self.backends.delete_zone(user)
        self.history.append("note", "world", "delete_zone", time=self.clock.now(), user=user)

    async def probe(self, device: str, token: str, path: str = "supabase") -> None:
        """A request with a bad credential. A probe the network lost (a fault armed for the
        device) got no answer: it is recorded as such, and isolation judges only answers."""
        from dualsync.harness.probe import probe
        try:
            status = await probe(self, self.device(device), token, path)
        except httpx.TransportError as exc:
            self.history.append("info", device, "probe", time=self.clock.now(), token=token,
                                path=path, error=self._why(exc))
            return
        self.history.append("ok", device, "probe", time=self.clock.now(), token=token, path=path,
                            status=status)

    # Driving the loop.

    async def settle(self, max_spins: int = 20_000) -> None:
        """Run until every task is done or parked at the Conductor. When only Conductor delays
        remain, jump the virtual clock to the next one (nothing else could move)."""
        waited = 0.0
        for _ in range(max_spins):
            live = [t for t in self.tasks.values() if not t.done()]
            if not live:
                return
            if self.conductor.active:
                # Short waits: a request may park inside its transaction meanwhile (and leave
                # `active`), which must end the wait as surely as an answer does.
                before = self.conductor.progress
                await asyncio.wait(list(self.conductor.active), timeout=0.05)
                waited = 0.0 if self.conductor.progress != before else waited + 0.05
                if waited > 10:
                    raise StepError("a backend request has not answered in 10 s: it is probably "
                                    "waiting for a row lock held by a transaction held open "
                                    f"({', '.join(self.conductor.held_names()) or 'none held'}); "
                                    "release it first")
                continue
            if await self._still():
                due = self.clock.next_timer()
                if due is None:
                    return
                self.clock.advance(max(0.0, due - self.clock.now()))
        raise StepError(f"the World did not settle after {max_spins} rounds: a client is spinning")

    async def _still(self, spins: int = 30) -> bool:
        before = (self.conductor.progress, len(self.history), sum(t.done() for t in self.tasks.values()))
        for _ in range(spins):
            await asyncio.sleep(0)
            if self.conductor.active:
                return False
        if not all([await d.settled() for d in self.devices.values() if hasattr(d, "settled")]):
            return False  # a device in another process settles on its own terms (harness.external)
        return before == (self.conductor.progress, len(self.history),
                          sum(t.done() for t in self.tasks.values()))

    async def wait(self, *names: str) -> None:
        missing = [n for n in names if n not in self.tasks]
        if missing:
            raise StepError(f"no background operation named {', '.join(missing)}; "
                            f"started: {', '.join(self.tasks) or 'none'}")
        await self.settle()
        blocked = [n for n in names if not self.tasks[n].done()]
        if blocked:
            raise StepError(f"{', '.join(blocked)} still blocked on held requests "
                            f"({', '.join(self.conductor.held_names())}); release them first")

    async def heal(self) -> None:
        """Faults end: no more decisions, everything held goes on, disks behave."""
        if self.hits_at_heal is None:
            self.hits_at_heal = len(self.conductor.hits)
        self.conductor.rules.clear()
        self.conductor.release_all()
        for d in self.devices.values():
            d.storage.__init__()  # FaultyStorage with nothing armed; files stay on disk
        self._keychains_catch_up()
        self.history.append("note", "world", "heal", time=self.clock.now())
        await self.settle()

    async def quiesce(self, rounds: int = QUIESCENCE_ROUNDS) -> dict[str, dict]:
        """Heal, then sync every device on every path until nothing changes; the final states."""
        await self.heal()
        previous, settled, n = None, False, 0
        for n in range(1, rounds + 1):
            for name in sorted(self.devices):
                for path in ("supabase", "cloudkit"):
                    await self.sync(name, path, name=f"quiesce:{name}/{path}")
            self.clock.advance(ROUND_GAP)
            state = self.final_state()
            if state == previous:
                settled = True
                break
            previous = state
        self.history.append("note", "world", "quiescent", time=self.clock.now(), rounds=n,
                            settled=settled)
        return previous if previous is not None else self.final_state()

    def final_state(self) -> dict[str, dict]:
        out = {f"device:{n}": self._on_disk(d) for n, d in sorted(self.devices.items())}
        out.update(self.backends.final_state(self.users()))
        return out

    def _why(self, exc: BaseException) -> str:
        """An error as the history keeps it: without this run's temporary paths, so that a
        replay's history is identical."""
        return _why(exc).replace(str(self.store_root), "<stores>")

    def _on_disk(self, d: Device) -> dict:
        """The device's store as on disk; a store the client cannot read holds nothing."""
        try:
            return d.client.store_snapshot()
        except ClientError as exc:
            self.history.append("note", d.name, "store_unreadable", time=self.clock.now(),
                                error=self._why(exc))
            return {}


def _policy(devices: dict[str, Device]) -> dict[str, Any]:
    any_client = next(iter(devices.values())).client if devices else None
    p = getattr(any_client, "policy", None)
    return {"order": p.order, "granularity": p.granularity,
            "respects_needs_sync": p.respects_needs_sync,
            "stamps": getattr(p, "stamps", "device_clock")} if p else {}


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
