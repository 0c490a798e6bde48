"""The Supabase migration of an app profile: one table per record type that syncs through Supabase.

Every table has the owner column (RLS: a user reads and writes only their rows), the server-stamped
cursor column (set by trigger from `dualsync.server_now()`, never by a device), the id, the tombstone
flag, the profile's extra columns, and either the sealed payload columns or one column per field.
"""

from __future__ import annotations

from .model import App, RecordType

SQL_TYPES = {"text": "text", "int": "bigint", "float": "double precision", "bool": "boolean",
             "date": "date", "datetime": "timestamptz", "json": "jsonb"}


def _columns(app: App, rt: RecordType) -> list[str]:
    time_col, tie_col = app.cursor
    cols = [f"{tie_col} {'uuid' if rt.id == 'uuid' else 'text'} primary key",
            f"{app.owner} uuid not null default auth.uid() references auth.users (id) on delete cascade"]
    if app.envelope.kind == "sealed":
        cols += [f"{app.envelope.payload} text not null",
                 f"{app.envelope.key_version} integer not null default 1"]
    else:
        cols += [f"{app.envelope.marker} text"]
        cols += [f"{name} {SQL_TYPES[kind]}" for name, kind in rt.fields.items()]
    cols += [f"{name} {SQL_TYPES[kind]} not null" for name, kind in app.columns.items()]
    cols += [f"{time_col} timestamptz not null default dualsync.server_now()",
             f"{app.deleted} boolean not null default false"]
    return cols


SERVER_CLOCK = """
-- The server clock the cursor column is stamped from. A real server uses the transaction time (as
-- Supabase's moddatetime does); dualsync's World clock is virtual, so a request may pin it through
-- the `dualsync.now` setting.
create schema if not exists dualsync;
create or replace function dualsync.server_now() returns timestamptz language sql stable as $$
  select coalesce(nullif(current_setting('dualsync.now', true), '')::timestamptz, now())
$$;
-- A trigger: `stamp_server_time('<column>')` sets that column to the server clock on every write,
-- whatever the client sent.
create or replace function dualsync.stamp_server_time() returns trigger language plpgsql as $$
begin
  new := jsonb_populate_record(new, jsonb_build_object(tg_argv[0], dualsync.server_now()));
  return new;
end
$$;
grant usage on schema dualsync to anon, authenticated, service_role;
grant execute on all functions in schema dualsync to anon, authenticated, service_role;
"""


def migration(app: App) -> str:
    """The SQL that creates the app's tables, their cursor index, trigger and RLS policies, and the
    server clock they are stamped from: all a Supabase database (with its auth schema) needs."""
    time_col, tie_col = app.cursor
    out = [f"-- generated from the app profile {app.name!r} (version {app.version}); do not edit",
           SERVER_CLOCK]
    for rt in app.on("supabase"):
        t, owner = rt.table, app.owner
        cols = ",\n  ".join(_columns(app, rt))
        out.append(f"""
create table public.{t} (
  {cols}
);
create index {t}_pull_cursor on public.{t} ({owner}, {time_col}, {tie_col});
create trigger stamp_{time_col} before insert or update on public.{t}
  for each row execute function dualsync.stamp_server_time('{time_col}');
alter table public.{t} enable row level security;
create policy "owner reads" on public.{t} for select to authenticated using (auth.uid() = {owner});
create policy "owner inserts" on public.{t} for insert to authenticated with check (auth.uid() = {owner});
create policy "owner updates" on public.{t} for update to authenticated
  using (auth.uid() = {owner}) with check (auth.uid() = {owner});
create policy "owner deletes" on public.{t} for delete to authenticated using (auth.uid() = {owner});
grant all on public.{t} to anon, authenticated, service_role;""")
    return "\n".join(out) + "\n"
