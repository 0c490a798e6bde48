"""python -m dualsync.fakes.postgres describe [--postgres SPEC]

Starts a server from the chosen provider, builds the schema, prints the provider, the server version
and every synced table with its RLS policies, then stops the server.
"""

from __future__ import annotations

import sys

from ..cli import Parser
from . import ProviderError, spec_from_env, start_server, validate

POLICIES = """
select c.relname, c.relrowsecurity, coalesce(string_agg(p.policyname || ' (' || p.cmd || ' to '
       || array_to_string(p.roles, ',') || ')', '; ' order by p.policyname), '')
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  left join pg_policies p on p.schemaname = n.nspname and p.tablename = c.relname
 where n.nspname = 'public' and c.relkind = 'r'
 group by c.relname, c.relrowsecurity order by c.relname
"""


def describe(spec: str) -> int:
    server = start_server(spec)
    try:
        print(server.describe())
        db = server.new_database("describe")
        try:
            with db.connect() as conn:
                rows = conn.execute(POLICIES).fetchall()
        finally:
            server.drop_database(db)
        print(f"schema template: {server.template}")
        for table, rls, policies in rows:
            print(f"  public.{table:<17} RLS {'on ' if rls else 'OFF'}  {policies}")
    finally:
        server.stop()
    print("server stopped")
    return 0


def main(argv: list[str]) -> int:
    ap = Parser(prog="python -m dualsync.fakes.postgres", description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["describe"])
    ap.add_argument("--postgres", default=None, help="embedded | docker | auto | postgresql://... (env DUALSYNC_POSTGRES)")
    args = ap.parse_args(argv)
    try:
        return describe(validate(args.postgres or spec_from_env()))
    except (ValueError, ProviderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
