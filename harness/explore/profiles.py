"""Hypothesis settings per tier, and the one function that runs the machine under them.

pr:      derandomized (the same examples on every run, so a PR never fails by luck), small, fast.
nightly: random, larger, longer programs, shrinks and keeps what it finds.
stress:  for long parallel campaigns (one per xdist worker / CI shard).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from hypothesis.internal.conjecture import engine
from hypothesis.stateful import get_state_machine_test

from dualsync.harness.explore.machine import Config, Failure, machine_for

# too_slow: one example is a whole World (real Postgres, two backends, quiescence), ~0.3-1 s by
# design; hypothesis's generation-time health check would otherwise fail every tier.
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)

PROFILES = {
    "pr": settings(max_examples=40, stateful_step_count=18, derandomize=True, database=None,
                   **_COMMON),
    # A hunt: a random seed per run, so N seeds are N independent campaigns; programs as long as
    # a nightly's, because a finding that takes four moves in order (DEEP-SYNC-002: a key rotates,
    # its device writes and pushes, another device pulls) comes up five times as often in 30 steps
    # as in 18 (BENCHMARKS.md).
    "hunt": settings(max_examples=500, stateful_step_count=30, database=None, **_COMMON),
    "nightly": settings(max_examples=300, stateful_step_count=30, **_COMMON),
    "stress": settings(max_examples=5000, stateful_step_count=50, **_COMMON),
}
# Determinism sampling per tier: every failing example and one passing example in N is run twice
# and the histories compared (machine.Config.determinism). Off in hunts, whose clock is the point.
DETERMINISM = {"pr": 10, "nightly": 5, "stress": 10, "hunt": 0}
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
PINNED_SEED = 0  # the derandomized tiers' seed (see `explore`)


@contextlib.contextmanager
def _shrink_budget(seconds: int | None):
    """Hypothesis shrinks for up to 5 minutes; an example here costs ~1 s, so a campaign that
    saves many failures caps it. (A module constant of hypothesis's engine: no public setting.)"""
    if seconds is None:
        yield
        return
    saved, engine.MAX_SHRINKING_SECONDS = engine.MAX_SHRINKING_SECONDS, seconds
    try:
        yield
    finally:
        engine.MAX_SHRINKING_SECONDS = saved


@dataclasses.dataclass
class Result:
    client: str
    profile: str
    examples: int
    seconds: float
    failure: Failure | None
    error: BaseException | None = None
    # (examples, seconds) when the first failure was seen (the first one `accept` took): the
    # time to detection, without hypothesis's final replay of that example to report it.
    detected: tuple[int, float] | None = None

    @property
    def replayed(self) -> bool:
        """False when hypothesis's replay of the failing example did not fail as it first did."""
        return not isinstance(self.error, Flaky)

    @property
    def caught(self) -> list[str]:
        return self.failure.violated if self.failure else []


def explore(client: str, pg, profile: str = "pr", *, shrink: bool = True, seed: int | None = None,
            max_examples: int | None = None, ck_page: int | None = 2, accept=None,
            messages: bool = False, shrink_seconds: int | None = None,
            determinism: int | None = None, **overrides) -> Result:
    """Run the machine against `client` on the Postgres database `pg`; the failure it ends on
    (shrunk unless shrink=False). `accept` filters failures (see machine.Config; `messages` gives
    it each failure's violations judged to quiescence). Other keywords are hypothesis settings."""
    if seed is None and PROFILES[profile].derandomize:
        # Hypothesis derandomizes from a digest of the machine class's source code, so any edit to
        # SyncMachine (comments aside) would draw a different tier. A pinned seed makes the tier's
        # programs depend on what the machine does, not on how its code is spelled.
        seed = PINNED_SEED
    config = Config(client, pg, ck_page=ck_page, accept=accept, messages=messages,
                    determinism=DETERMINISM.get(profile, 0) if determinism is None else determinism)
    chosen = settings(PROFILES[profile], **overrides,
                      **({"phases": NO_SHRINK} if not shrink else {}),
                      **({"max_examples": max_examples} if max_examples else {}),
                      **({"derandomize": False} if seed is not None else {}))
    # At least half the step budget: races need a few edits and syncs in place before the move
    # that exposes them, and short programs spend most of their time in set-up and quiescence.
    test = get_state_machine_test(machine_for(config), settings=chosen,
                                  _min_steps=chosen.stateful_step_count // 2)
    if seed is not None:
        # What hypothesis.seed() sets; a hunt sweeps seeds, as a nightly campaign does.
        test._hypothesis_internal_use_seed = seed
    started, error = time.perf_counter(), None
    try:
        with _shrink_budget(shrink_seconds):
            test()
    except AssertionError as exc:
        error = exc
    except Flaky as exc:
        # Hypothesis runs the failing example once more to report it, and that run did not fail
        # the same way (the filter turned it down, or it failed elsewhere): the program does not
        # replay deterministically. The failure seen first stands, with this error beside it.
        error = exc
    last = config.failures[-1] if config.failures and error else None
    detected = (config.detected[0], config.detected[1] - started) if last and config.detected else None
    return Result(client, profile, config.examples, time.perf_counter() - started, last, error,
                  detected)

