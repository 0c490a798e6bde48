"""The World: backends, devices, one clock, one seed, one event loop.

A World is a plain object: every scenario step is one method, so a scenario file, a hypothesis
state machine or an exhaustive search all drive it the same way (the step table, `steps.py`, maps
each step to its method). Each device operation runs as an asyncio task; `settle` drives the loop
until every task is done or parked at the Conductor, so the order in which held replies are
released is the only source of interleaving.

This module is the composition root; the World's jobs live beside it: devices (`devices.py`),
device operations (`operations.py`), the environment and the Conductor's decisions
(`environment.py`), settling and quiescence (`settling.py`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dualsync import apps
from dualsync.clients.api import DEFAULT_SUITE, load_suite
from dualsync.harness.backends import Backends, CommitRecorder, SupabaseTarget
from dualsync.harness.clock import VirtualClock
from dualsync.harness.conductor import Conductor
from dualsync.harness.devices import Device
from dualsync.harness.environment import Environment
from dualsync.harness.history import History
from dualsync.harness.operations import PASSWORD, DeviceOperations
from dualsync.harness.settling import QUIESCENCE_ROUNDS, ROUND_GAP, Settling
from dualsync.harness.steps import StepError

__all__ = ["Device", "PASSWORD", "QUIESCENCE_ROUNDS", "ROUND_GAP", "StepError", "World"]


class World(DeviceOperations, Environment, Settling):
    def __init__(self, *, client: str, database: Any, devices: dict[str, dict[str, Any]],
                 store_root: str | Path, seed: int = 0, liveness_bound: float = 600.0,
                 app: str | apps.App | None = None, suite: str = DEFAULT_SUITE,
                 supabase: SupabaseTarget | None = None):
        self.client_name, self.seed = client, seed
        self.app, self.suite = apps.load(app), load_suite(suite)
        self.clock, self.history = VirtualClock(), History()
        self.keys = self.suite.keys(seed)  # the users' cloud keychain, shared by their devices
        self.store_root = Path(store_root)
        self.conductor = Conductor(self.clock, self.history, seed)
        self.backends = Backends(database, self.clock, self.keys, self.app, seed, supabase)
        for name, transport in self.backends.transports.items():
            self.conductor.add_backend(name, transport, self.backends.urls[name])
        self.device_user = {d: spec["user"] for d, spec in devices.items()}
        self.conductor.observers.append(CommitRecorder(self.backends, self.history, self.device_user))
        self.backends.supabase.attach(self.conductor)
        from dualsync.harness.external import make_device  # in process, or in another process
        self.devices = {d: make_device(self, d, spec, Device) for d, spec in devices.items()}
        self.tasks: dict[str, asyncio.Task] = {}
        self.signed_up: set[str] = set()
        self.keys_lagging: set[str] = set()  # devices whose keychain has not caught up since a rotation
        self.hits_at_heal: int | None = None  # fault points passed before faults healed
        self.history.append("note", "world", "setup", time=self.clock.now(), client=client,
                            seed=seed, devices=self.device_user, routes=self.app.routes,
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

    def _why(self, exc: BaseException) -> str:
        """An error as the history keeps it: without this run's temporary paths, so that a
        replay's history is identical."""
        return _why(exc).replace(str(self.store_root), "<stores>")


def _policy(devices: dict[str, Device]) -> dict[str, Any]:
    any_client = next(iter(devices.values())).client if devices else None
    p = getattr(any_client, "policy", None)
    return {"order": p.order, "granularity": p.granularity,
            "respects_needs_sync": p.respects_needs_sync,
            "stamps": getattr(p, "stamps", "device_clock")} if p else {}


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
