"""Hypothesis's example databases for a campaign: where failing examples are kept between runs,
processes and machines, and read back first.

- a directory (hypothesis's DirectoryBasedExampleDatabase), the default;
- Redis (hypothesis.extra.redis.RedisExampleDatabase) for `--db redis://...`: many machines share it;
- a previous CI run's database, read-only (GitHubArtifactDatabase under ReadOnlyDatabase, joined
  to the first by MultiplexedDatabase), for `--github-db owner/repo[:artifact]`.

`open_database` checks it all before a worker starts: an unreachable Redis is a `BadInput`; a
corrupted database (a file where the directory should be, entries hypothesis cannot decode, a
Redis key of the wrong type) is reported and set aside, and the campaign goes on without it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Callable

from hypothesis.database import (DirectoryBasedExampleDatabase, ExampleDatabase,
                                 GitHubArtifactDatabase, MultiplexedDatabase, ReadOnlyDatabase,
                                 choices_from_bytes)

from dualsync.harness.campaign.options import BadInput

REDIS_PREFIX = b"hypothesis-example:"  # hypothesis's own default, so its tools can read ours


def test_key(client: str, steps: int) -> bytes:
    """The campaign's test in the database: one per client and program length (a program longer
    than the profile allows would replay truncated, and hypothesis would drop it as fixed)."""
    return f"dualsync-campaign/{client}/steps-{steps}".encode()


def keys(key: bytes) -> list[bytes]:
    return [key, key + b".secondary", key + b".pareto"]


def is_redis(spec: str) -> bool:
    return "://" in spec


def _redis(spec: str):
    import redis
    client = redis.Redis.from_url(spec, socket_connect_timeout=3, socket_timeout=10)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BadInput(f"--db {spec}: Redis is unreachable ({exc}); start redis-server there "
                       "or fix the URL") from None
    return client


def build(spec: str, github: str | None) -> tuple[ExampleDatabase, str]:
    """The database a worker runs with, and how to describe it."""
    if is_redis(spec):
        from hypothesis.extra.redis import RedisExampleDatabase
        base: ExampleDatabase = RedisExampleDatabase(_redis(spec), key_prefix=REDIS_PREFIX)
        described = f"Redis {spec}"
    else:
        base, described = DirectoryBasedExampleDatabase(Path(spec)), f"directory {spec}"
    if github:
        owner_repo, _, artifact = github.partition(":")
        owner, repo = owner_repo.split("/")
        shared = ReadOnlyDatabase(GitHubArtifactDatabase(owner, repo,
                                                         artifact or "hypothesis-example-db"))
        return (MultiplexedDatabase(base, shared),
                f"{described} + read-only GitHub artifact {owner}/{repo}:{artifact or 'hypothesis-example-db'}")
    return base, described


@dataclasses.dataclass
class Opened:
    database: ExampleDatabase
    description: str
    problems: list[str]
    replayable: int  # entries under the campaign's key, to be replayed first


def open_database(spec: str, github: str | None, key: bytes, aside: Path) -> Opened:
    """Check and open the database; corrupted parts are moved to `aside` (or renamed in place)."""
    problems: list[str] = []
    if not is_redis(spec):
        problems += _check_directory(Path(spec))
    database, described = build(spec, github)
    base = database._wrapped[0] if isinstance(database, MultiplexedDatabase) else database
    for k in keys(key):
        problems += _check_entries(base, spec, k, aside)
    replayable = sum(1 for _ in _fetch(database, key, problems))
    return Opened(database, described, problems, replayable)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _check_directory(path: Path) -> list[str]:
    if path.exists() and not path.is_dir():
        aside = path.with_name(f"{path.name}.corrupt-{_stamp()}")
        path.rename(aside)
        return [f"example database {path} is not a directory: set aside as {aside}, starting empty"]
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"--db {path}: cannot create the example database there ({exc.strerror})") from None
    return []


def _check_entries(db: ExampleDatabase, spec: str, k: bytes, aside: Path) -> list[str]:
    problems: list[str] = []
    if isinstance(db, DirectoryBasedExampleDatabase):
        kp = db._key_path(k)
        if kp.exists() and not kp.is_dir():
            moved = aside / f"{kp.name}.{_stamp()}"
            aside.mkdir(parents=True, exist_ok=True)
            kp.rename(moved)
            return [f"example database {spec}: {kp} is not a directory; set aside as {moved}"]
    try:
        values = list(db.fetch(k))
    except Exception as exc:  # noqa: BLE001 - a backend's own error: report, set aside, go on
        return [_set_aside_key(db, spec, k, exc)]
    bad = [v for v in values if choices_from_bytes(v) is None]
    if bad:
        aside.mkdir(parents=True, exist_ok=True)
        for v in bad:
            (aside / f"{k.decode(errors='replace').replace('/', '_')}-"
                     f"{hashlib.sha256(v).hexdigest()[:16]}.bin").write_bytes(v)
            db.delete(k, v)
        problems.append(f"example database {spec}: {len(bad)} entr{'y' if len(bad) == 1 else 'ies'} "
                        f"under {k.decode()} could not be decoded; set aside in {aside}")
    return problems


def _set_aside_key(db: ExampleDatabase, spec: str, k: bytes, exc: Exception) -> str:
    redis = getattr(db, "redis", None)
    if redis is not None:
        name = REDIS_PREFIX + k
        new = name + f".corrupt-{_stamp()}".encode()
        try:
            redis.rename(name, new)
            return (f"example database {spec}: key {name.decode()} unreadable ({exc}); "
                    f"set aside as {new.decode()}")
        except Exception as again:  # noqa: BLE001
            return f"example database {spec}: key {name.decode()} unreadable ({exc}; {again}); skipped"
    return f"example database {spec}: {k.decode()} unreadable ({exc}); skipped"


def _fetch(db: ExampleDatabase, key: bytes, problems: list[str]):
    try:
        yield from db.fetch(key)
    except Exception as exc:  # noqa: BLE001 - e.g. the GitHub artifact cannot be had offline
        problems.append(f"example database: reading {key.decode()} failed ({exc}); going on without it")


class Guarded(ExampleDatabase):
    """Passes every call through; a backend error mid-run is reported (once per kind), not fatal."""

    def __init__(self, db: ExampleDatabase, report: Callable[[str], None]):
        super().__init__()
        self.db, self.report, self.seen = db, report, set()

    def _call(self, what: str, fn, *args, default=None):
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001
            if (what, type(exc)) not in self.seen:
                self.seen.add((what, type(exc)))
                self.report(f"example database {what} failed ({exc}); the campaign goes on")
            return default

    def fetch(self, key: bytes):
        return iter(self._call("read", lambda k: list(self.db.fetch(k)), key, default=[]))

    def save(self, key: bytes, value: bytes) -> None:
        self._call("write", self.db.save, key, value)

    def delete(self, key: bytes, value: bytes) -> None:
        self._call("delete", self.db.delete, key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._call("move", self.db.move, src, dest, value)
