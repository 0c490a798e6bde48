"""The `dualsync` console script's dispatch: each command reaches its module; bad input is one line, exit 2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from dualsync.harness import cli


def script(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dualsync.harness.cli", *argv], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("argv,says", [
    ([], "which command? choose one of: main, run, replay, sweep, kill-matrix, campaign, serve, test"),
    (["mian"], "unknown command 'mian'"),
    (["serve"], "serve: which fake? got nothing; choose one of: supabase, cloudkit"),
    (["serve", "postgres"], "serve: which fake? got 'postgres'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, says):
    done = script(*argv)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr, done.stderr


def test_help_lists_every_command():
    done = script("--help")
    assert done.returncode == 0
    for command in cli.COMMANDS:
        assert f"dualsync {command}" in done.stdout


def test_commands_reach_their_modules():
    assert script("serve", "cloudkit", "--help").stdout.startswith("usage: python -m dualsync.fakes.cloudkit")
    assert "--junitxml" in script("main", "--help").stdout
    assert "--junitxml" in script("kill-matrix", "--help").stdout
    done = script("replay", "no-such.yaml")
    assert done.returncode == 2 and "no-such.yaml" in done.stderr


def test_campaign_dispatches_when_installed_and_says_so_when_not(monkeypatch, capsys):
    if importlib.util.find_spec("dualsync.harness.campaign") is not None:
        done = script("campaign", "--budget", "forever")
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "dualsync.harness.campaign" else real(name, *a))
    assert cli.main(["campaign", "--budget", "10m"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dualsync: campaign: this installation has no campaign runner") and "\n" not in err


def test_test_with_no_arguments_runs_the_shipped_suites_as_dualsync_modules(monkeypatch):
    seen = []
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: seen.append(argv))
    cli.main(["test"])
    cli.main(["test", "-q", "tests/x.py"])
    first, second = seen
    assert first[1:5] == ["-m", "pytest", "-n", "2"] and "consider_namespace_packages=true" in first
    assert [p.rsplit("/", 1)[-1] for p in first[-2:]] == ["contracts", "suites"]
    assert second[1:] == ["-m", "pytest", "-q", "tests/x.py"]
