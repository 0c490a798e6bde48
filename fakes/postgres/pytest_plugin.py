"""pytest plugin: one PostgreSQL server per run, one database per xdist worker, a reset per test.

    --postgres=embedded|docker|auto|postgresql://...   (or DUALSYNC_POSTGRES)

The server starts when first needed, so the plugin costs nothing in a project that installs dualsync
(it loads through a pytest11 entry point) but never asks for a database: without xdist, at the first
test that uses `pg_server`; under xdist, the controller starts it (and builds the schema template)
before the first worker starts, and workers receive it through `workerinput` and each clone a
database. A bad --postgres is a usage error at start-up either way.

Stops: SIGINT, SIGTERM and SIGHUP interrupt the run (`fakes.stops`), the controller stops the
server at unconfigure and its last line says the run was interrupted, by which signal and after
how many tests, and that the server is gone.
"""

from __future__ import annotations

import signal

import pytest

from .. import stops
from . import ProviderError, Server, spec_from_env, start_server, validate

WORKER_KEY = "dualsync_postgres"
_STATE = pytest.StashKey[Server]()
_SPEC = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dualsync-postgres")
    group.addoption("--postgres", default=None, metavar="PROVIDER",
                    help="embedded (default) | docker | auto | a postgresql:// DSN; env DUALSYNC_POSTGRES")


def provider_spec(config: pytest.Config) -> str:
    spec = config.getoption("--postgres") or spec_from_env()
    try:
        return validate(spec)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    _interrupted.clear()
    config.stash[_SPEC] = provider_spec(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKER_KEY in workerinput:
        stops.install()
        config.stash[_STATE] = Server.from_json(workerinput[WORKER_KEY])


def _server(config: pytest.Config, *, usage_error: bool) -> Server:
    server = config.stash.get(_STATE, None)
    if server is None:
        try:
            server = config.stash[_STATE] = start_server(config.stash[_SPEC])
        except ProviderError as exc:
            if usage_error:
                raise pytest.UsageError(str(exc)) from None
            pytest.exit(f"--postgres: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    return server


_interrupted: list[bool] = []  # a KeyboardInterrupt (Ctrl-C or a stop signal) ended the session


def pytest_keyboard_interrupt(excinfo) -> None:
    # pytest ends a run with collection errors by raising its own KeyboardInterrupt subclass
    if not isinstance(excinfo.value, pytest.Session.Interrupted):
        _interrupted.append(True)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_STATE, None)
    if server is not None:
        server.stop()
    if _interrupted and not hasattr(config, "workerinput"):
        _say_interrupted(config, server)


def _say_interrupted(config: pytest.Config, server: Server | None) -> None:
    """The run's last line: pytest's own summary ("193 passed in 48s") reads like a finished run."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    signum = stops.received()
    by = f" by {signal.Signals(signum).name}" if signum else ""
    counts = ", ".join(f"{len(reports)} {kind}" for kind, reports in reporter.stats.items()
                       if kind in ("passed", "failed", "error", "skipped", "xfailed", "xpassed") and reports)
    gone = "; the Postgres server it started is stopped and its data removed" if server and server.provider else ""
    reporter.write_sep("!", f"interrupted{by} after {counts or 'no tests'}: the run did not finish{gone}",
                       red=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    node.workerinput[WORKER_KEY] = _server(node.config, usage_error=True).to_json()


def pytest_report_header(config: pytest.Config) -> str | None:
    server = config.stash.get(_STATE, None)
    return server.describe() if server else f"postgres: {config.stash[_SPEC]} (starts when a test first needs it)"


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    server = config.stash.get(_STATE, None)
    if server is not None and getattr(config, "workerinput", None) is None:
        terminalreporter.write_line(server.describe())


@pytest.fixture(scope="session")
def pg_server(pytestconfig: pytest.Config) -> Server:
    return _server(pytestconfig, usage_error=False)


@pytest.fixture(scope="session")
def pg_database(pg_server: Server, worker_id: str):
    db = pg_server.new_database(worker_id)
    yield db
    pg_server.drop_database(db)


@pytest.fixture
def pg(pg_database):
    """This worker's database, emptied before the test."""
    pg_database.reset()
    return pg_database
