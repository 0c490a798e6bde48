"""Postgres foundation figures: embedded start-to-ready, per-worker database, reset between examples.

Four ways to isolate hypothesis examples are measured side by side, so the choice is made with
numbers: DELETE from every written table (what `pg` does), TRUNCATE of the same tables, a fresh clone
per example, and no reset at all with a fresh user per example (RLS keeps users apart; only the user
row is written).
"""

from __future__ import annotations

import uuid

import psycopg

from dualsync.bench import Figure, timed
from dualsync.fakes.postgres import start_server
from dualsync.apps import load
from dualsync.fakes.postgres.database import AUTH_TABLES
from dualsync.fakes.postgres.embedded import EmbeddedProvider

TABLES = load().tables
TRUNCATE_SQL = "truncate " + ", ".join([f"public.{t}" for t in TABLES] + list(AUTH_TABLES))


def _start_only(repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        provider = EmbeddedProvider()
        samples += timed(provider.start, 1)
        provider.stop()
    return samples


def seeded(db) -> None:
    """Give the reset something to remove: a user with a few rows in every table."""
    uid = str(uuid.uuid4())
    with db.connect() as conn:
        conn.execute("insert into auth.users (id, email) values (%s, %s)", (uid, uid + "@x.test"))
        for table in TABLES:
            conn.execute(f"insert into {table} (id, user_id, payload, client_modified_at) "
                         "select gen_random_uuid(), %s, 'x', now() from generate_series(1, 20)", (uid,))


def run(quick: bool) -> list[Figure]:
    repeat = 3 if quick else 10
    figures = [Figure("embedded start-to-ready (initdb + start + first query)", "ms", _start_only(repeat))]
    server = start_server("embedded")
    try:
        clone_ms = clone_samples(server, repeat * 3)
        figures.append(Figure("per-worker database (CREATE DATABASE ... TEMPLATE, file_copy)", "ms", clone_ms))
        db = server.new_database("bench")
        figures += reset_figures(db, repeat * 3, clone_ms)
        server.drop_database(db)
    finally:
        server.stop()
    return figures


def clone_samples(server, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        made = []
        samples += timed(lambda: made.append(server.new_database("clone")), 1)
        server.drop_database(made[0])
    return samples


def reset_figures(db, repeat: int, clone_ms: list[float]) -> list[Figure]:
    """`clone_ms`: a clone per example costs what a per-worker clone costs; measured once."""
    truncate_ms, delete_ms = [], []
    with db.connect() as conn:
        for _ in range(repeat):
            seeded(db)
            truncate_ms += timed(lambda: conn.execute(TRUNCATE_SQL), 1)
    for _ in range(repeat):
        seeded(db)
        delete_ms += timed(db.reset, 1)
    with psycopg.connect(db.admin.dsn(), autocommit=True) as conn:
        def fresh_user():
            uid = uuid.uuid4()
            conn.execute("insert into auth.users (id, email) values (%s, %s)", (uid, f"{uid}@x.test"))
        user_ms = timed(fresh_user, repeat)
    return [Figure("reset between examples: DELETE from written tables, kept connection (chosen)", "ms", delete_ms),
            Figure("reset between examples: TRUNCATE of the same tables, kept connection", "ms", truncate_ms),
            Figure("reset between examples: fresh clone per example", "ms", clone_ms),
            Figure("reset between examples: no reset, fresh user (isolation by RLS only)", "ms", user_ms,
                   "reconnect excluded; leaves rows behind")]
