"""The layering contracts (.importlinter) hold, and they fail when a forbidden import is added.

import-linter reads a package tree from disk; the editable install maps the `dualsync` namespace onto
the repo's top-level folders through an import hook it cannot follow, so each test lays the folders
out as `dualsync/<folder>` in a scratch directory (a copy, so a test can add an import to it).
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


def _folders() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(CONFIG)
    return [p.split(".", 1)[1] for p in cfg["importlinter"]["root_packages"].split()]


def _layout(tmp: Path) -> Path:
    for folder in _folders():
        shutil.copytree(ROOT / folder, tmp / "dualsync" / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules"))
    return tmp


def _lint(tree: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(lint), "--config", str(CONFIG), "--no-cache"], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_repo_keeps_its_layers(tmp_path):
    result = _lint(_layout(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "The harness drives clients only through the device port" in result.stdout


@pytest.mark.parametrize("where, line, contract", [
    ("harness/_added.py", "from dualsync.clients import crypto", "through the device port"),
    ("fakes/_added.py", "from dualsync.harness import world", "The fakes import nothing above them"),
    ("clients/_added.py", "from dualsync.fakes.cloudkit import model", "neither the harness nor the fakes"),
    ("apps/_added.py", "import dualsync.clients.api", "they import no other layer"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, where, line, contract):
    tree = _layout(tmp_path)
    (tree / "dualsync" / where).write_text(f"{line}\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and "_added" in broken, result.stdout
