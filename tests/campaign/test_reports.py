"""Reports: two shards of a legacy campaign merged into one; the merged HTML report renders in
headless Chromium with its swimlane diagrams and throughput chart drawn."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from dualsync.harness import swimlane
from dualsync.harness.campaign import html
from dualsync.harness.campaign.__main__ import main
from tests.campaign.conftest import FAST, campaign
from tests.harness import png
from tests.harness.test_swimlane_chromium import columns_with, screenshot

# Wide enough for every lane of a diagram with four devices (their disks too) and both backends.
WIDTH = swimlane.LEFT + swimlane.LANE_W * 10 + 200


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    runs = []
    for i in (1, 2):
        done, report = campaign("--client", "legacy", "--examples", "16", "--per-seed", "8",
                                "--shard", f"{i}/2", "--db", str(root / f"db{i}"),
                                "--out", str(root / f"shard{i}"), *FAST)
        assert done.returncode == 1, done.stderr[-2000:]  # legacy: something is found
        runs.append(report)
    return root, runs


def test_each_shard_writes_json_junit_html_and_findings(shards):
    root, reports = shards
    for i, report in zip((1, 2), reports):
        out = root / f"shard{i}"
        suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
        assert int(suite.get("tests")) == len(report["runs"]) == 1
        assert int(suite.get("failures")) == sum(1 for r in report["runs"] if r["verdicts"])
        for f in report["findings"]:
            assert (out / f["file"]).read_text().startswith("id: corpus-legacy-")
            assert f["replay"].endswith(f"--client=legacy") and str(out.resolve()) in f["replay"]
        assert report["throughput"][f"{i}/2"]


def test_merge_joins_shards_and_deduplicates_findings_by_verdict(shards, tmp_path, capsys):
    root, (r1, r2) = shards
    rc = main(["merge", str(root / "shard1"), str(root / "shard2"), "--out", str(tmp_path / "m")])
    assert rc == 1 and "merged 2 report(s)" in capsys.readouterr().out
    merged = json.loads((tmp_path / "m" / "report.json").read_text())
    assert merged["shards"] == ["1/2", "2/2"]
    assert merged["seeds"] == sorted(r1["seeds"] + r2["seeds"])
    assert merged["examples"] == r1["examples"] + r2["examples"]
    verdicts = [f["verdict"] for f in merged["findings"]]
    assert sorted(verdicts) == sorted({f["verdict"] for f in r1["findings"] + r2["findings"]})
    for f in merged["findings"]:
        assert (tmp_path / "m" / f["file"]).is_file()
        assert f["seen"] == sum(g["seen"] for g in r1["findings"] + r2["findings"]
                                if g["verdict"] == f["verdict"])
    suite = ET.parse(tmp_path / "m" / "junit.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) == len(r1["runs"]) + len(r2["runs"])
    assert set(merged["throughput"]) == {"1/2", "2/2"}


@pytest.mark.chromium
def test_the_html_report_renders_with_its_diagrams_drawn(shards, tmp_path):
    root, reports = shards
    main(["merge", str(root / "shard1"), str(root / "shard2"), "--out", str(tmp_path / "m")])
    page = (tmp_path / "m" / "report.html").read_text()
    assert "<script" not in page and "http" not in page.split("</style>")[0]  # self-contained
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') >= 1 and "no diagram" not in page
    shot = screenshot(tmp_path / "m" / "report.html", tmp_path / "shot.png", WIDTH, 2400)
    _w, _h, rows = png.read(shot.read_bytes())
    sample = rows[::4]
    for kind in ("device", "backend", "disk"):
        colour = tuple(bytes.fromhex(swimlane.LANE_COLOURS[kind][1:]))
        assert len(columns_with(sample, colour, tolerance=3)) > 20, f"no {kind} lane drawn"
    rate = tuple(bytes.fromhex(html.COLOURS[0][1:]))
    assert columns_with(sample, rate, tolerance=30), "the throughput line is not drawn"


@pytest.mark.chromium
def test_the_check_fails_on_a_report_without_diagrams(shards, tmp_path):
    """The same check on the same report with its diagram pages gone finds no lanes: it can fail."""
    root, _ = shards
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(root / "shard1", copy)
    for p in (copy / "findings").glob("*.html"):
        p.unlink()
    main(["merge", str(copy), "--out", str(tmp_path / "m")])
    shot = screenshot(tmp_path / "m" / "report.html", tmp_path / "shot.png", WIDTH, 2400)
    _w, _h, rows = png.read(shot.read_bytes())
    colour = tuple(bytes.fromhex(swimlane.LANE_COLOURS["device"][1:]))
    assert len(columns_with(rows[::4], colour, tolerance=3)) <= 20
