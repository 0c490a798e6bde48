"""A template build interrupted mid-way (a signal while migrating) leaves no half-built database and
surfaces the interruption itself, even when a session on the half-built database is still open."""

from __future__ import annotations

import psycopg
import pytest

from dualsync.fakes.postgres import database, migrations


def test_an_interrupted_build_drops_its_database_and_reraises_the_interruption(pg_server, monkeypatch):
    """CI's test_stops once printed ObjectInUse ("being accessed by other users") instead of the
    stop: the SIGTERM arrived while the build's connection was being made, and the clean-up's DROP
    met the session still open on the server.

    Prediction, written before the first run: before the fix, build_template raises ObjectInUse
    rather than the KeyboardInterrupt, and the half-built database stays."""
    name = "dualsync_tpl_interrupted_test"
    lingering = []

    def interrupted(conn, items):
        lingering.append(psycopg.connect(pg_server.admin.dsn(name + "_building"), autocommit=True))
        raise KeyboardInterrupt
    monkeypatch.setattr(migrations, "apply", interrupted)
    admin = psycopg.connect(pg_server.admin.dsn(), autocommit=True)
    try:
        with pytest.raises(KeyboardInterrupt):
            database.build_template(admin, pg_server.admin, name, [])
        left = admin.execute("select count(*) from pg_database where datname like %s", (name + "%",)).fetchone()[0]
        assert left == 0, "the half-built template database was left behind"
    finally:
        for conn in lingering:
            conn.close()
        admin.execute(f'drop database if exists "{name}_building" with (force)')
        admin.close()
