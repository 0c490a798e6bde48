"""Bad input: one line naming the option and what to write, exit 2, nothing started."""

from __future__ import annotations

import subprocess

import pytest

from dualsync.harness.campaign.__main__ import main
from tests.campaign.conftest import ROOT, command

GOOD = ["--client", "legacy", "--examples", "2"]


@pytest.mark.parametrize("args, says", [
    (["--shard", "3/2"], "--shard 3/2"),
    (["--shard", "0/2"], "--shard 0/2"),
    (["--shard", "one/two"], "--shard 'one/two'"),
    (["--budget", "10 minutes"], "--budget '10 minutes'"),
    (["--budget", "0m"], "more than zero"),
    (["--budget", "-5"], "--budget '-5'"),
    (["--workers", "0"], "--workers 0"),
    (["--workers", "two"], "--workers 'two'"),
    (["--workers", "1000"], "between 1 and 64"),
    (["--profile", "weekly"], "--profile 'weekly'"),
    (["--client", "nope"], "unknown client 'nope'"),
    (["--db", "postgres://x/y"], "unsupported scheme 'postgres'"),
    (["--db", "redis://host:notaport/0"], "--db redis://host:notaport/0"),
    (["--github-db", "no-slash"], "--github-db 'no-slash'"),
    (["--per-seed", "0"], "--per-seed 0"),
    (["--recycle", "-1"], "--recycle '-1'"),
    (["--recycle", "lots"], "--recycle 'lots'"),
    (["--postgres", "mysql://x"], "--postgres"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_each_bad_value_is_one_line_and_exit_2(args, says, capsys, tmp_path):
    rc = main(GOOD + ["--out", str(tmp_path / "out"), "--db", str(tmp_path / "db")] + args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert says in err[0]
    assert not (tmp_path / "out").exists()  # nothing started, nothing written


def test_no_budget_is_bad_input(capsys, tmp_path):
    assert main(["--client", "legacy", "--out", str(tmp_path / "o")]) == 2
    assert "--budget 10m" in capsys.readouterr().err


def test_merge_of_a_directory_without_a_report(capsys, tmp_path):
    assert main(["merge", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no report.json" in err[0]


def test_the_process_prints_no_traceback():
    done = subprocess.run(command("--client", "legacy", "--examples", "1", "--shard", "2/1"),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "python -m dualsync.harness.campaign: --shard 2/1: i must be between 1 and N (N >= 1), "
        "e.g. --shard 1/2"]
