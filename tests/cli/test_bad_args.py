"""Every entry point refuses bad arguments before starting anything: one line, exit 2 (issue 14)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "dualsync"
FILE = ROOT / "suites/scenarios/clock-skew.yaml"


def run(*argv: str, cwd: Path = ROOT, env: dict | None = None, timeout: float = 120):
    started = time.monotonic()
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return done, time.monotonic() - started


def one_line(done) -> str:
    lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


HARNESS = {
    "replay unknown client": (["replay", FILE, "--client=legacyy"], "--client=legacyy is not a known client"),
    "run unknown client": (["run", FILE, "--client=legacyy"], "--client=legacyy is not a known client"),
    "run external client": (["run", FILE, "--client=cmd:./no-such-app"], "cannot start"),
    "replay missing file": (["replay", "nope.yaml"], "nope.yaml: file: no such file"),
    "sweep a directory": (["sweep", "suites"], "suites: file: is a directory"),
    "replay bad inject": (["replay", FILE, "--inject=bogus"], "--inject=bogus: not a sweep label"),
    "replay inject no device": (["replay", FILE, "--inject=crash:Z:after_reply:supabase:0"], "no device 'Z'"),
    "replay inject no point": (["replay", FILE, "--inject=crash:A:mid_air:supabase:0"], "not a fault point"),
    "replay no runs": (["replay", FILE, "--times", "0"], "--times=0"),
    "main bad postgres": (["main", "--postgres=nonsense"], "unknown postgres provider 'nonsense'"),
    "unknown command": (["bogus"], "invalid choice: 'bogus'"),
}


@pytest.mark.parametrize("case", HARNESS)
def test_harness_refuses_before_any_server_starts(case):
    argv, words = HARNESS[case]
    done, _ = run(sys.executable, "-m", "dualsync.harness", *argv)
    assert done.returncode == 2 and words in one_line(done)  # and no "postgres: provider=" line


def test_postgres_from_the_environment_is_checked_too():
    done, _ = run(SCRIPT, "main", env={"DUALSYNC_POSTGRES": "nonsense"})
    assert done.returncode == 2 and "unknown postgres provider 'nonsense'" in one_line(done)


@pytest.mark.parametrize("fake", ["supabase", "cloudkit"])
@pytest.mark.parametrize("port", ["70000", "-1", "abc"])
def test_standalone_fakes_refuse_a_bad_port(fake, port):
    done, _ = run(sys.executable, "-m", f"dualsync.fakes.{fake}", "--port", port)
    assert done.returncode == 2 and "is not a port number" in one_line(done)


@pytest.mark.parametrize("fake", ["supabase", "cloudkit"])
def test_standalone_fakes_refuse_a_busy_port_at_once(fake):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done, took = run(sys.executable, "-m", f"dualsync.fakes.{fake}", "--port", str(port), timeout=60)
    # One line, found before anything started: the old way started Postgres, waited 10 s for the
    # server and ended in "did not start within 10 s" plus a traceback.
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in one_line(done), f"took {took:.1f} s"


def test_script_help_and_unknown_command():
    done, _ = run(SCRIPT, "--help")
    assert done.returncode == 0 and "./dualsync main | test" in done.stdout
    done, _ = run(SCRIPT, "frobnicate")
    assert done.returncode == 2 and "unknown command 'frobnicate'" in one_line(done)


def test_script_keeps_the_callers_directory(tmp_path):
    (tmp_path / "mine.yaml").write_text("id: [unclosed\n")
    done, _ = run(SCRIPT, "py", "-c", "import os; print(os.getcwd())", cwd=tmp_path)
    assert done.stdout.strip() == str(tmp_path)
    done, _ = run(SCRIPT, "py", "-m", "dualsync.harness", "replay", "mine.yaml", cwd=tmp_path)
    assert done.returncode == 2 and one_line(done).startswith("error: mine.yaml:2:1: yaml: ")
