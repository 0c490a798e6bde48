"""Run benchmark areas and print their figures.  python -m dualsync.bench [area ...] [--quick]"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import platform
import os
import sys

from dualsync import bench


def areas() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))


def machine() -> str:
    return f"{platform.node()} · {os.cpu_count()} cores · {platform.machine()} · Python {platform.python_version()}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m dualsync.bench", description=__doc__)
    ap.add_argument("areas", nargs="*", help=f"areas to run (default all): {', '.join(areas())}")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke check)")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.areas) - set(areas()))
    if unknown:
        ap.error(f"unknown area(s) {', '.join(unknown)}; choose from {', '.join(areas())}")
    print(f"# machine: {machine()}")
    unmeasured = []
    for area in args.areas or areas():
        print(f"\n## {area}   (reproduce: ./dualsync bench {area})")
        try:
            figures = importlib.import_module(f"dualsync.bench.{area}").run(args.quick)
        except bench.Unavailable as exc:
            print(f"not measured: {exc}")
            unmeasured.append(area)
            continue
        print("| figure | min | median | max | unit |\n|---|---|---|---|---|")
        for f in figures:
            print("| " + " | ".join(f.row()) + " |")
    if unmeasured:
        print(f"\nnot measured: {', '.join(unmeasured)} (the reason is under each); exit 1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
