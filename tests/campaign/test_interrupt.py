"""Ctrl-C (SIGINT to the campaign) or a killed worker: the findings so far are kept and the
report is written."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import psutil

from tests.campaign.conftest import FAST, ROOT, command


def _start(tmp_path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(command("--client", "legacy", "--budget", "10m", "--db",
                                    str(tmp_path / "db"), "--out", str(tmp_path / "out"), *FAST, *extra),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(predicate, seconds: float, proc: subprocess.Popen) -> None:
    until = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, f"the campaign ended early: {proc.communicate()[1][-2000:]}"
        assert time.monotonic() < until, "timed out"
        time.sleep(0.5)


def test_sigint_keeps_the_findings_so_far_and_writes_the_report(tmp_path):
    proc = _start(tmp_path)
    try:
        # Wait for the first finding (legacy: a few examples), then interrupt: mid-shrink or
        # mid-run, whatever the campaign is doing by then.
        _wait_for(lambda: list((tmp_path / "out" / "findings").glob("*.yaml")), 300, proc)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted (SIGINT)" in err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["interrupted"] == "interrupted (SIGINT)"
    assert report["examples"] > 0 and report["findings"]
    for f in report["findings"]:
        assert (tmp_path / "out" / f["file"]).is_file()
    assert (tmp_path / "out" / "junit.xml").is_file()
    assert "interrupted (SIGINT)" in (tmp_path / "out" / "report.html").read_text()
    assert not [p for p in psutil.pids() if _is_worker_of(p, proc.pid)]


def _is_worker_of(pid: int, parent: int) -> bool:
    try:
        return psutil.Process(pid).ppid() == parent
    except psutil.Error:
        return False


def test_a_killed_worker_is_reported_and_the_others_go_on(tmp_path):
    proc = _start(tmp_path, "--workers", "2", "--budget", "40s")
    try:
        _wait_for(lambda: len(list((tmp_path / "out" / "workers").glob("*.log"))) == 2
                  and all(p.stat().st_size for p in (tmp_path / "out" / "workers").glob("*.log")),
                  120, proc)
        workers = [c for c in psutil.Process(proc.pid).children()
                   if "campaign" in " ".join(c.cmdline()) or "multiprocessing" in " ".join(c.cmdline())]
        workers = [c for c in workers if "resource_tracker" not in " ".join(c.cmdline())]
        assert len(workers) == 2, [c.cmdline() for c in workers]
        time.sleep(5)
        workers[0].kill()
        _out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    died = [w for w in report["worker_stats"] if w["died"]]
    assert len(died) == 1 and died[0]["died"] == "signal 9", report["worker_stats"]
    alive = [w for w in report["worker_stats"] if not w["died"]][0]
    assert alive["examples"] > 0
    assert "died (signal 9)" in err
    lost = [r for r in report["runs"] if r["outcome"] == "lost"]
    assert all(r["kind"] == "lost" and r["worker"] == died[0]["worker"] for r in lost)
    assert proc.returncode == 1  # a lost run is not a clean campaign
