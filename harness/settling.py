"""How a World drives its event loop: until every operation is done or parked at the Conductor
(`settle`), and at the end until nothing changes any more (`quiesce`), with the final states."""

from __future__ import annotations

import asyncio
from typing import Any

from dualsync import apps
from dualsync.clients.api import DeviceError
from dualsync.harness.steps import StepError

QUIESCENCE_ROUNDS = 6
ROUND_GAP = 30.0  # virtual seconds between quiescence rounds: long enough for any retryAfter here


class Settling:
    """Mixed into World: settle, wait, heal, quiesce, final states."""

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
        before = self._moved()
        for _ in range(spins):
            await asyncio.sleep(0)
            if self.conductor.active:
                return False
        if not all([await d.settled() for d in self.devices.values() if hasattr(d, "settled")]):
            return False  # a device in another process settles on its own terms (harness.external)
        return before == self._moved()

    def _moved(self) -> tuple:
        """What changes when anything moves: the Conductor, the history, finished tasks, and what
        devices in other processes have said (a reply that has not yet woken its step)."""
        return (self.conductor.progress, len(self.history), sum(t.done() for t in self.tasks.values()),
                tuple(d.heard for d in self.devices.values() if hasattr(d, "heard")))

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
            d.client.heal_disk()
        self._keychains_catch_up()
        self.history.append("note", "world", "heal", time=self.clock.now())
        await self.settle()

    async def quiesce(self, rounds: int = QUIESCENCE_ROUNDS) -> dict[str, dict]:
        """Heal, then sync every device on every path until nothing changes; the final states."""
        await self.heal()
        previous, settled, n = None, False, 0
        for n in range(1, rounds + 1):
            for name in sorted(self.devices):
                for path in apps.BACKENDS:
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

    def _on_disk(self, d: Any) -> dict:
        """The device's store as on disk; a store the client cannot read holds nothing."""
        try:
            return d.client.store_snapshot()
        except DeviceError as exc:
            self.history.append("note", d.name, "store_unreadable", time=self.clock.now(),
                                error=self._why(exc))
            return {}
