"""The installed layout: every package folder of the repo is listed under the `dualsync` namespace."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _configured() -> tuple[set[str], dict[str, str]]:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(cfg["packages"]), cfg["package-dir"]


def _on_disk(mapping: dict[str, str]) -> set[str]:
    """Every folder under a mapped top-level folder that holds Python or data files."""
    found = set()
    for name, folder in mapping.items():
        base = ROOT / folder
        for d in [base, *(p for p in base.rglob("*") if p.is_dir())]:
            if "__pycache__" in d.parts or not any(f.is_file() for f in d.iterdir()):
                continue
            rel = d.relative_to(base).parts
            found.add(".".join((name, *rel)))
    return found


def test_every_package_folder_is_installed():
    listed, mapping = _configured()
    missing = sorted(_on_disk(mapping) - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_listed_package_exists():
    listed, mapping = _configured()
    stale = sorted(listed - _on_disk(mapping))
    assert not stale, f"listed in pyproject.toml but no such folder: {stale}"
