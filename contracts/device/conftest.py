"""Which adapters the conformance suite checks.

    --adapter="COMMAND"   (repeatable; env DUALSYNC_ADAPTERS, separated by `;`)

Without either, the Python adapter serving `legacy` and `coordinated`. A command is split like a
shell would split it; a leading `python` is this interpreter.
"""

from __future__ import annotations

import os

import pytest

DEFAULT = ["python -m dualsync.clients.adapter legacy", "python -m dualsync.clients.adapter coordinated"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("dualsync-device").addoption(
        "--adapter", action="append", default=[], metavar="COMMAND",
        help="an adapter command for the device conformance suite (repeatable)")


def adapters(config: pytest.Config) -> list[str]:
    given = list(config.getoption("--adapter", default=[]) or [])
    env = [c.strip() for c in os.environ.get("DUALSYNC_ADAPTERS", "").split(";") if c.strip()]
    return given or env or DEFAULT


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "adapter" in metafunc.fixturenames:
        commands = adapters(metafunc.config)
        metafunc.parametrize("adapter", commands, ids=[c.split()[-1] for c in commands])
