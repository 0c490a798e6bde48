"""contracts/npm.py says why a Node tier cannot install, so the tier is skipped with that reason
(never counted as passed). No network: the failures are made locally."""

from __future__ import annotations

import pathlib

import pytest

from dualsync.contracts import npm


def test_without_npm_on_the_path_the_reason_names_the_missing_tool(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))            # neither node nor npm here
    with pytest.raises(npm.Unavailable, match=r"Node client tier: node is not installed \(apt-get install nodejs npm\)"):
        npm.install_project("Node client tier", tmp_path, "x", cache=tmp_path / "cache")


def test_a_project_without_its_lockfile_is_refused_with_the_command_that_makes_one(tmp_path):
    (tmp_path / "package.json").write_text("{}")
    with pytest.raises(npm.Unavailable, match="package-lock.json is missing"):
        npm.install_project("Node client tier", tmp_path, "x", cache=tmp_path / "cache")


def test_a_failing_npm_ci_is_reported_with_its_stderr(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, body in (("node", "exit 0"), ("npm", "echo 'npm ERR! network unreachable' >&2; exit 1")):
        script = bin_dir / tool
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text("{}")
    (project / "package-lock.json").write_text("{}")
    with pytest.raises(npm.Unavailable, match="`npm ci --ignore-scripts --no-audit --no-fund` failed: npm ERR! network unreachable"):
        npm.install_project("Node client tier", project, "x", cache=tmp_path / "cache")


def test_require_project_skips_with_the_reason(tmp_path):
    with pytest.raises(pytest.skip.Exception, match="package-lock.json is missing"):
        npm.require_project("Node client tier", pathlib.Path(tmp_path), "x", cache=tmp_path / "cache")
