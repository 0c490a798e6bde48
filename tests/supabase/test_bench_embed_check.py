"""The embed benchmark (bench/embed.py) times only a gateway that answers what the raw query does:
a gateway without the relationship, or one that answers fewer rows, is reported as not measured,
and `./dualsync bench` exits 1 when an area it was asked for was not measured."""

from __future__ import annotations

import pytest

from dualsync.bench import Unavailable
from dualsync.bench import __main__ as bench_main
from dualsync.bench import embed


def test_a_matching_gateway_is_timed_every_way(pg_server):
    figures = {f.name: f for f in embed.run_on(pg_server, 3)}
    for way in ("raw-same", "inprocess", "loopback", "loopback-bare"):
        ratio = figures[f"embed {way} / raw p50"]
        assert len(ratio.samples) == 1 and ratio.samples[0] > 0
    assert len(figures["embed 100x20 raw latency"].samples) == 3


def test_a_gateway_answering_fewer_parents_is_not_timed(pg_server):
    """db-max-rows below the 100 parents: the gateway's answer differs from the raw query's."""
    with pytest.raises(Unavailable, match=r"does not answer what the raw query does \(50 parents against 100\)"):
        embed.run_on(pg_server, 3, standalone=False, max_rows=50)


def test_a_gateway_without_the_relationship_is_not_timed(pg_server, monkeypatch):
    """Without the foreign key there is nothing to embed: PGRST200, reported, not timed."""
    monkeypatch.setattr(embed, "SCHEMA_SQL", embed.SCHEMA_SQL.replace(
        "parent_id bigint not null references public.parents (id) on delete cascade", "parent_id bigint not null"))
    with pytest.raises(Unavailable, match=r"resource embedding is missing from this gateway: .* answered 400 .*PGRST200"):
        embed.run_on(pg_server, 3, standalone=False)


def test_a_standalone_gateway_that_cannot_start_is_named():
    with pytest.raises(Unavailable, match=r"the standalone gateway did not start \(waited up to 30 s\): .*--dsn postgresql://nobody:\*\*\*@"):
        embed.standalone_gateway("postgresql://nobody:x@127.0.0.1:1/none", timeout=30)


def test_the_command_exits_1_when_an_area_is_not_measured(monkeypatch, capsys):
    def unavailable(quick):
        raise Unavailable("resource embedding is missing from this gateway (a test)")
    monkeypatch.setattr(embed, "run", unavailable)
    assert bench_main.main(["embed", "--quick"]) == 1
    out, err = capsys.readouterr()
    assert "not measured: resource embedding is missing from this gateway (a test)" in out
    assert "not measured: embed" in err
