"""Exit codes follow the verdict (issue 14): a run that is not what its file expects exits 1 from
replay, run, sweep and main; the failure text names a replay command that works from a plain
shell; pytest runs scenario files from anywhere, with --client."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "dualsync"
# clock-skew expects coordinated to pass; this copy claims coordinated loses a write, which it
# does not: every command must say NOT as expected and exit 1, never 0.
WRONG = (ROOT / "suites/scenarios/clock-skew.yaml").read_text().replace(
    "id: clock-skew", "id: clock-skew-wrong").replace("coordinated: pass", "coordinated: [no-lost-write]")
SWEEP = ("sweep: {devices: [A], kinds: [lose_reply], from_step: 8, expect: {coordinated: [no-lost-write]}}\n")


@pytest.fixture
def scratch(tmp_path):
    (tmp_path / "wrong.yaml").write_text(WRONG)
    (tmp_path / "sweep.yaml").write_text(WRONG.replace("coordinated: [no-lost-write]", "coordinated: pass") + SWEEP)
    return tmp_path


def plain_env() -> dict:
    """A shell outside the venv: no VIRTUAL_ENV, the venv's bin not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def dualsync(*argv, cwd: Path):
    return subprocess.run([str(SCRIPT), *map(str, argv)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=plain_env())


@pytest.mark.parametrize("argv", [
    ("py", "-m", "dualsync.harness", "replay", "wrong.yaml"),
    ("py", "-m", "dualsync.harness", "run", "wrong.yaml"),
    ("main", "--postgres=embedded", "wrong.yaml"),
    ("py", "-m", "dualsync.harness", "sweep", "sweep.yaml"),
])
def test_not_as_expected_exits_1(scratch, argv):
    done = dualsync(*argv, cwd=scratch)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "NOT as expected" in done.stdout or "the sweep cannot catch it" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_printed_replay_command_works_from_a_plain_shell(scratch):
    done = dualsync("py", "-m", "dualsync.harness", "run", "wrong.yaml", "--client=coordinated", cwd=scratch)
    assert "run saved as: None" not in done.stdout
    command = next(line.split("replay: ", 1)[1] for line in done.stdout.splitlines() if line.startswith("replay: "))
    again = subprocess.run(shlex.split(command), cwd=scratch, capture_output=True, text=True, timeout=300,
                           env=plain_env())
    assert again.returncode == 1 and "NOT as expected" in again.stdout, again.stderr


def test_pytest_runs_a_scenario_file_or_folder_from_anywhere_with_client(scratch):
    (scratch / "sweep.yaml").unlink()
    done = dualsync("test", "-p", "no:cacheprovider", "-q", "wrong.yaml", "--client=coordinated", cwd=scratch)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout + done.stderr
    assert "cannot catch what it claims" in done.stdout and "run saved as: None" not in done.stdout
    (scratch / "wrong.yaml").write_text(WRONG.replace("[no-lost-write]", "pass"))
    done = dualsync("test", "-p", "no:cacheprovider", "-q", ".", "--client=legacy", cwd=scratch)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout + done.stderr


STUCK = """\
id: stuck
guards: [no-lost-write]
devices:
  A: {user: alice}
steps:
  - sign_in: A
  - hold: {device: A, path: cloudkit, match: nothing-matches-this, as: never}
  - release: never
"""


def test_a_step_that_cannot_be_done_is_one_line_not_a_traceback(tmp_path):
    """The file is valid, but its hold matched nothing, so the release has nothing to release."""
    (tmp_path / "stuck.yaml").write_text(STUCK)
    done = dualsync("py", "-m", "dualsync.harness", "run", "stuck.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == ("error: stuck.yaml:8: step 3 (release): nothing is held as never; "
                                            "held now: none")
    done = dualsync("test", "-p", "no:cacheprovider", "-q", "stuck.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout and "During handling" not in done.stdout
    assert f"{tmp_path}/stuck.yaml:8: step 3 (release): nothing is held as never" in done.stdout
