"""Exposed schemas beside the contracts (test_rest_schemas.py): the single-schema default, the gateway
option (GatewayConfig.schemas, `--schemas`), `pgrst.db_schemas` / `pgrst.db_extra_search_path` in the
database over the option, re-read on `NOTIFY pgrst, 'reload config'`, a schema name that needs quoting
(PostgREST's own spec uses `SPECIAL "@/\\#~_-`), and bad option values."""

from __future__ import annotations

import psycopg
import pytest

from dualsync.fakes.supabase import GatewayConfig
from dualsync.fakes.supabase.__main__ import parse_args

SPECIAL = 'SPECIAL "@/\\#~_-'
SETUP = f"""
create schema if not exists "{SPECIAL.replace('"', '""')}";
create table if not exists "{SPECIAL.replace('"', '""')}".names (id integer primary key, name text);
insert into "{SPECIAL.replace('"', '""')}".names values (1, 'José') on conflict do nothing;
grant usage on schema "{SPECIAL.replace('"', '""')}" to anon;
grant select on "{SPECIAL.replace('"', '""')}".names to anon;
"""


@pytest.fixture(scope="module")
def schema_sql(pg_database):
    from dualsync.contracts.supabase.targets import SCHEMA_SQL
    with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
        conn.execute(SCHEMA_SQL.read_text())
        conn.execute(SETUP)


@pytest.fixture
def make_gateway(make_gateway, schema_sql):
    """tests/supabase/conftest.py's, after this module's schema is in place; the anon key on every call."""
    return lambda **settings: make_gateway(apikey=True, **settings)


@pytest.fixture
def role_setting(pg_database):
    """Set `pgrst.<name>` for the authenticator in this database (reset afterwards) and NOTIFY."""
    conn = psycopg.connect(pg_database.admin.dsn(), autocommit=True)
    database = conn.execute("select current_database()").fetchone()[0]
    names = []

    def setting(name: str, value: str) -> None:
        conn.execute(f"alter role authenticator in database {database} set pgrst.{name} = '{value}'")
        conn.execute("notify pgrst, 'reload config'")
        names.append(name)
    yield setting
    for name in names:
        conn.execute(f"alter role authenticator in database {database} reset pgrst.{name}")
    conn.execute("notify pgrst, 'reload config'")
    conn.close()


def test_one_schema_names_it_only_when_a_profile_header_chose_it(make_gateway):
    """v14's getSchema with one schema: no header is not negotiated (no Content-Profile); a header
    naming it is (postgrest-py and supabase-js always send one)."""
    _, http = make_gateway()
    plain = http.get("/rest/v1/rpc/contract_where")
    assert plain.status_code == 200 and "content-profile" not in plain.headers
    assert plain.json() == {"schema": "public", "search_path": '"public", "public", "extensions"'}
    named = http.get("/rest/v1/rpc/contract_where", headers={"Accept-Profile": "public"})
    assert named.headers["content-profile"] == "public"
    refused = http.get("/rest/v1/emb_parents", headers={"Accept-Profile": "contract_personal"})
    assert refused.status_code == 406
    assert refused.json() == {"code": "PGRST106", "details": None, "hint": "Only the following schemas are exposed: public",
                              "message": "Invalid schema: contract_personal"}


def test_the_option_exposes_schemas_and_orders_the_default(make_gateway):
    _, http = make_gateway(schemas="contract_personal, public")
    default = http.get("/rest/v1/emb_parents?select=name&id=eq.1")
    assert default.json() == [{"name": "Pia"}] and default.headers["content-profile"] == "contract_personal"
    public = http.get("/rest/v1/rpc/contract_where", headers={"Accept-Profile": "public"})
    assert public.json()["schema"] == "public" and public.headers["content-profile"] == "public"
    options = http.options("/rest/v1/notes")            # OPTIONS reads Accept-Profile: no header, the default
    assert options.status_code == 200 and "content-profile" not in options.headers
    elsewhere = http.options("/rest/v1/notes", headers={"Accept-Profile": "public"})
    assert elsewhere.status_code == 404 and elsewhere.json()["code"] == "PGRST205"


def test_the_database_setting_overrides_the_option_on_reload_config(make_gateway, role_setting):
    gateway, http = make_gateway(schemas=("public", "contract_personal"))
    assert http.get("/rest/v1/emb_parents?select=name&id=eq.2", headers={"Accept-Profile": "contract_personal"}
                    ).json() == [{"name": "Quin"}]
    role_setting("db_schemas", "public")
    gateway.cache = None            # the NOTIFY reaches it on the next statement; do not race it
    refused = http.get("/rest/v1/emb_parents", headers={"Accept-Profile": "contract_personal"})
    assert refused.status_code == 406 and refused.json()["hint"] == "Only the following schemas are exposed: public"
    role_setting("db_schemas", "")  # empty: PostgREST's default (public), not the option
    gateway.cache = None
    assert http.get("/rest/v1/emb_parents", headers={"Accept-Profile": "contract_personal"}).status_code == 406
    role_setting("db_schemas", "contract_personal,  public")
    role_setting("db_extra_search_path", "extensions")
    gateway.cache = None
    where = http.get("/rest/v1/rpc/contract_where")
    assert where.json() == {"schema": "contract_personal", "search_path": '"contract_personal", "extensions"'}
    assert where.headers["content-profile"] == "contract_personal"


def test_a_schema_name_that_needs_quoting(make_gateway):
    _, http = make_gateway(schemas=("public", SPECIAL))
    response = http.get("/rest/v1/names?select=name", headers={"Accept-Profile": SPECIAL})
    assert response.status_code == 200, response.text
    assert response.json() == [{"name": "José"}] and response.headers["content-profile"] == SPECIAL
    refused = http.get("/rest/v1/names", headers={"Accept-Profile": "ünï".encode()})    # UTF-8 bytes, named back
    assert refused.status_code == 406 and refused.json()["message"] == "Invalid schema: ünï"
    assert refused.json()["hint"] == f"Only the following schemas are exposed: public, {SPECIAL}"


def test_an_invalid_path_is_pgrst125_before_the_profile_is_read(make_gateway):
    _, http = make_gateway()
    response = http.get("/rest/v1/a/b", headers={"Accept-Profile": "nope"})
    assert response.status_code == 404 and response.json()["code"] == "PGRST125"


@pytest.mark.parametrize("schemas", ["", "public,,x", (), ("public", "")])
def test_bad_schemas_option_is_refused(schemas):
    with pytest.raises(ValueError, match="schemas"):
        GatewayConfig(rest_dsn="postgresql://x", schemas=schemas)


@pytest.mark.parametrize("value", ["", "public,", " , public"])
def test_bad_schemas_flag_is_one_line_and_exit_2(value, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_args(["--schemas", value, "--port", "0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--schemas" in err[0] and "empty schema name" in err[0]
    assert parse_args(["--schemas", "public, personal", "--port", "0"]).schemas == ("public", "personal")


UNAVAILABLE = {"code": "PGRST002", "details": None, "hint": None,
               "message": "Could not query the database for the schema cache. Retrying."}


def test_a_listed_schema_the_database_lacks_is_503_for_every_request(make_gateway, pg_database):
    """v14 (#3644) casts the exposed names to regnamespace in its schema cache queries: one that does
    not exist fails the cache, and every request (public ones, invalid paths) is 503 PGRST002 until
    it exists."""
    _, http = make_gateway(schemas=("public", "contract_ghost"))
    for path in ("/rest/v1/emb_parents", "/rest/v1/rpc/contract_where", "/rest/v1/a/b"):
        response = http.get(path)
        assert (response.status_code, response.json()) == (503, UNAVAILABLE), path
        assert response.headers["proxy-status"] == "PostgREST; error=PGRST002"
    control = http.post("/__dualsync/schema/reload")
    assert control.status_code == 503 and control.json()["error"] == "PGRST002"
    with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
        conn.execute("create schema contract_ghost")
        try:
            assert http.get("/rest/v1/rpc/contract_where").json()["schema"] == "public"
            assert http.get("/rest/v1/x", headers={"Accept-Profile": "contract_ghost"}).json()["code"] == "PGRST205"
        finally:
            conn.execute("drop schema contract_ghost")


def test_a_database_setting_listing_a_missing_schema_is_503_until_fixed(make_gateway, role_setting):
    gateway, http = make_gateway()
    role_setting("db_schemas", "public, contract_ghost")
    gateway.cache = None
    assert http.get("/rest/v1/emb_parents").json() == UNAVAILABLE
    role_setting("db_schemas", "public")
    assert http.get("/rest/v1/emb_parents?select=id&limit=1").status_code == 200


RESET_SIDE = """
create schema if not exists reset_side;
create table if not exists reset_side.a_parent (id integer primary key);
create table if not exists reset_side.b_child (id integer primary key,
  parent_id integer not null references reset_side.a_parent (id));
"""


def test_the_control_reset_empties_every_exposed_schema_children_first(make_gateway, pg_database):
    """`POST /__dualsync/reset` promises empty app tables; an app whose tables sit in another exposed
    schema must get them emptied too, in foreign-key order (the parent sorts first by name here, and
    its child's key has no ON DELETE CASCADE).

    Prediction, written before the first run: before the fix the reset answers 200 and both rows stay."""
    with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
        conn.execute(RESET_SIDE)
        conn.execute("insert into reset_side.a_parent values (1) on conflict do nothing; "
                     "insert into reset_side.b_child values (1, 1) on conflict do nothing")
    try:
        _, http = make_gateway(schemas=("public", "reset_side"))
        response = http.post("/__dualsync/reset")
        assert response.status_code == 200, response.text
        with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
            left = conn.execute("select (select count(*) from reset_side.a_parent), "
                                "(select count(*) from reset_side.b_child)").fetchone()
        assert left == (0, 0), f"rows left in the exposed schema after the reset: {left}"
    finally:
        with psycopg.connect(pg_database.admin.dsn(), autocommit=True) as conn:
            conn.execute("drop schema reset_side cascade")
