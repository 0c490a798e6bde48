"""A failure one campaign process finds is replayed first by the next process that shares its
example database: hypothesis's RedisExampleDatabase on a real redis-server, and the default
DirectoryBasedExampleDatabase."""

from __future__ import annotations

import pytest

from tests.campaign.conftest import FAST, campaign


@pytest.mark.parametrize("kind", ["redis", "directory"])
def test_a_finding_is_replayed_first_by_a_second_process(kind, tmp_path, request):
    db = request.getfixturevalue("redis_url") if kind == "redis" else str(tmp_path / "examples")
    first, r1 = campaign("--client", "legacy", "--examples", "30", "--per-seed", "30",
                         "--db", db, "--out", str(tmp_path / "first"), *FAST)
    assert first.returncode == 1, first.stderr[-2000:]
    assert r1["replayable"] == 0 and r1["runs"][0]["kind"] == "run"
    found = {f["verdict"] for f in r1["findings"]}
    assert found and all(f["how"] == "generate" and f["shrunk"] for f in r1["findings"])
    if kind == "redis":
        import redis
        assert redis.Redis.from_url(db).keys("hypothesis-example:dualsync-campaign/legacy/*")

    second, r2 = campaign("--client", "legacy", "--examples", "1", "--per-seed", "1",
                          "--db", db, "--out", str(tmp_path / "second"), *FAST)
    assert second.returncode == 1, second.stderr[-2000:]
    assert r2["replayable"] >= 1
    replay = r2["runs"][0]
    assert replay["kind"] == "replay" and replay["outcome"] == "finding"
    assert set(replay["verdicts"]) == found
    assert {f["verdict"] for f in r2["findings"] if f["how"] == "replayed"} == found
    # The replayed finding is written to the second campaign's own output, never the tree.
    for f in r2["findings"]:
        assert (tmp_path / "second" / f["file"]).is_file()


def test_an_unreachable_redis_is_said_at_start(tmp_path):
    done, report = campaign("--client", "legacy", "--examples", "1", "--db", "redis://127.0.0.1:1/0",
                            "--out", str(tmp_path / "out"), *FAST, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "redis://127.0.0.1:1/0" in lines[0] and "unreachable" in lines[0]
    assert report is None and not (tmp_path / "out" / "workers").exists()  # no worker started
