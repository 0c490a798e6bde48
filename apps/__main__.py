"""`python -m dualsync.apps list | show APP | sql APP`: the app profiles and what they generate."""

from __future__ import annotations

import argparse
import sys

from . import AppError, load, shipped
from .sql import migration


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dualsync.apps", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="the shipped profiles")
    for name in ("show", "sql"):
        sub.add_parser(name).add_argument("app", help="a shipped profile's name or a profile file")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        for name, path in shipped().items():
            app = load(path)
            print(f"{name:<10} {len(app.record_types)} record types, {app.envelope.kind} payloads, zone {app.zone}")
        return 0
    try:
        app = load(args.app)
    except AppError as exc:
        print(f"dualsync: {exc}", file=sys.stderr)
        return 2
    if args.cmd == "sql":
        print(migration(app), end="")
        return 0
    print(f"app {app.name} (version {app.version}) from {app.source}")
    for rt in app.record_types.values():
        where = ", ".join(f"{b}: {rt.table if b == 'supabase' else rt.cloudkit_type}" for b in rt.routes)
        print(f"  {rt.name:<18} {where}; ids {rt.id}; fields {', '.join(rt.fields)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
