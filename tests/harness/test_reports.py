"""--json / --junitxml on main, run, replay and kill-matrix; the main job's terminal view."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dualsync.harness import mainview, reporting

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "suites" / "scenarios"


def harness(*args: str, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dualsync.harness.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def junit(path: Path) -> dict[str, str]:
    """testcase name -> outcome as a CI report tool reads it."""
    suite = ET.parse(path).getroot().find("testsuite")
    return {tc.get("name"): next((c.tag for c in tc if c.tag in ("failure", "error", "skipped")), "passed")
            for tc in suite.iter("testcase")}


@pytest.fixture
def wrong_claim(tmp_path) -> Path:
    """DEEP-SYNC-001 claiming legacy passes: the one run that is NOT as expected."""
    text = (SCENARIOS / "deep-sync-001.yaml").read_text()
    bad = tmp_path / "wrong-claim.yaml"
    bad.write_text(text.replace("id: DEEP-SYNC-001", "id: wrong-claim")
                   .replace("  legacy: [no-lost-write, monotonic-read-your-writes]", "  legacy: pass"))
    return bad


def test_main_writes_json_and_junit_and_prints_within_100_columns(tmp_path, wrong_claim):
    ok = SCENARIOS / "clock-skew.yaml"
    done = harness("main", str(ok), str(wrong_claim), "--json", "out/main.json", "--junitxml", "out/main.xml",
                   cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.rstrip().splitlines()
    assert max(map(len, lines)) <= 100, max(lines, key=len)
    rows = [line for line in lines if line.lstrip().startswith(("1/4", "2/4", "3/4", "4/4"))]
    assert [r.split()[0] for r in rows] == ["1/4", "2/4", "3/4", "4/4"]  # one row per finished run
    assert "not as expected:" in done.stdout and "wrong-claim against legacy" in done.stdout
    assert lines[-1] == "3 of 4 runs as the scenario files expect; 1 NOT as expected (see the diagrams)"

    doc = json.loads((tmp_path / "out" / "main.json").read_text())
    assert (doc["command"], doc["exit_status"], doc["summary"]) == ("main", 1, lines[-1])
    assert doc["counts"] == {"passed": 3, "failed": 1, "known": 0, "error": 0}
    failed = next(c for c in doc["cases"] if c["outcome"] == "failed")
    assert failed["fields"]["replay"].endswith("wrong-claim.yaml --client=legacy")
    assert len(failed["details"]) > len(failed["message"]) > 20  # the full text is in the report
    outcomes = junit(tmp_path / "out" / "main.xml")
    assert outcomes["wrong-claim[legacy]"] == "failure"
    assert sorted(outcomes.values()) == ["failure", "passed", "passed", "passed"]


def test_run_and_replay_write_reports(tmp_path, wrong_claim):
    done = harness("run", str(wrong_claim), "--client=legacy", "--junitxml", "run.xml", "--json", "run.json",
                   cwd=tmp_path)
    assert done.returncode == 1
    assert junit(tmp_path / "run.xml") == {"wrong-claim[legacy]": "failure"}
    done = harness("replay", str(SCENARIOS / "clock-skew.yaml"), "--times", "2", "--json", "replay.json",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "replay.json").read_text())
    assert doc["cases"][0]["outcome"] == "passed" and "2 of 2 times" in doc["summary"]


def test_kill_matrix_writes_reports(tmp_path):
    """One mutant its corpus entry kills at once (coordinated would run the whole tier: minutes)."""
    done = harness("kill-matrix", "mutant:blind-upsert", "--json", "km.json", "--junitxml", "km.xml",
                   cwd=tmp_path, timeout=600)
    doc = json.loads((tmp_path / "km.json").read_text())
    assert (doc["exit_status"], done.returncode) == (0, 0), done.stdout + done.stderr
    assert doc["summary"].endswith("killed by the predicted invariant 1/1")
    [case] = doc["cases"]
    assert (case["name"], case["outcome"], case["fields"]["killed"]) == ("mutant:blind-upsert", "passed", True)
    assert junit(tmp_path / "km.xml") == {"mutant:blind-upsert": "passed"}


@pytest.mark.parametrize("args", [["main", "--json", "."], ["kill-matrix", "--junitxml", "a-file/y.xml"],
                                  ["replay", "x.yaml", "--junitxml", "a-file/y.xml"], ["run", "--json"],
                                  ["kill-matrix", "--junitxml"]])
def test_an_unwritable_report_path_is_one_line_and_exit_2_before_any_run(tmp_path, args):
    (tmp_path / "a-file").write_text("")
    done = harness(*args, cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--json" in done.stderr or "--junitxml" in done.stderr
    assert "postgres:" not in done.stderr  # nothing started


def test_the_invariants_column_shortens_to_numbers_and_a_long_id_is_cut():
    assert mainview.caught(["2:no-lost-write", "4:no-skipped-row"], 40) == "2:no-lost-write, 4:no-skipped-row"
    assert mainview.caught(["2:no-lost-write", "4:no-skipped-row", "5:monotonic-read-your-writes"], 30) \
        == "2:no-lost-write, 4, 5"
    assert mainview.fit("x" * 40, 32) == "x" * 31 + "…"


def test_a_case_outcome_must_be_one_the_writers_know():
    with pytest.raises(ValueError):
        reporting.Case(name="x", group="y", outcome="xfail")


def test_a_long_replay_command_wraps_into_lines_a_shell_still_reads_as_one():
    import shlex
    command = ("/a/long/checkout/dualsync py -m dualsync.harness replay "
               "/tmp/some/deep/directory/with a space/scenario.yaml --client=mutant:blind-upsert")
    command = shlex.join(shlex.split(command.replace("with a space", "'with a space'")))
    wrapped = mainview.wrap_command(command, 60, "    ")
    assert len(wrapped.splitlines()) > 1 and max(map(len, wrapped.splitlines())) <= 60
    echoed = subprocess.run(["bash", "-c", "printf '%s\\n' " + wrapped], capture_output=True, text=True)
    assert echoed.stdout.splitlines() == shlex.split(command)


def _case(group: str, client: str, outcome: str, why: str) -> reporting.Case:
    return reporting.Case(name=f"{group}[{client}]", group=group, outcome=outcome, message=why.splitlines()[0],
                          details=why, fields={"client": client, "violated": "2:no-lost-write",
                                               "replay": f"./dualsync replay {group}.yaml --client={client}",
                                               "diagram": f"reports/harness/{group}-{client}.html"})


@pytest.mark.parametrize("details", [False, True])
def test_the_table_streams_rows_and_shows_details_on_demand(details):
    import io
    out = io.StringIO()
    long_why = "invariant 2 (no-lost-write): " + "the write of B was overwritten by A's stale copy " * 6
    table = mainview.Table(["a-scenario", "b"], ["legacy", "coordinated"], out=out, details=details, total=2)
    table.header()
    table.row(_case("a-scenario", "legacy", "failed", long_why + "\nsecond line"))
    assert "1/2 a-scenario" in out.getvalue()  # printed when the run finished, before the rest
    table.row(_case("b", "coordinated", "passed", "every invariant holds"))
    table.finish("1 of 2 runs as the scenario files expect; 1 NOT as expected (see the diagrams)", "hint")
    text = out.getvalue()
    assert max(map(len, text.splitlines())) <= 100
    assert text.rstrip().splitlines()[-1].startswith("1 of 2 runs")
    assert ("second line" in text) == details  # the full reason only on demand
    assert ("b-coordinated.html" in text) == details  # passing runs' details only on demand
    assert "a-scenario-legacy.html" in text and "--client=legacy" in text
