"""A device of the World in this process: one install of the client under test (made by its client
suite through the device port), with its own store directory and skewed clock, its fault points
and persists reported to the Conductor and the History."""

from __future__ import annotations

import contextvars
import inspect
from pathlib import Path
from typing import Any

import httpx

from dualsync.clients.api import Hooks
from dualsync.harness.clock import SkewedClock

# The sync path a device's code runs on now: each path of a device runs in its own task (and
# context) when the client runs them in parallel, so this names the path a persist belongs to.
current_path: contextvars.ContextVar[str] = contextvars.ContextVar("sync_path", default="")


class Device:
    """One install of the client under test, with its own store directory and clock."""

    def __init__(self, world: Any, name: str, user: str, skew: float, page_size: int | None = None):
        self.world, self.name, self.user = world, name, user
        self.clock = SkewedClock(world.clock, skew)
        self.store_path = str(world.store_root / name / "store.json")
        Path(self.store_path).parent.mkdir(parents=True, exist_ok=True)
        self.http = httpx.AsyncClient(transport=world.conductor.transport(name))
        self.crashed = False
        self.client = world.suite.make(
            world.client_name, device=name, http=self.http, store_path=self.store_path,
            clock=self.clock, hooks=Hooks(fault_point=self._fault_point, on_persist=self._on_persist),
            keys=world.keys, seed=world.seed,
            supabase_url=world.backends.supabase_url, supabase_key=world.backends.anon_key,
            cloudkit_api_token="api-token", cloudkit_sign_in=world.backends.cloudkit_sign_in(user, name),
            **({"page_size": page_size} if page_size else {}))

    def _fault_point(self, name: str, **ctx: Any) -> None:
        if ctx.get("backend"):
            # Each sync path of a device runs in its own task (and context) when the client runs
            # them in parallel, so this names the path a later persist belongs to.
            current_path.set(ctx["backend"])
        self.world.conductor.fault_point(self.name, name, current_path.get() or "local")

    def _on_persist(self, snapshot: dict[str, Any]) -> None:
        self.world.history.persist(self.name, snapshot, time=self.world.clock.now(),
                                   by=current_path.get())


async def value_of(result: Any) -> Any:  # in process a value, out of process an awaitable
    return await result if inspect.isawaitable(result) else result
