"""A worker whose memory grows past --recycle percent is replaced between runs by a fresh process
on the same database: every run of the plan is still run once, none is lost, and the report says
how often each worker was replaced and what it held after each run."""

from __future__ import annotations

from dualsync.harness.campaign import seeds
from tests.campaign.conftest import campaign

PR = ["--client", "coordinated", "--profile", "pr", "--no-live"]


def test_workers_are_replaced_and_no_run_is_lost(tmp_path):
    # Prediction (written before the first run): --recycle 0.01 replaces a worker after its second
    # run, whatever it holds; 8 runs of 2 examples on 2 workers: each worker is replaced at least
    # once, every k of the plan appears once, no run is lost or broken.
    done, report = campaign(*PR, "--examples", "16", "--per-seed", "2", "--workers", "2",
                            "--recycle", "0.01", "--db", str(tmp_path / "db"),
                            "--out", str(tmp_path / "out"))
    assert report is not None, done.stderr
    assert "replaced by a fresh process" in done.stdout + done.stderr
    runs = [r for r in report["runs"] if r["kind"] == "run"]
    assert sorted(r["k"] for r in runs) == [r.k for r in seeds.plan(0, 2, (1, 1), 16)]
    assert not [r for r in report["runs"] if r["outcome"] in ("lost", "error")], report["runs"]
    stats = report["worker_stats"]
    assert all(w["replaced"] >= 1 and not w["died"] for w in stats), stats
    assert all(len(w["rss_mb_after_runs"]) >= 2 for w in stats), stats
    assert report["postgres"].startswith("postgres: provider=")


def test_recycle_zero_never_replaces(tmp_path):
    done, report = campaign(*PR, "--examples", "6", "--per-seed", "2", "--workers", "1",
                            "--recycle", "0", "--db", str(tmp_path / "db"),
                            "--out", str(tmp_path / "out"))
    assert report is not None, done.stderr
    assert [w["replaced"] for w in report["worker_stats"]] == [0]
    assert len(report["worker_stats"][0]["rss_mb_after_runs"]) == 3
