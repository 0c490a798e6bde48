"""Which adapters the conformance suite checks.

    --adapter="COMMAND"   (repeatable; env DUALSYNC_ADAPTERS, separated by `;`)

Without either: the Python adapter serving `legacy` and `coordinated`, and the Node client
(`examples/node-sync`, `legacy` and `fixed`), which is skipped with the reason when node or its npm
packages (the node tier's cache, `.cache/node-sync`) are missing. A command is split like a shell
would split it; a leading `python` is this interpreter.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ["python -m dualsync.clients.adapter legacy", "python -m dualsync.clients.adapter coordinated"]
NODE = ["node examples/node-sync/adapter.js legacy", "node examples/node-sync/adapter.js fixed"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("dualsync-device").addoption(
        "--adapter", action="append", default=[], metavar="COMMAND",
        help="an adapter command for the device conformance suite (repeatable)")


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    packages = [ROOT / "examples/node-sync/node_modules", ROOT / ".cache/node-sync/node_modules"]
    if not any((p / "@supabase").is_dir() for p in packages):
        return ("the Node client's npm packages are not installed: run the node tier "
                "(./dualsync test tests/node) or `npm ci --ignore-scripts` in .cache/node-sync")
    return None


def adapters(config: pytest.Config) -> list:
    given = list(config.getoption("--adapter", default=[]) or [])
    env = [c.strip() for c in os.environ.get("DUALSYNC_ADAPTERS", "").split(";") if c.strip()]
    if given or env:
        return [pytest.param(c, id=c.split()[-1]) for c in given or env]
    why = _node_missing()
    node = [pytest.param(c, id=f"node-{c.split()[-1]}", marks=[pytest.mark.node] + (
        [pytest.mark.skip(reason=why)] if why else [])) for c in NODE]
    return [pytest.param(c, id=c.split()[-1]) for c in PYTHON] + node


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "adapter" in metafunc.fixturenames:
        metafunc.parametrize("adapter", adapters(metafunc.config))
