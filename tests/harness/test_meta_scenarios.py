"""Meta-tests: the scenario suite has teeth. Each scenario file names at least one mutant on which
its expected violation happens (the item then passes; that the same files pass on `coordinated`
is what `pytest suites/scenarios` checks by default); a scenario
whose expected verdict cannot be reached is reported as such. Run with pytester against this
worker's Postgres (passed as a URL, so no second server starts)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from dualsync.harness.scenario import load

SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def by_mutant() -> dict[str, list[Path]]:
    """mutant -> the scenario files that expect it to be caught (each file's first mutant)."""
    out = defaultdict(list)
    for f in FILES:
        s = load(f)
        sweep_mutants = [c for c in (s.sweep or {}).get("expect", {}) if c.startswith("mutant:")]
        mutants = [c for c in s.expect if c.startswith("mutant:")] + sweep_mutants
        out[mutants[0] if mutants else "NONE"].append(f)
    return dict(out)


def run_items(pytester, pg_server, client: str, files: list[Path], *extra: str):
    for f in files:
        pytester.makefile(".yaml", **{f.stem: f.read_text()})
    pytester.makeconftest("from suites.scenarios.conftest import pytest_collect_file\n")
    return pytester.runpytest_inprocess(
        "-p", "dualsync.harness.pytest_plugin", "-p", "dualsync.fakes.postgres.pytest_plugin",
        f"--postgres={pg_server.admin.dsn()}", f"--client={client}", "-p", "no:cacheprovider",
        "-q", *extra)


def test_every_scenario_names_a_mutant_it_catches():
    assert "NONE" not in by_mutant(), f"scenarios that no mutant fails: {by_mutant().get('NONE')}"


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(set(by_mutant()) - {"NONE"}))
def test_each_scenario_fails_on_its_mutant(pytester, pg_server, mutant):
    files = by_mutant()[mutant]
    result = run_items(pytester, pg_server, mutant, files)
    # An item passes on a mutant only when the violations its file expects of it happened; a
    # sweep item passes when some fault point made them happen.
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0 and outcomes.get("passed", 0) >= len(files), result.stdout.str()


def test_an_expectation_that_cannot_be_reached_is_reported(pytester, pg_server):
    pytester.makefile(".yaml", impossible="""\
id: impossible
guards: [no-lost-write]
devices:
  A: {user: alice}
steps:
  - sign_in: A
  - write: {device: A, type: profiles, id: 0f000000-0000-4000-8000-000000000001, fields: {goal: gain}}
expect:
  coordinated: [no-lost-write]
""")
    pytester.makeconftest("from suites.scenarios.conftest import pytest_collect_file\n")
    result = pytester.runpytest_inprocess(
        "-p", "dualsync.harness.pytest_plugin", "-p", "dualsync.fakes.postgres.pytest_plugin",
        f"--postgres={pg_server.admin.dsn()}", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cannot catch what it claims*"])


def test_a_malformed_scenario_fails_collection_with_file_line_and_fix(pytester, pg_server):
    pytester.makefile(".yaml", broken="id: x\nguards: [no-lost-write]\ndevices: {A: {user: a}}\n"
                                      "steps:\n  - write: {device: Z, type: profiles, id: p, fields: {}}\n")
    pytester.makeconftest("from suites.scenarios.conftest import pytest_collect_file\n")
    result = pytester.runpytest_inprocess(
        "-p", "dualsync.harness.pytest_plugin", "-p", "dualsync.fakes.postgres.pytest_plugin",
        f"--postgres={pg_server.admin.dsn()}", "-p", "no:cacheprovider", "-q")
    result.stdout.fnmatch_lines(["*broken.yaml:5:*: steps.0.write.device: no device 'Z'*"])


def test_an_unknown_client_is_a_usage_error_with_the_choices(pytester, pg_server):
    result = pytester.runpytest_inprocess("-p", "dualsync.harness.pytest_plugin", "--client=nope", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--client=nope is not a known client; choose one of: legacy, coordinated*"])
