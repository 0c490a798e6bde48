"""What the next start removes: directories of runs that are gone, and old unowned ones; never a
directory of a live run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from dualsync.fakes.postgres import embedded
from dualsync.fakes.postgres.embedded import EmbeddedProvider, start_time, sweep_orphans

HOUR_AGO = time.time() - 3600


def leftover(root: Path, name: str, owner: str | None = None, old: bool = True) -> Path:
    workdir = root / name
    (workdir / "data" / "base").mkdir(parents=True)
    if owner is not None:
        (workdir / "owner").write_text(owner)
    if old:
        for path in (workdir / "data" / "base", workdir / "data", *workdir.iterdir(), workdir):
            os.utime(path, (HOUR_AGO, HOUR_AGO))
    return workdir


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_the_directories_of_runs_that_are_gone_are_removed(tmp_path):
    me, gone = os.getpid(), dead_pid()
    dirs = {
        "unowned, old (only data/base left)": (leftover(tmp_path, "dualsync-pg-abc12345"), True),
        "unowned, changed a moment ago": (leftover(tmp_path, "dualsync-pg-def67890", old=False), False),
        "named after a dead process": (leftover(tmp_path, f"dualsync-pg-{gone}-x1"), True),
        "owner file of a dead process": (leftover(tmp_path, "dualsync-pg-old1", owner=str(gone)), True),
        "named after this live process": (leftover(tmp_path, f"dualsync-pg-{me}-x2"), False),
        "owner file of this live process": (leftover(tmp_path, "dualsync-pg-old2", owner=f"{me} {start_time(me)}"),
                                            False),
        "owner file with this pid but another start time (pid reused)":
            (leftover(tmp_path, "dualsync-pg-old3", owner=f"{me} {start_time(me) + 1}"), True),
    }
    swept = sweep_orphans(tmp_path)
    for what, (path, removed) in dirs.items():
        assert (path in swept) == removed and path.exists() != removed, what


def test_an_unowned_directory_a_postgres_still_serves_is_left_alone(tmp_path, monkeypatch):
    workdir = leftover(tmp_path, "dualsync-pg-served")
    monkeypatch.setattr(embedded, "_postmaster", lambda datadir: os.getpid())  # "served by a live postgres"
    assert sweep_orphans(tmp_path) == [] and workdir.exists()


def test_a_live_run_whose_owner_file_is_gone_keeps_its_server():
    mine = EmbeddedProvider()
    mine.start()
    try:
        (mine.workdir / "owner").unlink()
        os.utime(mine.workdir, (HOUR_AGO, HOUR_AGO))
        assert mine.workdir not in sweep_orphans()
        assert mine.alive() and mine.workdir.exists()
    finally:
        mine.stop()
