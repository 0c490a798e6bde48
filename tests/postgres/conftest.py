import contextlib
import json
import uuid

import psycopg
import pytest


@contextlib.contextmanager
def as_role(db, role: str, sub: str | None = None, now: str | None = None):
    """A transaction as PostgREST opens one: logged in as authenticator, role and claims set locally."""
    claims = {"role": role} | ({"sub": sub} if sub else {})
    with psycopg.connect(db.authenticator.dsn()) as conn:
        with conn.transaction():
            conn.execute("select set_config('role', %s, true), set_config('request.jwt.claims', %s, true)",
                         (role, json.dumps(claims)))
            if now:
                conn.execute("select set_config('dualsync.now', %s, true)", (now,))
            yield conn


def make_user(db) -> str:
    uid = str(uuid.uuid4())
    with db.connect() as conn:
        conn.execute("insert into auth.users (id, email, aud, role) values (%s, %s, 'authenticated', 'authenticated')",
                     (uid, f"{uid[:8]}@example.test"))
    return uid


def insert_row(conn, table: str, owner: str, row_id: str | None = None, **cols) -> str:
    row_id = row_id or str(uuid.uuid4())
    values = {"id": row_id, "user_id": owner, "payload": "Y2lwaGVy", "key_version": 1,
              "client_modified_at": "2026-03-02T08:00:00Z"} | cols
    names = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    conn.execute(f"insert into public.{table} ({names}) values ({marks})", list(values.values()))
    return row_id


@pytest.fixture
def users(pg):
    return make_user(pg), make_user(pg)
