"""App profiles: the shipped ones load and say what they mean; every mistake in a profile file is one
line naming the file, the line, the place and the fix; the generated migration is a working schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dualsync import apps
from dualsync.apps.sql import migration
from dualsync.harness.scenario import ScenarioError, loads

GOOD = """\
app: shop
owner: owner_id
cursor: [stamped, id]
deleted: gone
cloudkit: {container: iCloud.shop, zone: Carts}
envelope: {kind: plain, marker: rev}
record_types:
  carts:
    table: carts
    cloudkit: Cart
    id: text
    fields: {total: float, paid: bool}
"""


def test_the_shipped_profiles_load_and_share_nothing():
    fitme, notes = apps.load("fitme"), apps.load("notes")
    assert fitme is apps.load() and fitme.envelope.kind == "sealed" and notes.envelope.kind == "plain"
    assert not set(fitme.record_types) & set(notes.record_types)
    assert not set(fitme.tables) & set(notes.tables)
    assert (fitme.zone, fitme.owner, fitme.cursor) != (notes.zone, notes.owner, notes.cursor)
    assert fitme.routes["photos"] == ("cloudkit",) and fitme.routes["profiles"] == ("supabase",)
    assert fitme.type_named("daily_logs").sample_edit(7) == {"date": "2026-03-02", "steps": 7}


@pytest.mark.parametrize("change, where, problem", [
    (("paid: bool", "paid: boolean"), ":12: record_types.carts.fields.paid", "unknown field type 'boolean'"),
    (("app: shop\n", "app: shop\napp: other\n"), ":2:", "duplicate key 'app'"),
    (("owner: owner_id", "ownr: owner_id"), ":2: ownr", "unknown key 'ownr'"),
    (("    id: text\n", "    id: integer\n"), ":11: record_types.carts.id", "unknown id kind 'integer'"),
    (("    table: carts\n    cloudkit: Cart\n", ""), ":8: record_types.carts", "syncs through no backend"),
    (("kind: plain", "kind: zipped"), ":6: envelope.kind", "unknown envelope 'zipped'"),
    (("{total: float", "{rev: text, total: float"), ":12: record_types.carts.fields.rev",
     "'rev' is a column the profile already uses"),
    (("[stamped, id]", "[stamped]"), ":3: cursor", "two columns"),
    (("total: float, paid", "total: float paid"), ":12:", "yaml"),
])
def test_each_mistake_is_one_line_with_its_place_and_a_fix(change, where, problem):
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(apps.AppError) as err:
        apps.loads(text, "shop.yaml")
    message = str(err.value)
    assert message.startswith("shop.yaml") and where in message and problem in message, message
    assert "\n" not in message


def test_a_profile_that_is_neither_shipped_nor_a_file_names_the_choices():
    with pytest.raises(apps.AppError, match="no shipped app profile named 'shopp'.*fitme, notes"):
        apps.load("shopp")


def test_the_command_line_lists_shows_and_refuses(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "dualsync.apps", *a], capture_output=True, text=True)
    listed = run("list")
    assert listed.returncode == 0 and "fitme" in listed.stdout and "notes" in listed.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("paid: bool", "paid: boolean"))
    refused = run("sql", str(bad))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "unknown field type" in refused.stderr


def test_a_scenario_step_naming_a_type_the_app_lacks_is_refused_at_its_line():
    text = ("id: x\napp: notes\nguards: [no-lost-write]\ndevices: {A: {user: alice}}\nsteps:\n"
            "  - sign_in: A\n  - write: {device: A, type: daily_logs, id: n1, fields: {body: b}}\n")
    with pytest.raises(ScenarioError, match=r"x.yaml:7:.*app 'notes' has no record type 'daily_logs'; use one of notebooks, notes"):
        loads(text, "x.yaml")


def test_the_generated_migration_gives_each_user_only_their_rows(pg_server):
    """The notes app's schema from its profile: RLS by the owner column, the cursor column stamped
    by the server whatever the client sends."""
    db = pg_server.new_database("apps", app="notes")
    try:
        with db.connect() as conn:
            alice, bob = ("00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b")
            for uid in (alice, bob):
                conn.execute("insert into auth.users (id, email) values (%s, %s)", (uid, f"{uid[-1]}@x"))
            for uid, note in ((alice, "a1"), (bob, "b1")):
                with conn.transaction():
                    conn.execute("set local role authenticated")
                    conn.execute("select set_config('request.jwt.claims', %s, true)",
                                 (f'{{"sub": "{uid}", "role": "authenticated"}}',))
                    conn.execute("insert into public.notes (id, body, rev, server_modified) "
                                 "values (%s, 'x', 'r1', '1999-01-01')", (note,))
                    seen = conn.execute("select id, server_modified > '2000-01-01' from public.notes").fetchall()
                    assert seen == [(note, True)]
    finally:
        pg_server.drop_database(db)
    assert "stamp_server_time('server_modified')" in migration(apps.load("notes"))
