"""Stops: SIGTERM or SIGINT on the main job, a pytest run (with xdist) or a standalone server ends
it with every server it started stopped and its data removed; an interrupted pytest run says so
in its last line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from dualsync.fakes.postgres.embedded import PREFIX, scratch_root

REPO = Path(__file__).resolve().parents[2]
PY = [sys.executable]


def default_signals():
    # A job started with `&` by a non-interactive shell inherits SIGINT ignored: undo that here.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args: list[str], cwd: Path, tmp_path: Path) -> subprocess.Popen:
    """Started in a session of its own, as a shell starts a job: a signal to its process group
    reaches it and its children, as Ctrl-C in a terminal or coreutils `timeout` do."""
    out = open(tmp_path / "out.txt", "w")
    return subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=default_signals, start_new_session=True, text=True)


def output(tmp_path: Path) -> str:
    return (tmp_path / "out.txt").read_text()


def wait_for(predicate, what: str, timeout: float = 180.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def workdir_of(pid: int, serving: bool = True) -> Path | None:
    """The server directory process `pid` made; with `serving`, once its postmaster is up."""
    for path in scratch_root().glob(f"{PREFIX}{pid}-*"):
        if not serving or (path / "data" / "postmaster.pid").exists():
            return path
    return None


def processes_using(workdir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(str(workdir) in part for part in proc.info["cmdline"] or ()) and proc.status() != "zombie":
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


def stop_and_check(proc: subprocess.Popen, sig: int, workdir: Path, tmp_path: Path, group: bool = False) -> str:
    if group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    text = output(tmp_path)
    assert not workdir.exists(), text
    assert processes_using(workdir) == [], text
    assert "Traceback" not in text, text
    return text


@pytest.mark.parametrize("sig,group", [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
                         ids=["SIGTERM", "SIGINT", "SIGTERM-to-the-group"])
def test_the_main_job_stops_its_server(sig, group, tmp_path):
    proc = start(PY + ["-m", "dualsync.harness", "main"], REPO, tmp_path)
    workdir = wait_for(lambda: workdir_of(proc.pid), "the main job's server")
    time.sleep(0.5)
    text = stop_and_check(proc, sig, workdir, tmp_path, group)
    assert proc.returncode == 128 + sig
    assert text.strip().splitlines()[-1] == (f"interrupted by {signal.Signals(sig).name}: the servers this run "
                                             "started are stopped and their data removed")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_standalone_gateway_stops_its_server(sig, tmp_path):
    proc = start(PY + ["-m", "dualsync.fakes.supabase", "--port", "0"], REPO, tmp_path)
    wait_for(lambda: "API URL" in output(tmp_path), "the gateway to serve")
    workdir = workdir_of(proc.pid)
    assert workdir is not None
    stop_and_check(proc, sig, workdir, tmp_path)
    assert proc.returncode == 0


def test_the_standalone_gateway_stopped_while_its_server_starts(tmp_path):
    proc = start(PY + ["-m", "dualsync.fakes.supabase", "--port", "0"], REPO, tmp_path)
    workdir = wait_for(lambda: workdir_of(proc.pid, serving=False), "initdb to begin")
    text = stop_and_check(proc, signal.SIGTERM, workdir, tmp_path)
    assert proc.returncode == 128 + signal.SIGTERM, text
    assert "interrupted by SIGTERM" in text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_standalone_cloudkit_fake_stops_cleanly(sig, tmp_path):
    proc = start(PY + ["-m", "dualsync.fakes.cloudkit"], REPO, tmp_path)
    wait_for(lambda: "baseURL" in output(tmp_path), "the CloudKit fake to serve")
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in output(tmp_path)


SLOW_TESTS = """
import os, time, pytest
@pytest.mark.parametrize("n", range(200))
def test_slow(n, pg):
    open(os.path.join(os.path.dirname(__file__), "started"), "w").close()
    time.sleep(0.2)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_pytest_run_with_xdist_says_so_and_leaves_nothing(sig, tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text('pytest_plugins = ["dualsync.fakes.postgres.pytest_plugin"]\n')
    (suite / "test_slow.py").write_text(SLOW_TESTS)
    proc = start(PY + ["-m", "pytest", "-n", "2", "-p", "xdist", "-p", "no:cacheprovider", "-q", str(suite)],
                 suite, tmp_path)
    wait_for(lambda: (suite / "started").exists(), "the first test to run")
    workdir = workdir_of(proc.pid)
    assert workdir is not None
    text = stop_and_check(proc, sig, workdir, tmp_path, group=True)  # workers get it too, as from a terminal
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
    last = text.strip().splitlines()[-1]
    assert f"interrupted by {signal.Signals(sig).name} after " in last and "passed" not in last.split("after")[0]
    assert "the run did not finish" in last and "Postgres server it started is stopped" in last


def test_a_run_stopped_by_collection_errors_is_not_called_interrupted(pytester):
    pytester.makeconftest('pytest_plugins = ["dualsync.fakes.postgres.pytest_plugin"]')
    pytester.makepyfile("import no_such_module_anywhere\ndef test_x(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.INTERRUPTED  # pytest's code for "errors during collection"
    assert "interrupted by" not in result.stdout.str() and "the run did not finish" not in result.stdout.str()
