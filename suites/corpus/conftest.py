"""Every corpus-*.yaml here is a shrunk failure exploration found: one test each, run against the
client under test, and collected before suites/properties so old failures are replayed first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dualsync.harness.explore import corpus


class CorpusEntry(pytest.File):
    def collect(self):
        yield pytest.Function.from_parent(self, name=self.path.stem, callobj=_replay(self.path))


def _replay(path: Path):
    def replay_entry(pg_database, request):
        try:
            client = request.getfixturevalue("dualsync_client")
        except pytest.FixtureLookupError:
            client = os.environ.get("DUALSYNC_CLIENT", "coordinated")
        ok, outcome, scenario = corpus.replay(path, client, pg_database)
        want = scenario.expected_for(client) or "pass"
        if not ok:
            pytest.fail(f"{scenario.id} against {client}: expected {want}\n{outcome.explain()}\n"
                        f"replay: {corpus.replay_command(path, client)}", pytrace=False)
    return replay_entry


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".yaml" and file_path.name.startswith("corpus-"):
        return CorpusEntry.from_parent(parent, path=file_path)
    return None
