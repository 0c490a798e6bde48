"""What the harness's command-line tools share: where the shipped suites are, which Postgres to
start (the one resolution of --postgres / DUALSYNC_POSTGRES), and a database on it for a run.

The entry points (`harness`, `harness.explore`, `harness.campaign`) import this module, never each
other."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from pathlib import Path
from typing import Iterator


def _suite_folder(name: str) -> Path:
    """A folder of the installed `dualsync.suites` package, found without importing it (the
    harness is below the suites)."""
    spec = importlib.util.find_spec("dualsync.suites")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the dualsync.suites package is not installed; reinstall dualsync")
    return Path(list(spec.submodule_search_locations)[0]) / name


SCENARIOS = _suite_folder("scenarios")  # the shipped scenario files
CORPUS = _suite_folder("corpus")        # shrunk failures exploration found, replayed first


class UsageError(Exception):
    """Bad input found before anything started: one line, exit 2."""


def postgres_spec(value: str | None) -> str:
    """--postgres (or DUALSYNC_POSTGRES, else embedded), checked; UsageError names the fix."""
    from dualsync.fakes.postgres import ProviderError, spec_from_env, validate
    try:
        return validate(value or spec_from_env())
    except (ValueError, ProviderError) as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None


@contextlib.contextmanager
def databases(spec: str, label: str = "harness_cli") -> Iterator:
    """A started server and `of_app(app)`: the database of a scenario's app profile (`app:`;
    "" the default), made on first use; all removed after."""
    from dualsync.fakes.postgres import ProviderError, start_server
    try:
        server = start_server(spec)
    except ProviderError as exc:
        raise UsageError(str(exc).replace("\n", "; ")) from None
    print(server.describe(), file=sys.stderr)
    made: dict[str, object] = {}

    def of_app(app: str = ""):
        if app not in made:
            made[app] = server.new_database(label, app=app or None)
        return made[app]
    try:
        yield of_app
    finally:
        try:
            for db in made.values():
                server.drop_database(db)
        finally:
            server.stop()


@contextlib.contextmanager
def database(spec: str, label: str = "harness_cli") -> Iterator:
    """A started server (its description on stderr) and a fresh database of the default app on it."""
    with databases(spec, label) as of_app:
        yield of_app()
