"""Shards split the seed space: shards 1/2 and 2/2 together run exactly the seeds of one
unsharded campaign, none twice; checked on the plan and on real campaigns' reports."""

from __future__ import annotations

import itertools

from dualsync.harness.campaign import seeds
from tests.campaign.conftest import FAST, campaign


def test_shard_plans_partition_the_unsharded_plan():
    for n in (1, 2, 3, 5):
        whole = list(seeds.plan(7, 4, (1, 1), 50))
        parts = [list(seeds.plan(7, 4, (i, n), 50)) for i in range(1, n + 1)]
        flat = [r for p in parts for r in p]
        assert sorted(r.k for r in flat) == [r.k for r in whole] and len(flat) == len(whole)
        assert sorted(flat, key=lambda r: r.k) == whole
    assert sum(r.examples for r in seeds.plan(7, 4, (1, 1), 50)) == 50  # the last run is short


def test_time_budget_shards_interleave_forever():
    a = [r.k for r in itertools.islice(seeds.plan(1, 3, (1, 2), None), 4)]
    b = [r.k for r in itertools.islice(seeds.plan(1, 3, (2, 2), None), 4)]
    assert a == [0, 2, 4, 6] and b == [1, 3, 5, 7]


def test_seeds_depend_on_the_base_seed_only():
    assert seeds.seed_of(3, 10) == seeds.seed_of(3, 10) != seeds.seed_of(4, 10)
    assert len({seeds.seed_of(0, k) for k in range(1000)}) == 1000


def test_shards_of_real_campaigns_run_exactly_the_unsharded_seeds(tmp_path):
    """Three real campaigns (coordinated, so no run ends early on a finding): whole, 1/2, 2/2.
    The whole run's example database is a corrupted one (a file where the directory should
    be): reported and set aside, the campaign runs anyway."""
    base = ["--client", "coordinated", "--examples", "4", "--per-seed", "1", "--seed", "11", *FAST]
    (tmp_path / "db-whole").write_text("not a database")
    whole, w = campaign(*base, "--db", str(tmp_path / "db-whole"), "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    assert any("not a directory: set aside" in p for p in w["problems"])
    assert list(tmp_path.glob("db-whole.corrupt-*")), "the corrupted database was not kept aside"
    shards = [campaign(*base, "--shard", f"{i}/2", "--db", str(tmp_path / f"db{i}"),
                       "--out", str(tmp_path / f"shard{i}")) for i in (1, 2)]
    for done, _ in shards:
        assert done.returncode == 0, done.stderr[-2000:]
    s1, s2 = (r["seeds"] for _, r in shards)
    assert len(w["seeds"]) == 4 and not set(s1) & set(s2)
    assert sorted(s1 + s2) == w["seeds"]
    assert sorted(r["k"] for r in shards[0][1]["runs"]) == [0, 2]
