"""Every *.yaml here is a scenario: pytest collects one test per file (plus its sweep)."""

from dualsync.harness.pytest_plugin import collect_scenario_file


def pytest_collect_file(file_path, parent):
    return collect_scenario_file(file_path, parent)
