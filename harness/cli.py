"""The `dualsync` console script (installed with the package): one command, many jobs.

    dualsync main [FILE...]              every scenario against legacy and coordinated: the verdict table
    dualsync run FILE... [--client NAME] scenario files against one client
    dualsync replay FILE [--client NAME] one scenario again, exactly
    dualsync sweep FILE [--client NAME]  a scenario at every fault point it passes
    dualsync kill-matrix [CLIENT...]     the `pr` tier against every client in the catalogue
    dualsync campaign ...                a stress campaign (dualsync.harness.campaign)
    dualsync serve supabase|cloudkit ... a standalone fake on a local port
    dualsync test [PYTEST ARGS]          pytest with dualsync's plugins; with no arguments, the
                                         shipped suites (contracts, scenario files, corpus,
                                         properties) on two workers

`main`, `run`, `replay` and `kill-matrix` take --json PATH and --junitxml PATH. Each command's own
--help lists its options. In a checkout of the repository, `./dualsync` does the same after setting
up .venv.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

HARNESS = ("main", "run", "replay", "sweep", "kill-matrix")
SERVERS = {"supabase": "dualsync.fakes.supabase.__main__", "cloudkit": "dualsync.fakes.cloudkit.__main__"}
COMMANDS = (*HARNESS, "campaign", "serve", "test")
SUITES = ("contracts", "suites")


def usage_error(message: str) -> int:
    print(f"dualsync: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        return usage_error(f"which command? choose one of: {', '.join(COMMANDS)} (dualsync --help)")
    if argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd in HARNESS or cmd.startswith("--postgres"):
        from dualsync.harness.__main__ import main as harness_main
        return harness_main(argv)
    if cmd == "serve":
        return serve(rest)
    if cmd == "campaign":
        return campaign(rest)
    if cmd == "test":
        return test(rest)
    return usage_error(f"unknown command {cmd!r}; choose one of: {', '.join(COMMANDS)} (dualsync --help)")


def serve(argv: list[str]) -> int:
    if not argv or argv[0] not in SERVERS:
        got = f"{argv[0]!r}" if argv else "nothing"
        return usage_error(f"serve: which fake? got {got}; choose one of: {', '.join(SERVERS)}")
    return importlib.import_module(SERVERS[argv[0]]).main(argv[1:]) or 0


def campaign(argv: list[str]) -> int:
    """The campaign runner is its own package; an installation without it says so in one line."""
    name = "dualsync.harness.campaign"
    if importlib.util.find_spec(name) is None:
        return usage_error("campaign: this installation has no campaign runner "
                           f"({name} is missing); install a dualsync release that includes it")
    module = importlib.import_module(name)
    entry = getattr(module, "main", None)
    if entry is None:
        entry = importlib.import_module(f"{name}.__main__").main
    return entry(argv) or 0


def test(argv: list[str]) -> int:
    """pytest in this interpreter, so the entry-point plugins load; exec keeps signals and exit codes."""
    if not argv:
        root = Path(__file__).resolve().parent.parent
        argv = ["-n", "2", "-p", "no:cacheprovider", "-o", "consider_namespace_packages=true",
                *(str(root / s) for s in SUITES)]
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *argv])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
