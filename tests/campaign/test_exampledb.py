"""The example databases: a corrupted one is reported and set aside, not fatal; the GitHub
artifact of a previous CI run is read through ReadOnlyDatabase in a MultiplexedDatabase."""

from __future__ import annotations

import pytest
from hypothesis.database import (DirectoryBasedExampleDatabase, GitHubArtifactDatabase,
                                 MultiplexedDatabase, ReadOnlyDatabase, choices_to_bytes)

from dualsync.harness.campaign import exampledb
from dualsync.harness.campaign.options import BadInput

KEY = exampledb.test_key("legacy", 18)


def test_undecodable_entries_are_set_aside(tmp_path):
    db = DirectoryBasedExampleDatabase(tmp_path / "db")
    good = choices_to_bytes((1, True, 2.5))
    db.save(KEY, good)
    db.save(KEY, b"\xff\xfe garbage")
    opened = exampledb.open_database(str(tmp_path / "db"), None, KEY, tmp_path / "aside")
    assert len(opened.problems) == 1 and "could not be decoded" in opened.problems[0]
    assert list(db.fetch(KEY)) == [good] and opened.replayable == 1
    assert [p.read_bytes() for p in (tmp_path / "aside").iterdir()] == [b"\xff\xfe garbage"]


def test_a_file_where_a_key_directory_should_be_is_set_aside(tmp_path):
    db = DirectoryBasedExampleDatabase(tmp_path / "db")
    db.save(b"other", b"x")  # creates the database
    db._key_path(KEY).write_text("junk")
    opened = exampledb.open_database(str(tmp_path / "db"), None, KEY, tmp_path / "aside")
    assert "is not a directory" in opened.problems[0]
    opened.database.save(KEY, choices_to_bytes((3,)))  # usable again
    assert list(opened.database.fetch(KEY)) == [choices_to_bytes((3,))]


def test_a_wrong_type_redis_key_is_set_aside(redis_url, tmp_path):
    import redis
    client = redis.Redis.from_url(redis_url)
    client.set(exampledb.REDIS_PREFIX + KEY, "a string, not a set")
    opened = exampledb.open_database(redis_url, None, KEY, tmp_path / "aside")
    assert any("unreadable" in p and "set aside" in p for p in opened.problems), opened.problems
    assert client.keys(b"*corrupt*")
    opened.database.save(KEY, b"\x00")
    assert client.smembers(exampledb.REDIS_PREFIX + KEY) == {b"\x00"}


def test_unreachable_redis_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="unreachable"):
        exampledb.open_database("redis://127.0.0.1:1/0", None, KEY, tmp_path)


def test_github_artifact_is_read_only_beside_the_main_database(tmp_path):
    db, described = exampledb.build(str(tmp_path / "db"), "someone/app:nightly-db")
    assert isinstance(db, MultiplexedDatabase)
    local, shared = db._wrapped
    assert isinstance(local, DirectoryBasedExampleDatabase) and isinstance(shared, ReadOnlyDatabase)
    inner = shared._wrapped
    assert isinstance(inner, GitHubArtifactDatabase)
    assert (inner.owner, inner.repo, inner.artifact_name) == ("someone", "app", "nightly-db")
    assert "read-only GitHub artifact someone/app:nightly-db" in described


def test_a_failing_backend_mid_run_is_reported_not_fatal():
    said = []

    class Broken(DirectoryBasedExampleDatabase):
        def save(self, key, value):
            raise OSError("disk full")

    guarded = exampledb.Guarded(Broken("/nonexistent"), said.append)
    guarded.save(KEY, b"x")
    guarded.save(KEY, b"y")
    assert said == ["example database write failed (disk full); the campaign goes on"]
