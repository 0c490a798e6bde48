"""The Supabase-shaped schema: RLS by JWT claims, server-stamped updated_at, auth helpers."""

import psycopg
import pytest

from dualsync.apps import load

APP_TABLES = load("fitme").tables

from .conftest import as_role, insert_row


@pytest.mark.parametrize("table", APP_TABLES)
def test_a_user_sees_and_changes_only_their_own_rows(pg, users, table):
    alice, bob = users
    with as_role(pg, "authenticated", bob) as conn:
        bobs = insert_row(conn, table, bob)
    with as_role(pg, "authenticated", alice) as conn:
        mine = insert_row(conn, table, alice)
        assert conn.execute(f"select id::text from {table}").fetchall() == [(mine,)]
        assert conn.execute(f"update {table} set deleted = true where id = %s", (bobs,)).rowcount == 0
        assert conn.execute(f"delete from {table} where id = %s", (bobs,)).rowcount == 0
    with as_role(pg, "authenticated", bob) as conn:
        assert conn.execute(f"select deleted from {table} where id = %s", (bobs,)).fetchone() == (False,)


@pytest.mark.parametrize("table", APP_TABLES)
def test_inserting_a_row_owned_by_someone_else_is_refused_with_42501(pg, users, table):
    alice, bob = users
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
        with as_role(pg, "authenticated", alice) as conn:
            insert_row(conn, table, bob)
    assert err.value.sqlstate == "42501"
    assert "row-level security" in str(err.value)


def test_moving_a_row_to_another_owner_is_refused(pg, users):
    alice, bob = users
    with as_role(pg, "authenticated", alice) as conn:
        row = insert_row(conn, "daily_logs", alice)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with as_role(pg, "authenticated", alice) as conn:
            conn.execute("update daily_logs set user_id = %s where id = %s", (bob, row))


def test_anon_sees_nothing_and_cannot_insert(pg, users):
    alice, _ = users
    with as_role(pg, "authenticated", alice) as conn:
        insert_row(conn, "daily_logs", alice)
    with as_role(pg, "anon") as conn:
        assert conn.execute("select count(*) from daily_logs").fetchone() == (0,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with as_role(pg, "anon") as conn:
            insert_row(conn, "daily_logs", alice)


def test_service_role_bypasses_rls(pg, users):
    alice, bob = users
    for uid in users:
        with as_role(pg, "authenticated", uid) as conn:
            insert_row(conn, "cardio_sessions", uid)
    with as_role(pg, "service_role") as conn:
        assert conn.execute("select count(*) from cardio_sessions").fetchone() == (2,)


def test_updated_at_comes_from_the_server_whatever_the_client_sends(pg, users):
    alice, _ = users
    with as_role(pg, "authenticated", alice) as conn:
        row = insert_row(conn, "daily_logs", alice, updated_at="1999-01-01T00:00:00Z")
        stamped, tx_time = conn.execute("select updated_at, now() from daily_logs where id = %s", (row,)).fetchone()
        assert stamped == tx_time
        conn.execute("update daily_logs set updated_at = '1999-01-01' where id = %s", (row,))
        assert conn.execute("select updated_at from daily_logs where id = %s", (row,)).fetchone() == (tx_time,)


def test_updated_at_follows_the_virtual_clock_when_a_request_pins_it(pg, users):
    alice, _ = users
    with as_role(pg, "authenticated", alice, now="2026-03-02T08:00:05Z") as conn:
        row = insert_row(conn, "weekly_snapshots", alice)
        stamped = conn.execute("select updated_at at time zone 'utc' from weekly_snapshots where id = %s",
                               (row,)).fetchone()[0]
    assert stamped.isoformat() == "2026-03-02T08:00:05"


def test_auth_helpers_read_the_request_claims(pg, users):
    alice, _ = users
    with as_role(pg, "authenticated", alice) as conn:
        uid, role, claims = conn.execute("select auth.uid()::text, auth.role(), auth.jwt()").fetchone()
    assert (uid, role, claims) == (alice, "authenticated", {"role": "authenticated", "sub": alice})
    with as_role(pg, "anon") as conn:
        assert conn.execute("select auth.uid(), auth.role()").fetchone() == (None, "anon")


def test_pull_cursor_index_exists_on_every_synced_table(pg):
    with pg.connect() as conn:
        defs = [r[0] for r in conn.execute("select indexdef from pg_indexes where indexname like '%pull_cursor'")]
    assert len(defs) == len(APP_TABLES)
    assert all("(user_id, updated_at, id)" in d for d in defs)


def test_reset_empties_app_and_auth_tables(pg, users):
    alice, _ = users
    with as_role(pg, "authenticated", alice) as conn:
        insert_row(conn, "profiles", alice)
    pg.reset()
    with pg.connect() as conn:
        assert conn.execute("select (select count(*) from profiles) + (select count(*) from auth.users)").fetchone() == (0,)
