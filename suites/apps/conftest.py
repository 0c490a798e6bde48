"""Scenario files of apps other than the case study, each run against the clients of its own suite.

A file here names its app profile (`app:`) and its client suite (`suite:`); pytest makes one item
per client of that suite, runs it on a database holding that app's tables, and judges the outcome
by the file's `expect` (a client without an entry must pass). `--client` names a reference client
and does not apply here. These files live apart from suites/scenarios, whose files `main`, the
kill matrix and the meta-tests run against the reference clients.
"""

from __future__ import annotations

import pytest

from dualsync.harness import pytest_plugin
from dualsync.harness.scenario import Scenario, ScenarioError, load


@pytest.fixture(scope="session")
def app_database(pg_server, worker_id):
    """A database of an app's schema, one per app and worker, emptied by each run."""
    made = {}

    def get(app: str):
        if app not in made:
            made[app] = pg_server.new_database(f"{worker_id}_{app}", app=app)
        return made[app]
    yield get
    for db in made.values():
        pg_server.drop_database(db)


def _run(scenario: Scenario, client: str, app_database) -> None:
    from dualsync.harness import runner
    result = runner.run(scenario, client, app_database(scenario.app), suite=scenario.suite)
    ok, why = result.judgement()
    if not ok:
        pytest.fail(pytest_plugin._failure(result, why), pytrace=False)


class AppScenarioFile(pytest.File):
    def collect(self):
        try:
            scenario = load(self.path)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        if not scenario.app or not scenario.suite:
            raise self.CollectError(f"{self.path}: a scenario under suites/apps names its `app:` and its "
                                    "client `suite:` (scenarios of the case study go in suites/scenarios)")
        from dualsync.clients.api import load_suite
        for client, _description, _predicted in load_suite(scenario.suite).catalogue():
            def item(app_database, scenario=scenario, client=client):
                _run(scenario, client, app_database)
            yield pytest.Function.from_parent(self, name=f"{scenario.id}[{client}]", callobj=item)

    class CollectError(Exception):
        pass

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, self.CollectError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


@pytest.hookimpl(tryfirst=True)
def pytest_collect_file(file_path, parent):
    if file_path.suffix in (".yaml", ".yml") and not file_path.name.startswith("_"):
        # Claimed, so the harness plugin does not also run it against a reference client when the
        # folder is named on the command line.
        parent.config.stash.setdefault(pytest_plugin._CLAIMED, set()).add(file_path)
        return AppScenarioFile.from_parent(parent, path=file_path)
    return None
