"""pytest plugin: the `--client` option, the `dualsync_client` fixture, and scenario-file items.

    --client=coordinated (default) | legacy | mutant:<name>     (or DUALSYNC_CLIENT)

Load it from the root conftest.py (`pytest_plugins = ["dualsync.harness.pytest_plugin"]`) next to the
Postgres plugin. Scenario files become test items where a conftest says so (suites/scenarios/conftest.py
calls `collect_scenario_file`) and wherever the command line names them: a *.yaml file given as an
argument, or the *.yaml files directly inside a folder given as one, from any directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dualsync.harness.scenario import Scenario, ScenarioError, load

DEFAULT_CLIENT = "coordinated"
_IDS = pytest.StashKey[dict]()        # scenario id -> the file that has it, across the session


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dualsync-harness")
    group.addoption("--client", default=None, metavar="NAME",
                    help="client under test: coordinated (default) | legacy | mutant:<name> "
                         "(python -m dualsync.clients lists them); env DUALSYNC_CLIENT")
    group.addoption("--supabase-dsn", default=None, metavar="DSN",
                    help="with --supabase-url: run scenario files against that Supabase (its Postgres "
                         "superuser DSN, for the final state and damage), not the in-process gateway")
    group.addoption("--no-sweep", action="store_true",
                    help="skip the fault-point sweep items of scenario files")


def client_option(config: pytest.Config) -> str:
    """The one place --client is resolved; misuse is a UsageError that says the fix."""
    try:
        value = config.getoption("--client") or os.environ.get("DUALSYNC_CLIENT") or DEFAULT_CLIENT
    except ValueError:
        raise pytest.UsageError("the harness plugin is not loaded: add \"dualsync.harness.pytest_plugin\" to "
                                "pytest_plugins in the root conftest.py, or run pytest -p "
                                "dualsync.harness.pytest_plugin") from None
    from dualsync.harness.scenario_checks import check_client
    try:
        return check_client(value)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    client_option(config)  # fail at start-up, not at the first scenario


def pytest_report_header(config: pytest.Config) -> str:
    return f"dualsync client under test: {client_option(config)}"


@pytest.fixture(scope="session")
def dualsync_client(pytestconfig: pytest.Config) -> str:
    return client_option(pytestconfig)


def supabase_target(config: pytest.Config):
    """The remote Supabase scenarios run against (--supabase-url with --supabase-dsn), or None
    for the in-process gateway."""
    from dualsync.harness.backends import SupabaseTarget
    dsn = config.getoption("--supabase-dsn", None)
    if not dsn:
        return None
    url = config.getoption("--supabase-url", None)
    if not url:
        raise pytest.UsageError("--supabase-dsn needs --supabase-url (the API URL of the same stack)")
    kwargs = {k: v for k, v in (("jwt_secret", config.getoption("--supabase-jwt-secret", None)),
                                ("anon_key", config.getoption("--supabase-anon-key", None))) if v}
    return SupabaseTarget(url, dsn, **kwargs)


@pytest.fixture(scope="session")
def _dualsync_remote(pytestconfig: pytest.Config):
    """(Database over the DSN, target), checked once before any device starts; None in process."""
    from dualsync.apps import load
    from dualsync.fakes.postgres.database import Database
    from dualsync.fakes.postgres.url import parse_dsn
    from dualsync.harness.backends import RemoteProblem, check_remote
    target = supabase_target(pytestconfig)
    if target is None:
        return None
    try:
        check_remote(target, load())
    except RemoteProblem as exc:
        pytest.exit(str(exc), returncode=pytest.ExitCode.USAGE_ERROR)
    admin = parse_dsn(target.dsn)
    return Database(admin.dbname, admin, admin, "remote"), target


@pytest.fixture
def dualsync_backends(request: pytest.FixtureRequest, _dualsync_remote):
    """(database, remote Supabase target or None) a scenario runs on."""
    if _dualsync_remote is not None:
        return _dualsync_remote
    return request.getfixturevalue("pg_database"), None


# Scenario files as test items. Items are plain pytest Functions, so they get fixtures (the
# worker's Postgres) like any test.


def _run_scenario(scenario: Scenario, dualsync_client: str, dualsync_backends) -> None:
    from dualsync.harness import backends, runner
    from dualsync.harness.external import missing_capabilities
    missing = missing_capabilities(scenario, dualsync_client)
    if missing:
        pytest.skip(f"{scenario.source}: the adapter lacks {'; '.join(missing)}")
    database, target = dualsync_backends
    lacking = backends.missing(scenario, backends.capabilities_of(target))
    if lacking:
        pytest.skip(f"{scenario.source}: {'; '.join(lacking)}")
    result = runner.run(scenario, dualsync_client, database, supabase=target)
    ok, why = result.judgement()
    if not ok:
        pytest.fail(_failure(result, why), pytrace=False)


def _run_sweep(scenario: Scenario, dualsync_client: str, dualsync_backends) -> None:
    from dualsync.harness import sweep
    pg_database, target = dualsync_backends
    if target is not None:
        pytest.skip(f"{scenario.source}: fault-point sweeps run on the in-process gateway only")
    want = sweep.expectation(scenario, dualsync_client)
    if want is None:
        pytest.skip(f"{scenario.source} declares no sweep expectation for {dualsync_client}")
    report = sweep.sweep(scenario, dualsync_client, pg_database)
    ok, why = report.judgement(want)
    if not ok:
        pytest.fail(why, pytrace=False)


@pytest.fixture(scope="session")
def dualsync_app_database(request: pytest.FixtureRequest):
    """`get(app)`: this worker's database of an app's tables, made on first use."""
    server, worker, made = request.getfixturevalue("pg_server"), request.getfixturevalue("worker_id"), {}

    def get(app: str):
        if app not in made:
            made[app] = server.new_database(f"{worker}_{app or 'default'}", app=app or None)
        return made[app]
    yield get
    for db in made.values():
        server.drop_database(db)


def _run_suite_client(scenario: Scenario, client: str, request: pytest.FixtureRequest) -> None:
    """A file that names its own client suite, against one client of that suite (not --client)."""
    from dualsync.harness import runner
    if request.getfixturevalue("_dualsync_remote") is not None:
        pytest.skip(f"{scenario.source}: a scenario of suite {scenario.suite} runs on the in-process gateway only")
    database = request.getfixturevalue("dualsync_app_database")(scenario.app)
    result = runner.run(scenario, client, database, suite=scenario.suite)
    ok, why = result.judgement()
    if not ok:
        pytest.fail(_failure(result, why), pytrace=False)


def _suite_items(file: pytest.File, scenario: Scenario):
    """One item per client of the suite the file names; a client without `expect` must pass."""
    from dualsync.clients.api import load_suite

    def bound(client: str):
        def item(request):
            _run_suite_client(scenario, client, request)
        return item
    for client, _description, _predicted in load_suite(scenario.suite).catalogue():
        item = pytest.Function.from_parent(file, name=f"{scenario.id}[{client}]", callobj=bound(client))
        if scenario.known.get(client):
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"open finding: {scenario.known[client]}"))
        yield item


def _failure(result, why: str) -> str:
    return (f"{result.scenario.id} against {result.client} (seed {result.scenario.seed}):\n{why}\n"
            f"diagram: {result.report}\n" + (f"run saved as: {result.saved}\n" if result.saved else "") +
            f"replay: {result.replay_command()}")


class ScenarioFile(pytest.File):
    """One scenario file: one item for the scenario, one for its fault-point sweep if it has one;
    a file that names another client suite (`suite:`): one item per client of that suite."""

    def collect(self):
        try:
            scenario = load(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        ids = self.config.stash.setdefault(_IDS, {})
        other = ids.setdefault(scenario.id, self.path)
        if other != self.path:  # two files, one id: they would overwrite each other's report
            line, col = scenario.id_at
            raise self.CollectError(f"{self.path}:{line}:{col}: id: {scenario.id!r} is also the id of {other}; "
                                    "give each scenario its own id (reports are named by it)")
        from dualsync.clients.api import DEFAULT_SUITE
        if scenario.suite not in ("", DEFAULT_SUITE):  # its `expect` names that suite's clients
            yield from _suite_items(self, scenario)
            return
        item = pytest.Function.from_parent(self, name=scenario.id, callobj=_bind(_run_scenario, scenario))
        from dualsync.harness.external import expectation_key
        reason = scenario.known.get(expectation_key(client_option(self.config)))
        if reason:  # an open finding against this client: must keep failing until it is fixed
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"open finding: {reason}"))
        yield item
        if scenario.sweep is not None and not self.config.getoption("--no-sweep", False):
            yield pytest.Function.from_parent(self, name=f"{scenario.id}[sweep]",
                                              callobj=_bind(_run_sweep, scenario))

    class CollectError(Exception):
        pass

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


def _bind(fn, scenario: Scenario):
    def item(dualsync_client, dualsync_backends):
        from dualsync.harness.world import StepError
        try:
            fn(scenario, dualsync_client, dualsync_backends)
            return
        except StepError as exc:  # a step the file asks for cannot be done: its one line, no traceback
            message = str(exc)
        pytest.fail(message, pytrace=False)
    item.__name__ = fn.__name__
    return item


def collect_scenario_file(file_path: Path, parent) -> ScenarioFile | None:
    """For a conftest's pytest_collect_file: scenario files are *.yaml next to it."""
    if file_path.suffix in (".yaml", ".yml") and not file_path.name.startswith("_"):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path: Path, parent):
    """A scenario file named on the command line, or inside a folder named there, from anywhere:
    collected here unless a conftest of its folder (suites/scenarios) already collected it."""
    collected = yield
    if file_path.suffix in (".yaml", ".yml") and _named(parent.config, file_path) \
            and not any(isinstance(node, ScenarioFile) for node in collected):
        node = collect_scenario_file(file_path, parent)
        if node is not None:
            collected.append(node)
    return collected


def _named(config: pytest.Config, file_path: Path) -> bool:
    here = config.invocation_params.dir
    for arg in config.args:
        given = (here / arg.split("::")[0]).resolve()
        if given == file_path.resolve() or given.is_dir() and given == file_path.resolve().parent:
            return True
    return False
