"""`python -m dualsync.clients --list`: every selectable client, one a line, with what it gets wrong."""

from __future__ import annotations

import argparse
import sys

from dualsync.clients import catalogue


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dualsync.clients", description="The dualsync reference clients.")
    parser.add_argument("--list", action="store_true", help="list every selectable client")
    args = parser.parse_args(argv)
    if not args.list:
        parser.print_help()
        return 2
    width = max(len(name) for name, _, _ in catalogue())
    for name, description, invariant in catalogue():
        caught_by = f"  [breaks: {invariant}]" if invariant else ""
        print(f"{name:<{width}}  {description}{caught_by}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
