"""The campaign's command line, checked before anything starts: each bad value is one line
naming the option and what to write instead (`BadInput`, exit 2)."""

from __future__ import annotations

import argparse
import importlib
import dataclasses
import datetime
import re
from pathlib import Path

MAX_WORKERS = 64
DEFAULT_PER_SEED = 25
DEFAULT_RECYCLE = 5.0


class BadInput(Exception):
    """One line for the user: the option, what is wrong, what to write instead."""


@dataclasses.dataclass
class Options:
    client: str
    profile: str
    seconds: float | None          # the time budget, or None
    examples: int | None           # the example budget, or None
    per_seed: int                  # examples per run (one seed)
    workers: int
    shard: tuple[int, int]         # (i, N), 1-based
    seed: int
    db: str                        # a directory path or redis://...
    github: str | None             # owner/repo[:artifact], read-only
    out: Path
    postgres: str | None
    shrink_seconds: int
    live: bool | None              # None: live display when stderr is a terminal
    recycle: float = DEFAULT_RECYCLE  # % growth after which a worker is replaced; 0 never

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        return d


def check_postgres(text: str | None) -> str:
    """--postgres, else DUALSYNC_POSTGRES, else embedded: resolved and checked before a worker starts."""
    from dualsync.harness.servers import UsageError, postgres_spec
    try:
        return postgres_spec(text)
    except UsageError as exc:
        raise BadInput(f"--postgres: {exc}") from None


def parse_percent(flag: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 <= value <= 1000:
        raise BadInput(f"{flag} {text!r}: write a percentage between 0 and 1000, e.g. {flag} 5 (0: never)")
    return value


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m:
        raise BadInput(f"--shard {text!r}: write i/N, e.g. --shard 1/4 (shard i of N, counted from 1)")
    i, n = int(m.group(1)), int(m.group(2))
    if n < 1 or not 1 <= i <= n:
        raise BadInput(f"--shard {text}: i must be between 1 and N (N >= 1), e.g. --shard 1/{max(n, 2)}")
    return i, n


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_budget(text: str) -> float:
    """'90s', '10m', '1h30m', '2h'; a bare number is seconds."""
    t = (text or "").strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        seconds = float(t)
    else:
        parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", t)
        if not parts or "".join(a + u for a, u in parts) != t:
            raise BadInput(f"--budget {text!r}: write a duration like 90s, 10m, 1h or 1h30m")
        seconds = sum(float(a) * _UNITS[u] for a, u in parts)
    if seconds <= 0:
        raise BadInput(f"--budget {text!r}: the budget must be more than zero")
    return seconds


def parse_positive(name: str, text: str, most: int | None = None) -> int:
    try:
        n = int(text)
    except (TypeError, ValueError):
        raise BadInput(f"{name} {text!r}: write a whole number, e.g. {name} 2") from None
    if n < 1 or (most is not None and n > most):
        raise BadInput(f"{name} {text}: must be between 1 and {most}" if most else
                       f"{name} {text}: must be at least 1")
    return n


def check_db(text: str) -> str:
    """A directory path, or a Redis URL (redis://, rediss://, unix://). Reachability is checked
    when the database is opened (`exampledb.open_database`), still before any worker starts."""
    if "://" not in text:
        if not text.strip():
            raise BadInput("--db '': give a directory or a redis://host:port/N URL")
        return text
    scheme = text.split("://", 1)[0].lower()
    if scheme not in ("redis", "rediss", "unix"):
        raise BadInput(f"--db {text}: unsupported scheme {scheme!r}; give a directory or a "
                       "redis://host:port/N URL")
    try:
        import redis
        redis.connection.parse_url(text)
    except ValueError as exc:
        raise BadInput(f"--db {text}: not a Redis URL ({exc}); e.g. redis://localhost:6379/0") from None
    return text


def check_github(text: str | None) -> str | None:
    if text is None:
        return None
    if not re.fullmatch(r"[\w.-]+/[\w.-]+(:[\w.-]+)?", text):
        raise BadInput(f"--github-db {text!r}: write owner/repo or owner/repo:artifact-name")
    return text


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (BadInput), not usage and a message."""

    def error(self, message: str):
        raise BadInput(message)


def parser() -> argparse.ArgumentParser:
    ap = Parser(
        prog="python -m dualsync.harness.campaign",
        description="Run the exploration machine as a campaign (see also: merge DIR... --out DIR).")
    ap.add_argument("--client", default="coordinated", help="the client explored (default coordinated)")
    ap.add_argument("--profile", default="stress", help="pr | hunt | nightly | stress (default stress)")
    ap.add_argument("--budget", help="time budget: 90s, 10m, 1h30m (a finding made near the end "
                                     "is still shrunk, for up to --shrink-seconds)")
    ap.add_argument("--examples", help="example budget: the campaign's total examples")
    ap.add_argument("--per-seed", default=str(DEFAULT_PER_SEED),
                    help=f"examples per run; each run is one seed (default {DEFAULT_PER_SEED})")
    ap.add_argument("--workers", default="1", help="worker processes, each on its own database")
    ap.add_argument("--shard", default="1/1", help="i/N: run every N-th seed, starting at the i-th")
    ap.add_argument("--seed", default="0", help="the base seed every run's seed is derived from")
    ap.add_argument("--db", default=".hypothesis/campaign",
                    help="hypothesis example database: a directory (default .hypothesis/campaign) "
                         "or redis://host:port/N")
    ap.add_argument("--github-db", dest="github", default=None,
                    help="owner/repo[:artifact]: also read a previous CI run's example database "
                         "(hypothesis's GitHubArtifactDatabase; needs GITHUB_TOKEN)")
    ap.add_argument("--out", default=None, help="report directory (default reports/campaign/<time>)")
    ap.add_argument("--postgres", default=None, help="embedded | docker | auto | postgresql://...")
    ap.add_argument("--recycle", default=str(DEFAULT_RECYCLE),
                    help="replace a worker process between runs once its memory has grown by this many "
                         f"percent since its first run (default {DEFAULT_RECYCLE:g}; 0 never)")
    ap.add_argument("--shrink-seconds", default="120", help="cap on shrinking one finding")
    live = ap.add_mutually_exclusive_group()
    live.add_argument("--live", dest="live", action="store_true", default=None,
                      help="live progress table (default when stderr is a terminal)")
    live.add_argument("--no-live", dest="live", action="store_false", help="plain progress lines")
    return ap


def options(argv: list[str]) -> Options:
    args = parser().parse_args(argv)
    catalogue = importlib.import_module("dualsync.clients.catalogue")  # the module, not clients.catalogue()
    from dualsync.harness.explore.profiles import PROFILES
    if args.profile not in PROFILES:
        raise BadInput(f"--profile {args.profile!r}: choose one of {', '.join(PROFILES)}")
    try:
        client = catalogue.variant(args.client).name
    except ValueError as exc:
        raise BadInput(f"--client: {exc}") from None
    if args.budget is None and args.examples is None:
        raise BadInput("give a budget: --budget 10m (time) or --examples N (examples)")
    try:
        seed = int(args.seed)
    except ValueError:
        raise BadInput(f"--seed {args.seed!r}: write a whole number") from None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Options(
        client=client, profile=args.profile,
        seconds=parse_budget(args.budget) if args.budget is not None else None,
        examples=parse_positive("--examples", args.examples) if args.examples is not None else None,
        per_seed=parse_positive("--per-seed", args.per_seed),
        workers=parse_positive("--workers", args.workers, MAX_WORKERS),
        shard=parse_shard(args.shard), seed=seed, db=check_db(args.db),
        github=check_github(args.github),
        out=Path(args.out) if args.out else Path("reports") / "campaign" / stamp,
        postgres=check_postgres(args.postgres),
        shrink_seconds=parse_positive("--shrink-seconds", args.shrink_seconds),
        live=args.live, recycle=parse_percent("--recycle", args.recycle))
