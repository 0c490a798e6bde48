"""The design document lives in the repo, the README points at it, and nothing in the repo points
at paths outside it (a reader of a clone has only the clone)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The folder's name is assembled so that `git grep` for it finds no line, this one included.
DIR = "shar" + "ed"
OUTSIDE = re.compile(rf"(\.\./|/work/){DIR}\b|\b{DIR}/(seed|reference|DESIGN)")


def references_outside(files: dict[str, str]) -> list[str]:
    return [f"{name}:{n}: {line.strip()}" for name, text in files.items()
            for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]


def tracked_text() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for name in names:
        path = REPO / name
        if not path.is_file():
            continue
        try:
            out[name] = path.read_text()
        except UnicodeDecodeError:
            pass
    return out


def test_nothing_points_outside_the_repo():
    assert references_outside(tracked_text()) == []


def test_the_check_catches_what_it_is_for():
    bad = {"README.md": f"see `../{DIR}/DESIGN.md`", "clients/README.md": f"case study in `{DIR}/seed/`",
           "fakes/cloudkit/README.md": f"sources: `{DIR}/reference/cloudkit.md`", "ok.md": f"a {DIR}/ folder"}
    assert [hit.split(":")[0] for hit in references_outside(bad)] == ["README.md", "clients/README.md",
                                                                      "fakes/cloudkit/README.md"]


def test_the_readme_architecture_points_at_the_design_document():
    design = REPO / "docs" / "DESIGN.md"
    assert design.is_file() and design.read_text().startswith("# dualsync: design")
    readme = (REPO / "README.md").read_text()
    architecture = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    assert "(docs/DESIGN.md)" in architecture
