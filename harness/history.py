"""The history: an append-only record of everything observable in one run.

Shaped like a Jepsen history: each client operation is an `invoke` followed by exactly one
completion, `ok` (it happened), `fail` (it certainly did not) or `info` (unknown: a timeout, a lost
reply, a crash). Besides operations the history holds what the checkers need to explain a loss:
every `persist` (the device's store as written to disk), every backend `commit`, every Conductor
decision (`net`) and every injected `fault`. Each local write carries the unique write id the client
returned, so the ledger can say exactly which write survived where.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

OPERATION_TYPES = ("invoke", "ok", "fail", "info")
OTHER_TYPES = ("persist", "commit", "net", "fault", "note")
TYPES = OPERATION_TYPES + OTHER_TYPES
NOT_OBSERVED = object()  # a value the recorder did not look at (unlike None: looked, saw nothing)


AFTER_STEPS = 1_000_000  # History.step once the program's steps are done: quiescence


@dataclasses.dataclass(frozen=True)
class Event:
    """One observation. `process` is the lane it belongs to: a device ("A"), one sync path of a
    device ("A/cloudkit"), a backend ("supabase", "cloudkit") or the harness ("world")."""

    index: int
    type: str
    process: str
    f: str
    time: float = 0.0
    step: int = -1
    value: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def device(self) -> str:
        return self.process.split("/", 1)[0]

    def label(self) -> str:
        """How an explanation names this event: "step 14 (A/cloudkit persist)", numbered as in the
        scenario file (its first step is step 1), or "quiescence (...)" after the last step."""
        return f"{self.where()} ({self.process} {self.f})"

    def where(self) -> str:
        if self.step >= AFTER_STEPS:
            return "quiescence"
        return f"step {self.step + 1}" if self.step >= 0 else f"event {self.index}"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class History:
    """The append-only event list of one run, with the operations the harness records."""

    def __init__(self, events: Iterable[Event] = ()):
        self._events: list[Event] = list(events)
        self.step = -1  # the scenario step being executed (0 = the file's first); stamped on every event

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events)

    def __len__(self) -> int:
        return len(self._events)

    def __getitem__(self, i: int) -> Event:
        return self._events[i]

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def append(self, type: str, process: str, f: str, *, time: float = 0.0, **value: Any) -> Event:
        if type not in TYPES:
            raise ValueError(f"unknown event type {type!r}; expected one of {', '.join(TYPES)}")
        ev = Event(len(self._events), type, process, f, float(time), self.step, _plain(value))
        self._events.append(ev)
        return ev

    def append_at(self, step: int, type: str, process: str, f: str, **kw: Any) -> Event:
        """`append`, stamped with `step` instead of the step in progress: an operation's invoke
        names the step that started it, though a `wait: false` one starts running later."""
        current, self.step = self.step, step
        try:
            return self.append(type, process, f, **kw)
        finally:
            self.step = current

    # Typed helpers so every caller spells the events the same way.

    def write(self, device: str, user: str, write_id: str, record_type: str, record_id: str,
              fields: dict[str, Any] | None, *, time: float, device_time: float,
              after: dict[str, Any] | None, before: Any = NOT_OBSERVED) -> Event:
        """A local edit (fields) or delete (fields None); `after` is what the device read back,
        `before` (when the recorder observed it) what it read just before the edit."""
        f = "delete" if fields is None else "write"
        seen = {} if before is NOT_OBSERVED else {"before": before}
        self.append("invoke", device, f, time=time, record_type=record_type, record_id=record_id)
        return self.append("ok", device, f, time=time, user=user, write_id=write_id,
                           record_type=record_type, record_id=record_id, fields=fields,
                           device_time=device_time, after=after, **seen)

    def persist(self, device: str, snapshot: dict[str, Any], *, time: float, by: str = "") -> Event:
        return self.append("persist", f"{device}/{by}" if by else device, "persist", time=time,
                           snapshot=snapshot)

    def commit(self, backend: str, user: str, record_type: str, record_id: str, *, time: float,
               write_id: str | None, deleted: bool = False, decryptable: bool = True,
               server_time: float | None = None, key_version: int | None = None) -> Event:
        return self.append("commit", backend, "commit", time=time, user=user,
                           record_type=record_type, record_id=record_id, write_id=write_id,
                           deleted=deleted, decryptable=decryptable, key_version=key_version,
                           server_time=time if server_time is None else server_time)

    # Queries the checkers share.

    def of_type(self, *types: str) -> list[Event]:
        return [e for e in self._events if e.type in types]

    def writes(self) -> list[Event]:
        return [e for e in self._events if e.type == "ok" and e.f in ("write", "delete")]

    def persists(self, device: str | None = None) -> list[Event]:
        return [e for e in self._events
                if e.type == "persist" and (device is None or e.device == device)]

    def commits(self) -> list[Event]:
        return self.of_type("commit")

    def completion_of(self, invoke: Event) -> Event | None:
        """The ok/fail/info that completes `invoke` (the next operation event of its process)."""
        for e in self._events[invoke.index + 1:]:
            if e.process == invoke.process and e.type in ("ok", "fail", "info"):
                return e
        return None

    # Persistence: JSON lines, one event per line, so a diff of two runs is a text diff.

    def to_jsonl(self) -> str:
        return "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in self._events)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.to_jsonl())
        return path

    @classmethod
    def from_jsonl(cls, text: str, *, source: str = "<history>") -> "History":
        events = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(Event(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{source}:{n}: not a history event ({exc}); "
                                 "each line must be one JSON object written by History.save") from exc
        return cls(events)

    @classmethod
    def load(cls, path: str | Path) -> "History":
        return cls.from_jsonl(Path(path).read_text(), source=str(path))

    def fingerprint(self) -> list[tuple]:
        """What must match when a run is replayed: the events without wall-clock noise."""
        return [(e.type, e.process, e.f, e.step, json.dumps(e.value, sort_keys=True))
                for e in self._events]


def _plain(value: Any) -> Any:
    """A JSON-safe deep copy, so a later mutation by a client cannot rewrite the past."""
    return json.loads(json.dumps(value, default=str))
