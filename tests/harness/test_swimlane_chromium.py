"""The DEEP-SYNC-001 diagram renders in a real browser: every lane is drawn, the losing persist is
drawn in red in device A's disk lane, and a screenshot shows that event's whole text (read back
by OCR). Needs Debian's `chromium` (and `tesseract-ocr` for the text) and the worker's Postgres."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dualsync.harness import runner, swimlane
from dualsync.harness.scenario import load
from tests.harness import png

SCENARIO = Path(__file__).resolve().parents[2] / "suites" / "scenarios" / "deep-sync-001.yaml"
BODY_MARGIN = 16  # the report page's body margin, in CSS pixels
SCALE = 0.5  # device pixels per CSS pixel: a smaller screenshot keeps the pure-Python decode quick


def screenshot(html: Path, out: Path, width: int, height: int, scale: float = SCALE) -> Path:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--force-device-scale-factor={scale}", f"--window-size={width},{height}", f"--screenshot={out}",
                    html.as_uri()], check=True, capture_output=True, timeout=120)
    return out


def columns_with(rows: list[bytes], colour: tuple[int, int, int], tolerance: int = 12) -> set[int]:
    xs = set()
    for row in rows:
        for x in range(0, len(row) // 3):
            r, g, b = row[3 * x:3 * x + 3]
            if abs(r - colour[0]) + abs(g - colour[1]) + abs(b - colour[2]) <= tolerance:
                xs.add(x)
    return xs


@pytest.mark.chromium
def test_deep_sync_001_diagram_shows_lanes_and_the_losing_persist(pg_database, tmp_path):
    result = runner.run(load(SCENARIO), "legacy", pg_database, reports=tmp_path)
    cols = swimlane.lanes(result.history)
    assert cols == ["A", "B", "supabase", "cloudkit", "disk:A", "disk:B"]
    width = swimlane.LEFT + swimlane.LANE_W * len(cols) + 60
    shot = screenshot(result.report, tmp_path / "shot.png", width, 3000)
    _w, _h, rows = png.read(shot.read_bytes())
    for i, lane in enumerate(cols):
        kind = "disk" if lane.startswith("disk:") else "backend" if lane in ("supabase", "cloudkit") else "device"
        colour = bytes.fromhex(swimlane.LANE_COLOURS[kind][1:])
        left = (BODY_MARGIN + swimlane.LEFT + swimlane.LANE_W * i) * SCALE
        drawn = columns_with(rows[::20], tuple(colour), tolerance=3)
        assert any(left + 5 <= x <= left + (swimlane.LANE_W - 10) * SCALE for x in drawn), f"lane {lane} not drawn"
    red = columns_with(rows, tuple(bytes.fromhex(swimlane.RED[1:])), tolerance=40)
    # The event dot sits on the lane's dot line (its label starts right of it).
    dot = (BODY_MARGIN + swimlane.dot_x(cols.index("disk:A"))) * SCALE
    assert any(abs(x - dot) <= 4 for x in red), "the losing persist in disk:A is not drawn red"


# Put the event whose label holds `marker` at the top of the window: the screenshot is then the
# page as drawn around that event, small enough for OCR to read quickly and well.
TO_THE_EVENT = """<script>
const e = [...document.querySelectorAll("text.event.blamed")].find(t => t.textContent.includes(MARKER));
document.body.style.marginTop = (40 - e.getBoundingClientRect().top) + "px";
</script>"""


def words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower())


@pytest.mark.chromium
def test_a_screenshot_shows_the_whole_text_of_the_decisive_event(pg_database, tmp_path):
    ocr = shutil.which("tesseract")
    if ocr is None:
        pytest.skip("tesseract is not installed (apt-get install tesseract-ocr): cannot read the screenshot")
    result = runner.run(load(SCENARIO), "legacy", pg_database, reports=tmp_path)
    page = result.report.read_text()
    # the decisive event: device A's CloudKit path persists its stale copy and drops B's profile
    decisive = "persist by cloudkit: photos/…0002 ← B-0001.000002, profiles/…0001 ← gone"
    assert decisive in re.sub(r"</tspan><tspan[^>]*>", " ", page)
    shifted = tmp_path / "at-the-event.html"
    shifted.write_text(page.replace("</body>", TO_THE_EVENT.replace("MARKER", '"gone"') + "</body>"))
    width = swimlane.LEFT + swimlane.LANE_W * len(swimlane.lanes(result.history)) + 60
    shot = screenshot(shifted, tmp_path / "event.png", width, 160, scale=2)
    read = subprocess.run([ocr, str(shot), "-"], capture_output=True, text=True, timeout=120, check=True).stdout
    seen = words(read)
    for part in ("persist by cloudkit", "photos", "0002", "b 0001 000002", "profiles", "0001", "gone"):
        assert words(part) in seen, f"{part!r} not in the screenshot; OCR read: {read!r}"
