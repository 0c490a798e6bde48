"""Strict scenario loading (issue 14): each mistake that used to load silently, or fail with a
traceback or at the wrong line, is one `file:line:col: field: problem; fix` error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dualsync.harness.scenario import ScenarioError, load, load_all, loads

ROOT = Path(__file__).resolve().parents[2]
BASE = (ROOT / "suites/scenarios/deep-sync-001.yaml").read_text()
SETTLE = "  - settle\n"  # line 23 of the file: edits that replace it put their step there


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new, 1)


CASES = {
    # silent green before: the second `steps:` replaced the first
    "second steps key": (BASE + "steps:\n  - sign_in: A\n", 30, 1, "yaml", "'steps' appears twice (first at line 13)"),
    "sweep device": (BASE + "sweep: {devices: [Z], kinds: [crash]}\n", 30, 19, "sweep.devices.0", "'Z' is not a declared device"),
    "sweep kind": (BASE + "sweep: {devices: [A], kinds: [explode]}\n", 30, 31, "sweep.kinds.0", "'explode' is not a sweep kind"),
    "sweep empty": (BASE + "sweep: {kinds: []}\n", 30, 9, "sweep.kinds", "the sweep would test nothing"),
    "sweep field": (BASE + "sweep: {device: [A]}\n", 30, 9, "sweep.device", "unknown field"),
    "expect client": (edit("  legacy: [no", "  legcy: [no"), 28, 3, "expect.legcy", "unknown client 'legcy'"),
    "known client": (BASE + "known: {legcy: open finding}\n", 30, 16, "known.legcy", "(did you mean legacy?)"),
    "mutant client": (edit("mutant:login-race", "mutant:nope"), 29, 3, "expect.mutant:nope", "unknown client"),
    "non-uuid id": (edit("id: 7f1c0d4e-0000-4000-8000-000000000003", "id: log-one"), 17, 46, "steps.3.write.id",
                    "'log-one' is not a UUID, and daily_logs rows are keyed by uuid"),
    "bad record name": (edit("id: 7f1c0d4e-0000-4000-8000-000000000002", "id: _photo"), 16, 42, "steps.2.write.id",
                        "not a CloudKit record name"),
    "invariant in expect": (edit("legacy: [no-lost-write,", "legacy: [no-lost-writes,"), 28, 12, "expect.legacy.0",
                            "unknown invariant 'no-lost-writes'"),
    "advance: five": (edit(SETTLE, "  - advance: five\n"), 23, 14, "steps.9.advance", "expected int or float, got text 'five'"),
    "advance: -100000": (edit(SETTLE, "  - advance: -100000\n"), 23, 14, "steps.9.advance", "-100000 is out of range"),
    "skew: soon": (edit(SETTLE, "  - skew: soon\n"), 23, 11, "steps.9.skew", "takes a mapping, got text 'soon'"),
    "skew seconds soon": (edit(SETTLE, "  - skew: {device: A, seconds: soon}\n"), 23, 32, "steps.9.skew.seconds",
                          "got text 'soon'"),
    "device skew soon": (edit("A: {user: alice}", "A: {user: alice, skew: soon}"), 11, 26, "devices.A.skew", "got text"),
    "delete_zone: bob": (edit(SETTLE, "  - delete_zone: bob\n"), 23, 18, "steps.9.delete_zone",
                         "no device signs in as user 'bob'"),
    "release: never_held": (edit("  - release: ck_first", "  - release: never_held"), 24, 14, "steps.10.release",
                            "nothing is held as 'never_held'"),
    "wait: x": (edit("  - wait: login", "  - wait: x"), 25, 11, "steps.11.wait", "nothing is started as 'x'"),
    "count: 0": (edit("as: ck_first}", "as: ck_first, count: 0}"), 21, 60, "steps.7.hold.count", "0 is not allowed"),
    "mixed without an item error": (edit(SETTLE, "  - fail: {device: A, status: 503, mixed: true}\n"), 23, 43,
                                    "steps.9.fail.mixed", "give ck_item_error"),
    "yaml syntax": (edit("{device: B, path: supabase}", "{device: B, path: supabase\n  - settle"), 20, 9, "yaml",
                    "expected ',' or '}', but got ':' (while parsing a flow mapping at line 18)"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_mistake_is_one_line_at_its_place(name):
    text, line, col, field, words = CASES[name]
    with pytest.raises(ScenarioError) as err:
        loads(text, "x.yaml")
    message = str(err.value)
    assert message.startswith(f"x.yaml:{line}:{col}: {field}: "), message
    assert words in message and "\n" not in message
    assert re.search(r"; \S", message), f"no fix in {message!r}"  # problem; fix


def test_the_base_file_loads_so_each_case_fails_by_its_edit():
    assert loads(BASE, "x.yaml").id == "DEEP-SYNC-001"


def test_every_shipped_scenario_and_corpus_file_loads():
    files = sorted((ROOT / "suites/scenarios").glob("*.yaml")) + sorted((ROOT / "suites/corpus").glob("*.yaml"))
    assert len(load_all(files)) == len(files) > 20


def test_two_files_with_one_id_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text("\n" + BASE)
    with pytest.raises(ScenarioError, match=rf"^{re.escape(str(tmp_path / 'b.yaml'))}:2:5: id: 'DEEP-SYNC-001' is "
                                            rf"also the id of {re.escape(str(tmp_path / 'a.yaml'))}; "):
        load_all([tmp_path / "a.yaml", tmp_path / "b.yaml"])


@pytest.mark.parametrize("what,problem", [("missing.yaml", "no such file"), (".", "is a directory")])
def test_a_missing_file_or_a_directory_is_one_line(tmp_path, what, problem):
    with pytest.raises(ScenarioError, match=rf": file: {problem}; "):
        load(tmp_path / what)


def test_a_sweep_that_injected_nothing_is_not_green():
    from dualsync.harness.sweep import SweepReport
    scenario = loads(BASE, "x.yaml")
    for want in ("pass", ["no-lost-write"]):
        ok, why = SweepReport(scenario, "coordinated", baseline=None, runs=[]).judgement(want)
        assert not ok and "tested nothing" in why
