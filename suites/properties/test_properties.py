"""The multi-device property suite: the hypothesis SyncMachine against the client under test.

    DUALSYNC_PROFILE=pr (default) | nightly | stress     the tier (harness/explore/profiles.py)
    --client=NAME / DUALSYNC_CLIENT                     the client (coordinated by default)

A failure is shrunk, saved under suites/corpus/ as a scenario file (replayed first on every later
run) and reported with the program and the command that replays it. The `pr` tier is derandomized:
the same examples on every run, so a PR never fails by luck.
"""

from __future__ import annotations

import os

import pytest

from dualsync.harness.explore import corpus
from dualsync.harness.explore.profiles import PROFILES, explore

CLIENT_ENV, PROFILE_ENV = "DUALSYNC_CLIENT", "DUALSYNC_PROFILE"


@pytest.fixture(scope="module")
def client_under_test(request) -> str:
    """The harness plugin's --client when it is loaded; else the environment; else coordinated."""
    try:
        return request.getfixturevalue("dualsync_client")
    except pytest.FixtureLookupError:
        return os.environ.get(CLIENT_ENV, "coordinated")


@pytest.fixture(scope="module")
def profile() -> str:
    name = os.environ.get(PROFILE_ENV, "pr")
    if name not in PROFILES:
        raise pytest.UsageError(f"{PROFILE_ENV}={name} is not a profile; use {', '.join(PROFILES)}")
    return name


def test_no_loss_under_exploration(pg_database, client_under_test, profile):
    result = explore(client_under_test, pg_database, profile)
    if result.failure is None and result.error is not None:
        raise result.error  # the machine itself broke, not an invariant: show its traceback
    if result.failure is not None:
        saved = corpus.save(result.failure, found_by=f"properties-{profile}")
        pytest.fail(f"{result.failure.explanation}\n\nshrunk program saved as {saved}\n"
                    f"replay: {corpus.replay_command(saved, client_under_test)}\n"
                    f"{result.error}", pytrace=False)
    assert result.examples >= PROFILES[profile].max_examples, "the machine ran fewer examples than asked"
