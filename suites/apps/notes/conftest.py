"""Every *.yaml here is a scenario of the notes app (apps/notes.yaml) naming its client suite
(`suite: dualsync.clients.notes`): pytest makes one item per client of that suite, on a database of
the notes tables (see suites/scenarios/README.md, "Scenarios of another app")."""

from dualsync.harness.pytest_plugin import collect_scenario_file


def pytest_collect_file(file_path, parent):
    return collect_scenario_file(file_path, parent)
