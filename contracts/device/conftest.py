"""Which adapters the conformance suite checks.

    --adapter="COMMAND"   (repeatable; env DUALSYNC_ADAPTERS, separated by `;`)

Without either: the Python adapter serving `legacy` and `coordinated`, and the Node client
(`examples/node-sync`, `legacy` and `fixed`), whose npm packages are installed at test time into the
node tier's cache (`.cache/node-sync`, from the committed lockfile); skipped with the reason when
node is missing or npm cannot install them. A command is split like a shell
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
    return "node is not on PATH" if shutil.which("node") is None else None


@pytest.fixture(autouse=True)
def _node_packages(request: pytest.FixtureRequest) -> None:
    """A Node adapter's npm packages, installed (once, under a lock) before its first test."""
    adapter = getattr(request.node, "callspec", None) and request.node.callspec.params.get("adapter")
    if isinstance(adapter, str) and adapter.startswith("node examples/node-sync/"):
        from dualsync.contracts.npm import require_project
        require_project("device conformance (Node client)", ROOT / "examples" / "node-sync", "node-sync")


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
