"""The swimlane report draws every lane and marks the events a violation names; the page says
what the scenario is, what its file expects and whether the run did that; labels are whole; steps
are numbered as in the file; each message is listed once; the main job's index links every
diagram."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pytest

from dualsync.harness import checkers as C
from dualsync.harness import report_index, runner, swimlane, swimlane_page
from dualsync.harness.checkers.verdict import Verdict, Violation
from dualsync.harness.scenario import load
from tests.harness.builders import Story


def lost_write_story():
    s = Story().write("B", "B1", "d1", {"steps": 1}).write("A", "A1", "d1", {"steps": 2})
    s.commit("supabase", "A1", "d1")
    s.put("A", "daily_logs", "d1", s.record("B1", {"steps": 1}, "B"), by="cloudkit")
    return s


def test_lanes_are_devices_backends_and_disks():
    assert swimlane.lanes(lost_write_story().h) == ["A", "B", "supabase", "cloudkit", "disk:A", "disk:B"]


def test_the_losing_persist_is_drawn_in_red_and_explained(tmp_path):
    s = lost_write_story()
    verdicts = [C.check_no_lost_unsynced_edit(s.h)]
    assert not verdicts[0].ok
    out = swimlane.write(tmp_path / "r.html", s.h, verdicts, title="T", seed=7, replay="python -m dualsync.harness replay x")
    text = out.read_text()
    assert text.count('class="lane"') == 6
    blamed = re.findall(r'class="event blamed" data-index="(\d+)"', text)
    persist = s.h.persists("A")[-1].index
    assert str(persist) in blamed
    assert "persist by cloudkit: daily_logs/…d1 ← B1" in text and "still marked for upload" in text
    assert "python -m dualsync.harness replay x" in text


def test_a_clean_run_says_so():
    s = Story().write("A", "A1", "d1", {"steps": 1})
    text = swimlane.render(s.h, [C.check_no_lost_unsynced_edit(s.h)], title="ok")
    assert "every invariant holds" in text and "blamed" not in text


SCENARIOS = Path(__file__).resolve().parents[2] / "suites" / "scenarios"


def labels(text: str) -> list[str]:
    """Each event label as drawn: its wrapped lines joined back."""
    return [" ".join(html.unescape(t) for t in re.findall(r"<tspan[^>]*>(.*?)</tspan>", body))
            for body in re.findall(r'<text class="event[^"]*"[^>]*>.*?</title>(.*?)</text>', text)]


def test_a_long_label_is_drawn_whole_on_wrapped_lines():
    s = lost_write_story()
    long_id = "7f1c0d4e-0000-4000-8000-000000000001"
    s.write("A", "A-0001.000007", long_id, {"steps": 3})
    text = swimlane.render(s.h, [], title="T")
    drawn = labels(text)
    whole = f"write A-0001.000007 daily_logs/{long_id}"
    assert whole.replace(" ", "") in [d.replace(" ", "") for d in drawn]  # (wrapped inside the UUID)
    assert all(len(line) <= swimlane.LABEL_CHARS
               for line in re.findall(r"<tspan[^>]*>(.*?)</tspan>", text))


@pytest.fixture(scope="module")
def deep_sync_001(pg_database, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    scenario = load(SCENARIOS / "deep-sync-001.yaml")
    return scenario, reports, {c: runner.run(scenario, c, pg_database, reports=reports)
                               for c in ("legacy", "coordinated")}


def test_the_page_says_what_the_scenario_is_and_that_the_run_went_as_expected(deep_sync_001):
    scenario, _reports, runs = deep_sync_001
    legacy = runs["legacy"].report.read_text()
    assert html.escape(scenario.title) in legacy and html.escape(scenario.notes.strip()[:60]) in legacy
    assert ('class="expectation pass"' in legacy and swimlane_page.GREEN in legacy
            and "As expected: legacy violates no-lost-write, monotonic-read-your-writes" in legacy)
    coordinated = runs["coordinated"].report.read_text()
    assert 'class="expectation pass"' in coordinated
    assert '<p class="holds">every invariant holds</p>' in coordinated and 'class="violations"' not in coordinated


def test_a_run_that_differs_from_its_file_is_red(deep_sync_001, tmp_path):
    scenario, _reports, runs = deep_sync_001
    wrong = dataclasses.replace(runs["legacy"], scenario=dataclasses.replace(scenario, expect={"legacy": "pass"}))
    text = runner.write_report(wrong, tmp_path).read_text()
    assert 'class="expectation unexpected"' in text and "NOT as expected" in text
    assert f"color:{swimlane.RED}" in text.split("<svg")[0]


def test_steps_are_numbered_and_named_as_in_the_file(deep_sync_001):
    scenario, _reports, runs = deep_sync_001
    text = runs["legacy"].report.read_text()
    rules = [html.unescape(r) for r in re.findall(r'<text class="rule"[^>]*>(.*?)</text>', text)]
    numbered = [r for r in rules if r.startswith("step ")]
    assert [r.split(":")[0] for r in numbered] == [f"step {n}" for n in range(1, len(scenario.steps) + 1)]
    assert "step 8: hold A (path cloudkit, as ck_first)" in numbered  # a step that records nothing
    assert "step 9: login_sync A (wait false, as login)" in numbered and "step 10: settle" in numbered
    assert any(r.startswith("quiescence") for r in rules)
    # the explanation names the step that started A's login sync: step 9 of the file, not 10 (settle)
    assert "sync from step 9 (A login_sync)" in text


def test_the_decisive_persist_is_drawn_whole(deep_sync_001):
    _scenario, _reports, runs = deep_sync_001
    drawn = labels(runs["legacy"].report.read_text())
    assert "persist by cloudkit: photos/…0002 ← B-0001.000002, profiles/…0001 ← gone" in drawn


def test_a_message_repeated_by_a_checker_is_listed_once():
    s = lost_write_story()
    twice = Verdict("no-lost-write", (Violation("no-lost-write", "write X is lost"),
                                      Violation("no-lost-write", "write X is lost")), 2)
    text = swimlane.render(s.h, [twice], title="T")
    assert text.count("write X is lost") == 1 and "write X is lost (2 times)" in text


def test_the_index_links_every_diagram(deep_sync_001, tmp_path):
    _scenario, reports, runs = deep_sync_001
    index = report_index.write(reports, runs.values())
    text = index.read_text()
    links = re.findall(r'<a href="([^"]+)">DEEP-SYNC-001</a>', text)
    assert sorted(links) == sorted(r.report.name for r in runs.values())
    assert all((index.parent / link).is_file() for link in links)
    assert "2 runs: 2 as expected" in text
