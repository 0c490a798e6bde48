"""Run the gateway standalone, for a phone simulator, another language's client or a second target.

    python -m dualsync.fakes.supabase --port 54321 [--dsn postgresql://postgres:pw@127.0.0.1:5432/app]
                             [--sql extra.sql ...] [--jwt-secret S] [--apikey-profile hosted|cli]
                             [--jwt-algorithm HS256|RS256|ES256 [--jwt-key private.jwk.json]]
                             [--anonymous-sign-ins] [--schemas public,personal]
                             [--db-tx-end commit|commit-allow-override|rollback|rollback-allow-override]

Without --dsn an embedded PostgreSQL is started (and removed on exit). With --dsn the schema is
applied to that database unless it is already there; the --sql files are applied either way.
Prints the base URL, the anon key and the service key, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import threading
from pathlib import Path

import psycopg

from ..cli import Parser, check_free, port
from . import dbconfig, tokens
from .gateway import Gateway, GatewayConfig
from .keys import ALGORITHMS, KeySet, SigningKeyError, load_jwk_file
from .serving import LoopbackServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = Parser(prog="python -m dualsync.fakes.supabase", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=port, default=54321, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
    parser.add_argument("--dsn", help="a superuser DSN of an existing database (default: embedded PostgreSQL)")
    parser.add_argument("--app", default=None, help="the app profile whose tables to create: a shipped "
                        "name (fitme, notes) or a profile file (default: fitme)")
    parser.add_argument("--sql", nargs="*", default=[], type=Path, help="extra SQL files applied after the schema")
    parser.add_argument("--jwt-secret", default=tokens.DEFAULT_SECRET, help="HS256 secret (default: the CLI's)")
    parser.add_argument("--apikey-profile", default="hosted", choices=("hosted", "cli"),
                        help="hosted: requests without a valid apikey get 401; cli: apikey not checked")
    parser.add_argument("--jwt-algorithm", default="HS256", choices=ALGORITHMS,
                        help="how GoTrue signs access tokens; RS256/ES256 publish the public key at "
                             "/auth/v1/.well-known/jwks.json (default HS256, the secret)")
    parser.add_argument("--jwt-key", type=Path, help="a file holding the RS256/ES256 private key as a JWK (or a list of JWKs, "
                        "as GOTRUE_JWT_KEYS holds them); default: a key generated at start")
    parser.add_argument("--anonymous-sign-ins", action="store_true",
                        help="allow POST /auth/v1/signup without email or phone (off, as in the Supabase CLI)")
    parser.add_argument("--schemas", default="public", type=schema_list,
                        help="the exposed schemas, comma-separated, the first the default (PostgREST's db-schemas; "
                             "Accept-Profile / Content-Profile pick another); the database's pgrst.db_schemas "
                             "setting overrides it (default: public)")
    parser.add_argument("--db-tx-end", default="commit", choices=tuple(dbconfig.TX_END),
                        help="PostgREST's db-tx-end (PGRST_DB_TX_END; default commit, as Supabase runs it); the "
                             "authenticator's pgrst.db_tx_end role setting overrides it, as in PostgREST")
    args = parser.parse_args(argv)
    args.jwt_jwk = None
    if args.jwt_key is not None:
        if args.jwt_algorithm == "HS256":
            parser.error("--jwt-key: give --jwt-algorithm RS256 or ES256 too (HS256 signs with --jwt-secret)")
        try:
            args.jwt_jwk = load_jwk_file(args.jwt_key)
            KeySet(args.jwt_secret, args.jwt_algorithm, args.jwt_jwk)
        except OSError as exc:
            parser.error(f"--jwt-key {args.jwt_key}: {exc.strerror}")
        except (ValueError, SigningKeyError) as exc:
            parser.error(f"--jwt-key {args.jwt_key}: {exc}")
    for path in args.sql:
        if not path.is_file():
            parser.error(f"--sql {path}: no such file")
    from dualsync.apps import AppError, load
    try:
        args.app = load(args.app)
    except AppError as exc:
        parser.error(f"--app: {exc}")
    if args.dsn:
        from dualsync.fakes.postgres import validate
        if not args.dsn.startswith(("postgres://", "postgresql://")):
            parser.error(f"--dsn {args.dsn}: not a DSN; give postgresql://USER:PASSWORD@HOST:PORT/DBNAME")
        validate(args.dsn)
    check_free(parser, args.host, args.port)
    return args


def schema_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r} has an empty schema name; give names separated by commas, "
                                         "e.g. public,personal")
    return names


def prepare_dsn(dsn: str, extra: list[Path], app=None):
    """An existing database: apply the schema if absent, then the extra files; returns (admin, authenticator)."""
    from dualsync.fakes.postgres import migrations
    from dualsync.fakes.postgres.database import authenticator_login
    from dualsync.fakes.postgres.url import parse_dsn
    admin = parse_dsn(dsn)
    with psycopg.connect(admin.dsn(), autocommit=True) as conn:
        present = conn.execute("select to_regnamespace('dualsync') is not null").fetchone()[0]
        items = migrations.sources(app, extra)
        migrations.apply(conn, items[len(items) - len(extra):] if present else items)
    return admin, authenticator_login(admin)


def open_database(args):
    """(admin ConnInfo, authenticator ConnInfo, cleanup, how the gateway reaches them: a DSN suffix)."""
    if args.dsn:
        admin, login = prepare_dsn(args.dsn, args.sql, args.app)
        return admin, login, lambda: None, ""
    from dualsync.fakes.postgres import start_server
    server = start_server("embedded", extra_sql=tuple(args.sql), app=args.app)
    db = server.new_database("gateway")

    def cleanup():
        server.drop_database(db)
        server.stop()
    # The embedded server also listens on a Unix socket in its work directory: the gateway's own
    # connections use it (a round trip costs about half of loopback TCP's); the DSN printed for
    # people stays the TCP one.
    workdir = getattr(server.provider, "workdir", None)
    return db.admin, db.authenticator, cleanup, f"?host={workdir}" if workdir else ""


def in_db_config_problem(login_dsn: str) -> str | None:
    """PostgREST's start-up read of its in-database configuration: a value it refuses stops it."""
    with psycopg.connect(login_dsn) as conn:
        settings = dbconfig.read_sync(conn)
    try:
        dbconfig.parse(settings)        # only a database value can be invalid here: argparse checked ours
    except dbconfig.ConfigError as exc:
        return (f"the authenticator's role setting pgrst.db_tx_end = {settings.get('db_tx_end')!r}: {exc} "
                f"Use one of {', '.join(dbconfig.TX_END)}")
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from dualsync.fakes.postgres.migrations import MigrationError
    try:
        admin, login, cleanup, via = open_database(args)
    except MigrationError as exc:   # an --sql file PostgreSQL refuses: one line naming it, nothing left running
        print(f"python -m dualsync.fakes.supabase: error: --sql {' '.join(str(exc).split())}; fix that file",
              file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:    # --dsn names a server that cannot be reached or refuses us
        from dualsync.fakes.postgres.url import parse_dsn
        why = " ".join(str(exc).split())
        print(f"python -m dualsync.fakes.supabase: error: --dsn {parse_dsn(args.dsn).redacted()}: {why}; "
              "check the host, port, user and password", file=sys.stderr)
        return 2
    try:
        problem = in_db_config_problem(login.dsn() + via)
        if problem:
            print(f"python -m dualsync.fakes.supabase: error: {problem}", file=sys.stderr)
            return 2
        config = GatewayConfig(rest_dsn=login.dsn() + via, admin_dsn=admin.dsn() + via, jwt_secret=args.jwt_secret,
                               apikey_profile=args.apikey_profile, jwt_algorithm=args.jwt_algorithm,
                               jwt_signing_jwk=args.jwt_jwk, anonymous_sign_ins=args.anonymous_sign_ins,
                               schemas=args.schemas, db_tx_end=args.db_tx_end)
        server = LoopbackServer(Gateway(config).app, port=args.port, host=args.host).start()
        gc.freeze()     # what start-up built lives as long as the process: full collections skip it
        print(f"API URL: {server.url}\nanon key: {config.anon_key}\nservice_role key: {config.service_key}\n"
              f"database: {admin.redacted()}", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        server.stop()
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    from dualsync.fakes import stops  # SIGTERM/SIGINT: servers stopped, one line, 128+signal
    sys.exit(stops.run(main))
