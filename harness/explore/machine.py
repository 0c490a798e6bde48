"""The hypothesis state machine: a thin driver over `Driver` moves on one World.

Several devices of one user and one device of another user. Rules are grouped so that each kind
of move (an edit, a sync, a race, a fault, a clock or key change) is drawn about as often as any
other; targeted rules (a collision of two devices' edits, damage a pull must survive, and the
bug classes of `TARGETS`) play in one move a sequence random single moves seldom line up. Per
example, swarm switches turn on a few kinds of each, and dimensions (`DIMENSIONS`: small pull
pages, older app versions writing fewer fields). The per-persist invariants (and backend history)
are checked after every step; the rest after quiescence in `teardown`, with determinism on a
sample (`Config.determinism`). Every failure is recorded with the program that produced it (as scenario steps), so
the shrunk failure hypothesis ends on can be written to the corpus.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable

from hypothesis import reject, strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from dualsync.clients.api import FAULT_POINTS
from dualsync.harness.explore import determinism
from dualsync.harness.explore.moves import APP, IDS_PER_TYPE, ITEM_ERRORS, PATHS, RECORD_TYPES, Driver
from dualsync.harness.checkers.verdict import INVARIANTS
from dualsync.harness.explore.session import Outcome, Session
from dualsync.harness.scenario import Step

OTHER_USER_DEVICE = "X"
HOWS = ("both", "login", "both-held", "login-held")
FAULTS = ("offline", "transient", "item_error", "lose_reply", "crash", "refuse_refresh", "restart",
          "sign_out", "probe")
CHANGES = ("advance", "skew", "corrupt", "rotate_key", "delete_zone")
TOKENS = ("forged", "expired", "other_user")
# Per example, on or off: small Supabase pull pages (1-3 rows) on every device but the first;
# devices after the first on an older app version that writes fewer fields per record.
DIMENSIONS = ("paging", "field_sets")
# Targeted moves for classes of bug random single moves seldom line up (Driver: bulk,
# sign_out_pending, delete_crossing).
TARGETS = ("bulk", "sign_out_pending", "delete_crossing")


@dataclasses.dataclass
class Failure:
    """A failing program: the steps it ran and the invariants they broke."""

    client: str
    devices: dict[str, dict[str, Any]]
    steps: list[Step]
    seed: int
    ck_page: int | None
    violated: list[str]
    explanation: str
    # Every (invariant, message) the program shows after quiescence, judged on demand by the run
    # itself for a filter that asked (Config.messages): what a replay on the same client would show.
    judge: Callable[[], set[tuple[str, str]]] | None = dataclasses.field(default=None, repr=False,
                                                                         compare=False)


@dataclasses.dataclass
class Config:
    """What a machine explores: the client, where its Postgres is, and the scope."""

    client: str
    database: Any
    max_devices: int = 3           # devices of the first user (2..max)
    ck_page: int | None = 2        # CloudKit page cap, so paging (moreComing) is exercised
    failures: list[Failure] = dataclasses.field(default_factory=list)
    examples: int = 0
    # A hunt's filter: a failure it does not accept rejects the example instead of failing.
    accept: Callable[[Failure], bool] | None = None
    # The filter compares the program's violations with a replay on another client: let it ask
    # this run for its own, judged to quiescence (a step failure too), through `Failure.judge`.
    messages: bool = False
    # (examples, perf_counter) when the first failure the filter accepted was seen: hypothesis runs
    # the example it ends on once more to report it, after the detection.
    detected: tuple[int, float] | None = None
    # Determinism (harness/explore/determinism.py): every failing example and every n-th passing
    # one is run a second time and the two histories compared; 0 checks none.
    determinism: int = 0


class SyncMachine(RuleBasedStateMachine):
    config: Config  # set by `machine_for`

    def __init__(self):
        super().__init__()
        self.session: Session | None = None
        self.driver: Driver | None = None
        self.failed = False
        self.types: list[str] = []
        self.hows: list[str] = []
        self.faults: list[str] = []
        self.changes: list[str] = []
        self.targets: list[str] = []

    # Swarm testing (Groce et al.): each example switches on only a few record types, kinds of
    # concurrency, faults and changes, so the ones it has meet each other often instead of being
    # diluted by all the rest; across examples every combination still comes up.
    @initialize(seed=st.integers(0, 2**16), n=st.integers(2, 4),
                types=st.lists(st.sampled_from(RECORD_TYPES), min_size=1, max_size=3, unique=True),
                hows=st.lists(st.sampled_from(HOWS), min_size=1, max_size=2, unique=True),
                faults=st.lists(st.sampled_from(FAULTS), min_size=1, max_size=3, unique=True),
                changes=st.lists(st.sampled_from(CHANGES), min_size=1, max_size=2, unique=True),
                other_user=st.booleans(),
                dims=st.lists(st.sampled_from(DIMENSIONS), max_size=2, unique=True),
                page=st.integers(1, 3),
                aims=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=2, unique=True))
    def world(self, seed: int, n: int, types: list, hows: list, faults: list, changes: list,
              other_user: bool, dims: list, page: int, aims: list) -> None:
        self.types, self.hows, self.faults, self.changes = types, hows, faults, changes
        self.targets = aims
        cfg = self.config
        cfg.examples += 1
        names = "ABCD"[: max(2, min(n, cfg.max_devices))]
        devices = {d: {"user": "alice"} for d in names}
        if "paging" in dims:
            for d in names[1:]:
                devices[d]["page_size"] = page
        if other_user:  # isolation needs a neighbour; every device costs quiescence time
            devices[OTHER_USER_DEVICE] = {"user": "bob"}
        self.session = Session(cfg.client, cfg.database, devices, seed=seed, ck_page=cfg.ck_page)
        self.driver = Driver(self.session)
        if "field_sets" in dims:
            self.driver.narrow = set(names[1:])
        # The user starts on one device. Every other move needs someone signed in: were the
        # sign-in rule the only way in, hypothesis's rule swarm (which switches each rule off in
        # some examples) would leave a third of all examples without a single step.
        self.driver.sign_in(names[0])

    def devices(self) -> list[str]:
        return list(self.session.devices)

    def signed(self) -> list[str]:
        return sorted(self.driver.signed_in)

    def _any_signed(self) -> bool:
        return bool(self.driver and self.driver.signed_in)

    # Users. Five kinds of move are drawn about equally often: an edit, a sync, two paths at
    # once, a fault (the network's or the device's) and a change (the clock, the keys, the data on
    # the server); and sign-in, until everyone is.

    def _someone_signed_out(self) -> bool:
        return self.driver is not None and len(self.driver.signed_in) < len(self.session.devices)

    @precondition(_someone_signed_out)
    @rule(data=st.data())
    def sign_in(self, data) -> None:
        out = [d for d in self.devices() if d not in self.driver.signed_in]
        self.driver.sign_in(data.draw(st.sampled_from(out), label="device"))

    # Hypothesis orders rules by their number of arguments, and the engine runs the simplest
    # program (every choice its simplest) before each of its first examples: with a local edit as
    # the simplest move (one argument), that program costs a few milliseconds per step instead of
    # a sync's round trips; it also makes shrinking turn spare moves into edits, not syncs.
    @precondition(_any_signed)
    @rule(data=st.data())
    def edit(self, data) -> None:
        device = data.draw(st.sampled_from(self.signed()), label="device")
        record_type = data.draw(st.sampled_from(self.types), label="type")
        slot = data.draw(st.integers(0, IDS_PER_TYPE - 1), label="slot")
        delete = data.draw(st.integers(0, 9), label="delete")
        live = self.driver.live(device) if delete == 9 else []
        if live:
            self.driver.delete(device, *data.draw(st.sampled_from(live), label="record"))
        else:
            self.driver.write(device, record_type, slot)

    # Syncs and the Conductor's schedules.

    @precondition(_any_signed)
    @rule(data=st.data(), path=st.sampled_from(PATHS))
    def sync(self, data, path: str) -> None:
        self.driver.sync(data.draw(st.sampled_from(self.signed()), label="device"), path)

    @precondition(_any_signed)
    @rule(data=st.data(), held=st.sampled_from(PATHS), at=st.sampled_from(("request", "reply")))
    def concurrent(self, data, held: str, at: str) -> None:
        device = data.draw(st.sampled_from(self.signed()), label="device")
        how = data.draw(st.sampled_from(self.hows), label="how")
        if how == "both":
            self.driver.sync_both(device)
        elif how == "login":
            self.driver.do("login_sync", device=device)
        else:
            self.driver.race(device, how.split("-")[0], held, at)

    # Faults and changes are two rules, so hypothesis's rule swarm switches each on and off on its
    # own: as one rule, a key rotation came up in a third as many examples (BENCHMARKS.md).

    def _faulty(self) -> bool:
        return self._any_signed() and bool(self.faults)

    @precondition(_faulty)
    @rule(data=st.data(), path=st.sampled_from(PATHS), which=st.integers(0, 2),
          point=st.sampled_from(FAULT_POINTS))
    def fault(self, data, path: str, which: int, point: str) -> None:
        device = data.draw(st.sampled_from(self.signed()), label="device")
        kind = data.draw(st.sampled_from(self.faults), label="kind")
        d = self.driver
        {"offline": lambda: d.offline(device, which + 1),
         "transient": lambda: d.transient(device, path, which),
         # item errors are CloudKit's alone: the path drawn picks a whole or a mixed batch
         "item_error": lambda: d.item_error(device, ITEM_ERRORS[which], mixed=path == PATHS[0]),
         "lose_reply": lambda: d.lose_reply(device, path),
         "crash": lambda: d.crash(device, point, path),
         "refuse_refresh": lambda: d.refuse_refresh(device),
         "restart": lambda: d.restart(device),
         "sign_out": lambda: d.sign_out(device),
         "probe": lambda: d.probe(device, TOKENS[which], PATHS[which % 2])}[kind]()

    def _changing(self) -> bool:
        return self._any_signed() and bool(self.changes)

    @precondition(_changing)
    # `second_form`: a clock set back rather than forward; damage at rest rather than written.
    @rule(data=st.data(), second_form=st.booleans(), seconds=st.sampled_from((1, 60, 3600)))
    def change(self, data, second_form: bool, seconds: int) -> None:
        device = data.draw(st.sampled_from(self.signed()), label="device")
        kind = data.draw(st.sampled_from(self.changes), label="kind")
        user, d = self.session.devices[device]["user"], self.driver
        if kind == "corrupt":
            there = d.on_server(user)
            if there:  # damage hits a row the server holds: written broken, or rotten at rest
                d.corrupt(user, *data.draw(st.sampled_from(there), label="record"), at_rest=second_form)
        elif kind == "rotate_key":
            # A key rotates on one device while the user's others lag behind it: a user with a
            # single device has nobody to lag, so the rotation happens where someone can.
            shared = [x for x in self.signed() if self._peers(x)]
            if shared:
                rotating = data.draw(st.sampled_from(shared), label="rotating")
                d.rotate_key(d.user(rotating), rotating)
        else:
            {"advance": lambda: d.advance(seconds),
             "skew": lambda: d.skew(device, -seconds if second_form else seconds),
             "delete_zone": lambda: d.delete_zone(user)}[kind]()

    # Two devices' edits of one record meeting in a pull (`Driver.collide`): a race with no
    # Conductor decision, the one every merge must get right.
    @precondition(_any_signed)
    @rule(data=st.data(), path=st.sampled_from(PATHS), mine_first=st.booleans())
    def collide(self, data, path: str, mine_first: bool) -> None:
        drawn = self._pair_on(data, path)
        if drawn is None:
            return
        device, peer, record_type = drawn
        slot = data.draw(st.integers(0, IDS_PER_TYPE - 1), label="slot")
        self.driver.collide(device, peer, record_type, slot, path, mine_first)

    @precondition(_any_signed)
    @rule(data=st.data(), path=st.sampled_from(PATHS), slot=st.integers(0, IDS_PER_TYPE - 1))
    def targeted(self, data, path: str, slot: int) -> None:
        device = data.draw(st.sampled_from(self.signed()), label="device")
        kind = data.draw(st.sampled_from(self.targets), label="kind")
        d, peers = self.driver, self._peers(device)
        if kind == "bulk":
            d.bulk(device, data.draw(st.sampled_from(self._routed(path)), label="type"), path)
            return
        if not peers:
            return
        peer = data.draw(st.sampled_from(peers), label="peer")
        if kind == "sign_out_pending":
            d.sign_out_pending(device, peer, data.draw(st.sampled_from(self.types), label="type"), slot)
        else:
            both = [t for t in RECORD_TYPES if len(APP.routes[t]) == 2]
            d.delete_crossing(device, peer, data.draw(st.sampled_from(both), label="type"), path)

    def _routed(self, path: str) -> list[str]:
        """The example's record types that travel on `path` (any that does, if none of them)."""
        return ([t for t in self.types if path in APP.routes[t]]
                or [t for t in RECORD_TYPES if path in APP.routes[t]])

    # Damage a pull must survive (a row sealed with a key the puller lacks, a row rotted at rest
    # ahead of good ones), each as one targeted move (`Driver.rotated_write`, `rot_behind`): a
    # rule of its own, so hypothesis's rule swarm gives some examples many of them, others none.
    @precondition(_any_signed)
    @rule(data=st.data(), path=st.sampled_from(PATHS), rotate=st.booleans())
    def damage(self, data, path: str, rotate: bool) -> None:
        drawn = self._pair_on(data, path)
        if drawn is None:
            return
        move = self.driver.rotated_write if rotate else self.driver.rot_behind
        move(*drawn, path)

    def _pair_on(self, data, path: str) -> tuple[str, str, str] | None:
        """A signed-in device, one of its peers, and a record type that travels on `path`; None
        when the device has no peer (the draws, in this order, are the program's)."""
        device = data.draw(st.sampled_from(self.signed()), label="device")
        peers = self._peers(device)
        if not peers:
            return None
        peer = data.draw(st.sampled_from(peers), label="peer")
        return device, peer, data.draw(st.sampled_from(self._routed(path)), label="type")

    def _peers(self, device: str) -> list[str]:
        user = self.driver.user(device)
        return [x for x in self.devices() if x != device and self.driver.user(x) == user]

    # Invariants.

    @invariant()
    def per_persist(self) -> None:
        if self.session is not None:
            self._verdict(Outcome(self.session.check_now(), {}))

    def teardown(self) -> None:
        if self.session is None:
            return
        try:
            # An example hypothesis already ended (it ran out of data mid-step) has no verdict to
            # give; judging it would raise into a finished test case.
            if not self.session.closed and not current_build_context().data.frozen:
                self._quiesce()
        finally:
            self.session.close()

    def _quiesce(self) -> None:
        outcome = self._played_out()
        every = self.config.determinism
        if every and (self.failed or outcome.violated or self.config.examples % every == 0):
            outcome = self._rerun(outcome)
        if self.failed:
            # A per-step check already failed the example; the record gets everything else the
            # program breaks too, so a report names every invariant that caught it.
            self._amend(self.config.failures[-1], outcome)
            return
        self._verdict(outcome, complete=True)

    def _played_out(self) -> Outcome:
        """The program so far, wound down (`Driver.wind_down`) and judged at quiescence."""
        self.driver.wind_down()
        return self.session.finish()

    def _rerun(self, outcome: Outcome) -> Outcome:
        """The program run again from a fresh World; a history that differs adds a determinism
        violation to the outcome. The first World is closed first: both use one database."""
        s = self.session
        first = s.world.history
        s.close()
        second = determinism.rerun(s.client, self.config.database, s.devices, s.seed, s.ck_page,
                                   list(s.steps))
        return Outcome({**outcome.verdicts, "determinism": determinism.compare(first, second)},
                       outcome.final)

    def _amend(self, failure: Failure, outcome: Outcome) -> None:
        failure.steps = list(self.session.steps)
        failure.violated = sorted(set(failure.violated) | set(outcome.violated), key=INVARIANTS.get)
        failure.explanation = outcome.explain()

    def _verdict(self, outcome: Outcome, complete: bool = False) -> None:
        if not outcome.violated:
            return
        self.failed = True
        s = self.session
        failure = Failure(self.config.client, s.devices, list(s.steps), s.seed, s.ck_page,
                          outcome.violated, outcome.explain())
        if self.config.accept is not None:
            if self.config.messages:
                # Judged only if the filter needs it; judging closes the World, which the filter
                # may then replay the program on (the same database).
                failure.judge = lambda: self._judged_to_end(outcome, complete, failure)
            else:
                s.close()  # the filter replays on the same database
            accepted = self.config.accept(failure)
            s.close()
            if not accepted:
                reject()
        if self.config.detected is None:
            self.config.detected = (self.config.examples, time.perf_counter())
        self.config.failures.append(failure)
        raise AssertionError(f"{self.config.client}: {', '.join(failure.violated)} violated\n"
                             f"{failure.explanation}")

    def _judged_to_end(self, outcome: Outcome, complete: bool, failure: Failure) -> set:
        """Every (invariant, message) of the program. A program a per-step check cut short is
        played out first, in this very World, as the teardown plays every program; the failure
        then holds those steps too, so a replay of it elsewhere plays the same."""
        if not complete:
            outcome = self._played_out()
            self._amend(failure, outcome)
        self.session.close()
        return outcome.messages()


def machine_for(config: Config) -> type[SyncMachine]:
    """A SyncMachine class bound to one client and database (hypothesis builds instances)."""
    return type("SyncMachine", (SyncMachine,), {"config": config})
