"""A World driven synchronously, step by step, with the program it ran kept as scenario steps.

Hypothesis rules and the exhaustive enumerator are synchronous; the World is asyncio. A Session
owns a private event loop and runs each step to completion on it (`World.settle` returns once
every task is done or parked at the Conductor), so a rule never leaves work half-run behind it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from dualsync.fakes.postgres.embedded import running
from dualsync.harness import checkers
from dualsync.harness.checkers import Verdict
from dualsync.harness.history import AFTER_STEPS
from dualsync.harness.runner import execute
from dualsync.harness.scenario import Scenario, Step
from dualsync.harness.world import World

# Invariants the design checks at every persist, not only after quiescence: cheap to run after
# each step, and a failure seen early stops the example before its remaining steps are paid for.
TOKEN_HORIZON = 3000.0  # seconds; applied with the page cap (see corpus.PAGE_TAG)
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
PER_STEP = ("no-lost-unsynced-edit", "monotonic-read-your-writes", "isolation", "backend-history")


@dataclasses.dataclass
class Outcome:
    verdicts: dict[str, Verdict]
    final: dict[str, dict]

    @property
    def violated(self) -> list[str]:
        return [n for n, v in self.verdicts.items() if not v.ok]

    def explain(self) -> str:
        return "\n".join(self.verdicts[n].explain() for n in self.violated) or "every invariant holds"

    def messages(self) -> set[tuple[str, str]]:
        """Every (invariant, message) violated: what a counterfactual replay is compared on."""
        return {(n, x.message) for n, v in self.verdicts.items() for x in v.violations}


_PREFIX = "dualsync-explore-"
_swept: list[int] = []


def _sweep_once() -> None:
    """Store directories of explorations that were killed (SIGKILL skips `close`): each is named
    after the process that made it, and once per process those whose maker is gone are removed."""
    if _swept == [os.getpid()]:
        return
    _swept[:] = [os.getpid()]
    for path in Path(_SCRATCH or tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        owner = path.name[len(_PREFIX):].split("-")[0]
        if owner.isdigit() and not running(int(owner)):
            shutil.rmtree(path, ignore_errors=True)


class Session:
    """One World, one client, one program. `ck_page` caps CloudKit pages (server side) and turns
    on sync-token expiry, which the scenario format cannot say yet; a Session records it so the
    corpus can replay it."""

    def __init__(self, client: str, database: Any, devices: dict[str, dict[str, Any]], *,
                 seed: int = 0, ck_page: int | None = None):
        self.client, self.devices, self.seed, self.ck_page = client, devices, seed, ck_page
        self.steps: list[Step] = []
        self.loop = asyncio.new_event_loop()
        # Stores live in memory when the machine has a tmpfs: every persist is an fsync and a
        # rename, and a disk makes those the largest cost of an example.
        _sweep_once()
        self.root = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=_SCRATCH))
        database.reset()
        self.world: World = self.loop.run_until_complete(self._world(database))
        self.closed = False

    async def _world(self, database: Any) -> World:
        world = World(client=self.client, database=database, devices=self.devices,
                      store_root=self.root, seed=self.seed)
        if self.ck_page:
            world.backends.cloudkit.config.max_results = self.ck_page
            # Sync tokens expire after a virtual hour, so an `advance` can outdate a cursor.
            world.backends.cloudkit.config.token_horizon = TOKEN_HORIZON
        return world

    def do(self, step: Step) -> None:
        """Run one step to completion; it joins the program only once it ran without a StepError."""
        self.world.history.step = len(self.steps)
        self.loop.run_until_complete(execute(self.world, step))
        self.steps.append(step)

    def check_now(self) -> dict[str, Verdict]:
        """The per-persist invariants over the history so far."""
        return {n: checkers.SINGLE_RUN[n](self.world.history, None) for n in PER_STEP}

    def finish(self) -> Outcome:
        """Quiescence, then every single-run checker."""
        self.world.history.step = AFTER_STEPS
        final = self.loop.run_until_complete(self.world.quiesce())
        return Outcome(checkers.check_all(self.world.history, final), final)

    def scenario(self, id: str, expect: dict[str, Any], **extra: Any) -> Scenario:
        return Scenario(id=id, guards=extra.pop("guards", ["no-lost-write"]), devices=self.devices,
                        steps=list(self.steps), seed=self.seed, expect=expect, **extra)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.run_until_complete(self.world.aclose())
        finally:
            self.loop.close()
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
