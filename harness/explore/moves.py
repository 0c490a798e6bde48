"""The exploration vocabulary: what a user, the network and the environment can do, as scenario steps.

A `Driver` turns one move (an edit, a sync, a race between the two paths, a fault, a clock change)
into the scenario steps that perform it, and runs them on a Session. Moves that need to see the
World before their next step (a race releases only what was actually held) look at it between
steps; the steps they leave behind replay the same way, because the World is deterministic.
"""

from __future__ import annotations

import itertools
from typing import Any

from dualsync import apps
from dualsync.clients.api import FAULT_POINTS
from dualsync.harness.explore.session import Session
from dualsync.harness.probe import request_line
from dualsync.harness.scenario import Step

PATHS = apps.BACKENDS
APP = apps.load()  # exploration draws the default app's record types
RECORD_TYPES = tuple(APP.record_types)
IDS_PER_TYPE = 2  # a small pool: edits collide on the same record often, which is where races live
# A transient fault per path, as the backend really signals it.
TRANSIENT = {
    "supabase": ({"status": 503}, {"status": 429, "retry_after": 5}, {"error": "timeout"}),
    "cloudkit": ({"ck_error": "THROTTLED", "retry_after": 5}, {"ck_error": "TRY_AGAIN_LATER"},
                 {"error": "drop"}),
}


def record_id(record_type: str, slot: int, user: str = "alice") -> str:
    """A fixed UUID per (user, type, slot), so a program reads the same in every run. Users never
    share an id: real clients mint random UUIDs, so a cross-user collision is not a real input."""
    tag = sum(map(ord, user)) % 0xFFFF
    return f"{RECORD_TYPES.index(record_type) + 1:x}{slot:07x}-{tag:04x}-4000-8000-0000000e4e00"


BULK_SLOTS = 3  # a bulk upload: more rows of one table in one request than a small pull page holds
ITEM_ERRORS = ("THROTTLED", "ZONE_BUSY", "TRY_AGAIN_LATER")  # per-record errors inside a 200


def fields_for(record_type: str, n: int, narrow: bool = False) -> dict[str, Any]:
    """Fields of the n-th edit: the value itself names the edit, so a lost one is visible. A
    `narrow` edit (an older app version) writes only the fields that version knows (the profile's
    `older_fields`)."""
    rt = APP.type_named(record_type)
    edit = rt.sample_edit(n)
    return {k: v for k, v in edit.items() if k in rt.older_fields} if narrow else edit


class Driver:
    """Moves over one Session. Tracks only what generation needs (who is signed in)."""

    def __init__(self, session: Session):
        self.session = session
        self.signed_in: set[str] = set()
        self._edits = itertools.count(1)
        self._names = itertools.count(1)
        self.corrupted: dict[tuple[str, str, str], None] = {}  # (user, type, id), in order
        self.narrow: set[str] = set()  # devices on an older app version (fewer fields per record)

    @property
    def world(self):
        return self.session.world

    def do(self, op: str, **args: Any) -> None:
        self.session.do(Step(op, args))

    # A user's moves.

    def sign_in(self, device: str) -> None:
        """Sign in, then the login sync the app runs right after it."""
        self.do("sign_in", device=device)
        self.signed_in.add(device)
        self.do("login_sync", device=device)

    def user(self, device: str) -> str:
        return self.session.devices[device]["user"]

    def has_session(self, device: str) -> bool:
        """Signed in, as the history shows it: the last sign-in of the device succeeded and no
        refused refresh ended it since."""
        if device not in self.signed_in:
            return False
        for e in reversed(self.world.history.events):
            if e.process == device and e.f in ("sign_in", "sign_up") and e.type in ("ok", "fail", "info"):
                return e.type == "ok"
        return False

    def write(self, device: str, record_type: str, slot: int) -> None:
        rid = record_id(record_type, slot, self.user(device))
        self.do("write", device=device, type=record_type, id=rid,
                fields=fields_for(record_type, next(self._edits), device in self.narrow))

    def live(self, device: str) -> list[tuple[str, str]]:
        """(type, id) of every record the device can delete now."""
        client, user = self.world.device(device).client, self.user(device)
        ids = [(t, record_id(t, s, user)) for t in RECORD_TYPES for s in range(IDS_PER_TYPE)]
        return [(t, rid) for t, rid in ids if client.read(t, rid) is not None]

    def delete(self, device: str, record_type: str, rid: str) -> None:
        self.do("delete", device=device, type=record_type, id=rid)

    def sync(self, device: str, path: str) -> None:
        self.do("sync", device=device, path=path)

    def sync_both(self, device: str) -> None:
        """Both paths at once, as the app's background refresh does."""
        names = [self._start("sync", device, p) for p in PATHS]
        self.do("wait", names=names)

    def race(self, device: str, kind: str, held_path: str, at: str) -> None:
        """The Conductor holds the first exchange of one path until the other path is done with
        what it can do, then lets it go: the schedule behind DEEP-SYNC-001."""
        hold = f"h{next(self._names)}"
        self.do("hold", device=device, path=held_path, at=at, **{"as": hold})
        names = ([self._start("login_sync", device)] if kind == "login"
                 else [self._start("sync", device, p) for p in PATHS])
        self.do("settle")
        if hold not in self.world.conductor.held_names():
            # The operation never reached that path (it crashed or failed first): one more sync
            # of the path meets the hold, so no armed hold is left to block a later step. A heal
            # would do it too, but the liveness bound is measured from the first heal.
            names.append(self._start("sync", device, held_path))
            self.do("settle")
        if hold in self.world.conductor.held_names():
            self.do("release", names=[hold])
        else:
            self.do("heal")  # the device sends nothing at all (signed out): rare, see above
        self.do("wait", names=names)

    def _start(self, op: str, device: str, path: str | None = None) -> str:
        name = f"{op[0]}{next(self._names)}"
        args = {"device": device, "wait": False, "as": name}
        self.do(op, **({**args, "path": path} if path else args))
        return name

    # The network's and the device's faults; each is armed, then a sync meets it.

    def offline(self, device: str, requests: int) -> None:
        self.do("fail", device=device, error="drop", count=requests)

    def transient(self, device: str, path: str, which: int, then_sync: bool = True) -> None:
        self.do("fail", device=device, path=path, **TRANSIENT[path][which % len(TRANSIENT[path])])
        if then_sync:
            self.sync(device, path)

    def item_error(self, device: str, code: str = "THROTTLED", mixed: bool = False) -> None:
        """CloudKit answers 200 with a per-record error (`code`) on every record of the next save;
        `mixed`, on every other record, the rest reaching the server (a save, a conflict)."""
        self.do("fail", device=device, path="cloudkit", match="records/modify",
                ck_item_error=code, retry_after=5, **({"mixed": True} if mixed else {}))
        self.sync(device, "cloudkit")

    def lose_reply(self, device: str, path: str) -> None:
        self.do("lose_reply", device=device, path=path, match="POST")
        self.sync(device, path)

    def crash(self, device: str, point: str, path: str) -> None:
        """Crash at a fault point of the next sync on `path`; the next move relaunches the app."""
        assert point in FAULT_POINTS
        self.do("crash", device=device, point=point, path=path)
        self.sync(device, path)

    def restart(self, device: str) -> None:
        """The app is killed and launched again. A launch that restores a session runs the login
        sync, as the shipped app does on a cold launch (the case study's race: "on a cold launch
        ... CloudKit sometimes wins")."""
        self.do("restart", device=device)
        if self.has_session(device):
            self.do("login_sync", device=device)

    def sign_out(self, device: str) -> None:
        """The user signs out of the app; the store stays on the device, and signing in again
        later (another move) runs the login sync over it."""
        self.do("sign_out", device=device)
        self.signed_in.discard(device)

    def refuse_refresh(self, device: str) -> None:
        """Two hours pass (every token expires) and the device's token refresh is refused."""
        self.do("advance", seconds=7200)
        self.do("fail", device=device, path="supabase", match="/auth/v1/token", status=400)
        self.sync(device, "supabase")
        self.signed_in.discard(device)  # the session ended; the user signs in again later

    # The environment.

    def skew(self, device: str, seconds: float) -> None:
        self.do("skew", device=device, seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.do("advance", seconds=seconds)

    def on_server(self, user: str) -> list[tuple[str, str]]:
        """(type, id) of every record of `user` a backend holds live now, as the history's commits
        show it: bit rot hits the server, whatever a device holds."""
        latest: dict[tuple[str, str, str], bool] = {}
        for c in self.world.history.commits():
            v = c.value
            if v["user"] == user:
                latest[(c.process, v["record_type"], v["record_id"])] = bool(v.get("deleted"))
        return sorted({(t, rid) for (_, t, rid), deleted in latest.items() if not deleted})

    def corrupt(self, user: str, record_type: str, rid: str, at_rest: bool = False) -> None:
        self.do("corrupt", user=user, type=record_type, id=rid, **({"at_rest": True} if at_rest else {}))
        self.corrupted[(user, record_type, rid)] = None

    def repair(self) -> None:
        """Bit rot on a server is permanent until someone writes the record again; before the
        end, a device of its user does (as in DEEP-SYNC-002). Rows that newer rows of the same
        batch were skipped behind stay skipped: repairing one row does not fetch the others."""
        for user, record_type, rid in self.corrupted:
            device = next(d for d, spec in self.session.devices.items() if spec["user"] == user)
            self.do("write", device=device, type=record_type, id=rid,
                    fields=fields_for(record_type, next(self._edits)))
        self.corrupted.clear()

    def wind_down(self) -> None:
        """How every program ends before it is judged: quiescence means every device online and
        signed in. Faults heal first (or a dropped sign-in would leave a device out); then every
        device signs in, as the app asks after a refused refresh or a failed sign-in, and as a
        device nobody signed in yet joins now (a CloudKit web auth token lives 30 virtual minutes;
        cursors survive it); then bit-rotted rows are written again (`repair`)."""
        self.do("heal")
        for device in self.session.devices:
            self.do("sign_in", device=device)
        self.repair()

    def rotate_key(self, user: str, device: str) -> None:
        self.do("rotate_key", user=user, device=device)

    def collide(self, device: str, peer: str, record_type: str, slot: int, path: str,
                mine_first: bool) -> None:
        """Two devices edit one record; the peer pushes its edit, then `device` syncs with its own
        edit still pending, so its pull meets the peer's (older than its own, or newer)."""
        if peer not in self.signed_in:
            self.sign_in(peer)
        order = [device, peer] if mine_first else [peer, device]
        for d in order:
            self.write(d, record_type, slot)
        self.sync(peer, path)
        self.sync(device, path)

    def bulk(self, device: str, record_type: str, path: str) -> None:
        """Several rows of one table in one upload (one transaction: one server timestamp)."""
        for slot in range(BULK_SLOTS):
            self.write(device, record_type, slot)
        self.sync(device, path)

    def sign_out_pending(self, device: str, peer: str, record_type: str, slot: int) -> None:
        """`device` edits, signs out before uploading, `peer` edits the record next to it and syncs
        it everywhere, then `device` signs in again (and runs the login sync). (The peer's edit of
        the same record would rank after the device's and hide its loss.)"""
        self.write(device, record_type, slot)
        self.sign_out(device)
        if peer in self.signed_in:
            self.write(peer, record_type, (slot + 1) % IDS_PER_TYPE)
            for path in APP.routes[record_type]:
                self.sync(peer, path)
        self.sign_in(device)

    def delete_crossing(self, device: str, peer: str, record_type: str, path: str) -> None:
        """`peer` gets a record on `path` only, so it is stale on the other path; `device` deletes
        the record and pushes the delete on `path`; `peer` pulls `path`, then the other path,
        which still holds the live copy."""
        other = PATHS[1 - PATHS.index(path)]
        if peer not in self.signed_in:
            self.sign_in(peer)
        self.write(device, record_type, 0)
        self.sync(device, path)
        self.sync(device, other)
        self.sync(peer, path)
        rid = record_id(record_type, 0, self.user(device))
        if (record_type, rid) in self.live(device):
            self.delete(device, record_type, rid)
            self.sync(device, path)
        self.sync(peer, path)
        self.sync(peer, other)

    # Targeted damage: the whole sequence a decrypt failure needs to matter, as one move. Drawn
    # apart (a key rotates, its device writes and pushes, a lagging peer pulls; or two rows land,
    # one rots, a peer whose cursor is before both pulls) the four moves came up together in under
    # one example in a hundred (BENCHMARKS.md); the pull after them is what a cursor can get wrong.

    def rotated_write(self, device: str, peer: str, record_type: str, path: str) -> None:
        """`device` rotates the key and pushes an edit sealed with it; `peer`, whose keychain lags,
        pulls it before it can open it."""
        if peer not in self.signed_in:
            self.sign_in(peer)
        self.rotate_key(self.user(device), device)
        self.write(device, record_type, 0)
        self.sync(device, path)
        self.sync(peer, path)

    def rot_behind(self, device: str, peer: str, record_type: str, path: str) -> None:
        """`device` pushes a batch of rows; the first rots at rest before `peer` pulls the batch,
        so the pull meets a row that does not open with good rows after it."""
        if peer not in self.signed_in:
            self.sign_in(peer)
        for slot in range(IDS_PER_TYPE):
            self.write(device, record_type, slot)
        self.sync(device, path)
        user, first = self.user(device), record_id(record_type, 0, self.user(device))
        if (record_type, first) in self.on_server(user):
            self.corrupt(user, record_type, first, at_rest=True)
        self.sync(peer, path)

    def delete_zone(self, user: str) -> None:
        # Only a zone that exists can be deleted in Settings (the step fails loudly otherwise).
        if self.world.app.zone in self.world.backends.cloudkit.db(user).zones:
            self.do("delete_zone", user=user)

    def probe(self, device: str, token: str, path: str) -> None:
        """A request with a bad credential, which the backend must refuse. It tests the backend,
        not the network: while a network fault is armed for the device on that path the probe
        waits: a probe the network loses has no answer to judge, so the move would be wasted."""
        op = " ".join(request_line(self.world, path))
        if not any(r.action != "crash" and r.applies(device, path, op)
                   for r in self.world.conductor.rules):
            self.do("probe", device=device, token=token, path=path)
