"""The swimlane report draws every lane and marks the events a violation names."""

from __future__ import annotations

import re

from dualsync.harness import checkers as C
from dualsync.harness import swimlane
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
    assert "persist/cl …d1←B1" in text and "still marked for upload" in text
    assert "python -m dualsync.harness replay x" in text


def test_a_clean_run_says_so():
    s = Story().write("A", "A1", "d1", {"steps": 1})
    text = swimlane.render(s.h, [C.check_no_lost_unsynced_edit(s.h)], title="ok")
    assert "every invariant holds" in text and "blamed" not in text
