"""Install an npm project or package at test time into a cache (never committed), or say why not.

Used by the tiers that run JavaScript against the fakes: the CloudKit JS contract
(contracts/cloudkit/test_cloudkit_js.py, one pinned package) and the Node client
(examples/node-sync, a project with a committed package-lock.json, installed with `npm ci`).
Everything is installed with --ignore-scripts. A tier that cannot install is skipped with the
reason (`require_*` call pytest.skip), never counted as passed.
"""

from __future__ import annotations

import fcntl
import filecmp
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the checkout's .cache; an installed wheel caches in the current directory, never in site-packages
CACHE = (ROOT if (ROOT / "pyproject.toml").is_file() else pathlib.Path.cwd()) / ".cache"
TIMEOUT_S = 240
NPM_FLAGS = ["--ignore-scripts", "--no-audit", "--no-fund"]


class Unavailable(Exception):
    """npm could not provide the packages; the message says why and what to do."""


def _tools(tier: str) -> None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise Unavailable(f"{tier}: {tool} is not installed (apt-get install nodejs npm)")


def _run(tier: str, cmd: list[str], cwd: pathlib.Path | None = None) -> None:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{tier}: `{' '.join(cmd)}` took over {TIMEOUT_S} s (is the npm registry reachable?)") from None
    if done.returncode != 0:
        raise Unavailable(f"{tier}: `{' '.join(cmd)}` failed: {done.stderr.strip()[-300:]}")


def install_package(tier: str, spec: str, name: str, probe: str, cache: pathlib.Path | None = None) -> pathlib.Path:
    """`npm install <spec>` into .cache/<name> unless `probe` (a path inside node_modules) exists;
    returns node_modules. One install at a time across xdist workers."""
    _tools(tier)
    cache = cache or CACHE / name
    modules = cache / "node_modules"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / probe).exists():
            _run(tier, ["npm", "install", *NPM_FLAGS, "--no-save", "--prefix", str(cache), spec])
    return modules


def install_project(tier: str, project: pathlib.Path, name: str, cache: pathlib.Path | None = None) -> pathlib.Path:
    """`npm ci` of `project`'s package.json and package-lock.json in .cache/<name> (again only when
    the lockfile changed); returns that node_modules, for NODE_PATH."""
    _tools(tier)
    lockfile = project / "package-lock.json"
    if not lockfile.exists():
        raise Unavailable(f"{tier}: {lockfile} is missing; run `npm install --package-lock-only` in {project}")
    cache = cache or CACHE / name
    cache.mkdir(parents=True, exist_ok=True)
    installed = cache / "node_modules" / ".package-lock.json"
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = (cache / "package-lock.json").exists() and filecmp.cmp(lockfile, cache / "package-lock.json", shallow=False)
        if not (current and installed.exists()):
            shutil.copy(project / "package.json", cache / "package.json")
            shutil.copy(lockfile, cache / "package-lock.json")
            _run(tier, ["npm", "ci", *NPM_FLAGS], cwd=cache)
    return cache / "node_modules"


def require_package(*args, **kwargs) -> pathlib.Path:
    """install_package, or pytest.skip with the reason."""
    import pytest

    try:
        return install_package(*args, **kwargs)
    except Unavailable as exc:
        pytest.skip(str(exc))


def require_project(*args, **kwargs) -> pathlib.Path:
    """install_project, or pytest.skip with the reason."""
    import pytest

    try:
        return install_project(*args, **kwargs)
    except Unavailable as exc:
        pytest.skip(str(exc))
