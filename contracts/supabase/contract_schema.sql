-- Functions the Supabase contract suite calls through /rest/v1/rpc. Load them into a real stack with
--   psql "$DB_URL" -f contracts/supabase/contract_schema.sql
-- (the gateway targets load them themselves). Idempotent.
create or replace function public.contract_echo(message text) returns text
  language sql stable as $$ select message $$;

create or replace function public.contract_add(a integer, b integer default 1) returns integer
  language sql immutable as $$ select a + b $$;

create or replace function public.contract_noop() returns void
  language sql volatile as $$ select $$;

create or replace function public.contract_my_logs() returns setof public.daily_logs
  language sql stable as $$ select * from public.daily_logs $$;

create or replace function public.contract_numbers(n integer) returns setof integer
  language sql immutable as $$ select generate_series(1, n) $$;

grant execute on function public.contract_echo(text), public.contract_add(integer, integer),
  public.contract_noop(), public.contract_my_logs(), public.contract_numbers(integer)
  to anon, authenticated, service_role;

-- ---- i17b: RPC semantics (contracts/supabase/test_rpc_*.py) ----------------------------------
do $$ begin
  create type public.contract_rpc_pair as (id integer, label text);
exception when duplicate_object then null;
end $$;

create or replace function public.contract_rpc_pair(id integer default 1) returns public.contract_rpc_pair
  language sql stable as $$ select id, 'pair ' || id $$;

create or replace function public.contract_rpc_pairs(n integer) returns setof public.contract_rpc_pair
  language sql stable as $$ select i, 'pair ' || i from generate_series(1, n) i $$;

-- overloads: resolvable by argument names, and ambiguous ones (same names, other types)
create or replace function public.contract_rpc_over() returns setof integer
  language sql immutable as $$ select generate_series(1, 3) $$;
create or replace function public.contract_rpc_over(a integer, b integer) returns integer
  language sql immutable as $$ select a + b $$;
create or replace function public.contract_rpc_over(a text, b text, c text) returns text
  language sql immutable as $$ select a || b || c $$;
create or replace function public.contract_rpc_same(arg integer) returns text
  language sql immutable as $$ select 'integer' $$;
create or replace function public.contract_rpc_same(arg xml) returns text
  language sql immutable as $$ select 'xml' $$;
create or replace function public.contract_rpc_same(arg text, num integer default 0) returns text
  language sql immutable as $$ select 'text' $$;

-- single unnamed parameters: json/jsonb/text are callable, an integer one is not in the schema cache
create or replace function public.contract_rpc_unnamed_json(json) returns json
  language sql immutable as $$ select $1 $$;
create or replace function public.contract_rpc_unnamed_text(text) returns text
  language sql immutable as $$ select $1 $$;
create or replace function public.contract_rpc_unnamed_int(integer) returns integer
  language sql immutable as $$ select $1 $$;
create or replace function public.contract_rpc_unnamed_bytea(bytea) returns bytea
  language sql immutable as $$ select $1 $$;
create or replace function public.contract_rpc_unnamed_xml(xml) returns text
  language sql immutable as $$ select $1::text $$;
create or replace function public.contract_rpc_poly(boolean) returns integer
  language sql immutable as $$ select 1 $$;
create or replace function public.contract_rpc_poly(integer) returns integer
  language sql immutable as $$ select 2 $$;
create or replace function public.contract_rpc_poly(text) returns text
  language sql immutable as $$ select 'text: ' || $1 $$;
create or replace function public.contract_rpc_unnamed_default() returns integer
  language sql immutable as $$ select 1 $$;
create or replace function public.contract_rpc_unnamed_default(text default 'd') returns text
  language sql immutable as $$ select 'text' $$;
create or replace function public.contract_rpc_named_json(data json) returns json
  language sql immutable as $$ select data $$;
-- one unnamed json parameter beside a named one: in PostgREST's cache, but the call names "" (42601)
create or replace function public.contract_rpc_mixed(json, b integer) returns integer
  language sql immutable as $$ select b $$;

-- writes, for Prefer: handling=strict, max-affected=N (rolled back when exceeded)
create or replace function public.contract_rpc_make_logs(n integer, tag text) returns setof public.daily_logs
  language sql volatile as $$
    insert into public.daily_logs (id, payload, client_modified_at)
    select gen_random_uuid(), tag, '2030-01-01T00:00:00Z' from generate_series(1, n)
    returning * $$;
create or replace function public.contract_rpc_make_log(tag text) returns void
  language sql volatile as $$
    insert into public.daily_logs (id, payload, client_modified_at)
    values (gen_random_uuid(), tag, '2030-01-01T00:00:00Z') $$;

-- argument types from the query string, variadic arguments
create or replace function public.contract_rpc_types(d date, b boolean, arr text[], n numeric, j jsonb default null)
  returns json language sql immutable as $$ select json_build_object('d', d, 'b', b, 'arr', arr, 'n', n, 'j', j) $$;
create or replace function public.contract_rpc_variadic(variadic v text[] default '{}') returns text[]
  language sql immutable as $$ select v $$;
create or replace function public.contract_rpc_inout(inout num integer) language sql immutable as $$ select num + 1 $$;
create or replace function public.contract_rpc_table(n integer) returns table (i integer, label text)
  language sql immutable as $$ select g, 'row ' || g from generate_series(1, n) g $$;

grant execute on function public.contract_rpc_pair(integer), public.contract_rpc_pairs(integer),
  public.contract_rpc_over(), public.contract_rpc_over(integer, integer), public.contract_rpc_over(text, text, text),
  public.contract_rpc_same(integer), public.contract_rpc_same(xml), public.contract_rpc_same(text, integer),
  public.contract_rpc_unnamed_json(json), public.contract_rpc_unnamed_text(text), public.contract_rpc_unnamed_int(integer),
  public.contract_rpc_unnamed_bytea(bytea), public.contract_rpc_unnamed_xml(xml),
  public.contract_rpc_poly(boolean), public.contract_rpc_poly(integer), public.contract_rpc_poly(text),
  public.contract_rpc_unnamed_default(), public.contract_rpc_unnamed_default(text), public.contract_rpc_named_json(json),
  public.contract_rpc_mixed(json, integer),
  public.contract_rpc_make_logs(integer, text), public.contract_rpc_make_log(text),
  public.contract_rpc_types(date, boolean, text[], numeric, jsonb), public.contract_rpc_variadic(text[]),
  public.contract_rpc_inout(integer), public.contract_rpc_table(integer)
  to anon, authenticated, service_role;

notify pgrst, 'reload schema';

-- ---- resource embedding (contracts/supabase/test_embedding*.py) ------------------------------
-- parents 1..3; children (to-many), profiles (one-to-one: the FK is the primary key), tags through
-- parent_tags (many-to-many), messages (two FKs to parents: ambiguous), nodes (self-reference),
-- secrets (RLS: only visible rows), a view over children, computed relationships. Every FK cascades,
-- so the harness's reset (delete from every public table, by name) never trips on them.
create table if not exists public.emb_parents (id integer primary key, name text not null);
create table if not exists public.emb_children (
  id integer primary key, parent_id integer references public.emb_parents (id) on delete cascade,
  name text not null, rank integer);
create table if not exists public.emb_profiles (
  parent_id integer primary key references public.emb_parents (id) on delete cascade, bio text);
create table if not exists public.emb_tags (id integer primary key, label text not null);
create table if not exists public.emb_parent_tags (
  parent_id integer references public.emb_parents (id) on delete cascade,
  tag_id integer references public.emb_tags (id) on delete cascade, primary key (parent_id, tag_id));
create table if not exists public.emb_messages (
  id integer primary key, body text,
  sender_id integer constraint emb_messages_sender_fkey references public.emb_parents (id) on delete cascade,
  receiver_id integer constraint emb_messages_receiver_fkey references public.emb_parents (id) on delete cascade);
create table if not exists public.emb_nodes (
  id integer primary key, name text, up_id integer references public.emb_nodes (id) on delete cascade);
create table if not exists public.emb_secrets (
  id integer primary key, parent_id integer references public.emb_parents (id) on delete cascade,
  visible boolean not null, note text);

create table if not exists public.emb_passports (     -- one-to-one through a UNIQUE constraint
  id integer primary key, parent_id integer unique references public.emb_parents (id) on delete cascade);
create table if not exists public.emb_tag_notes (     -- a composite foreign key
  id integer primary key, parent_id integer, tag_id integer, note text,
  foreign key (parent_id, tag_id) references public.emb_parent_tags (parent_id, tag_id) on delete cascade);

-- Tables in a schema the API does not expose, shown through views: the views' relationship comes
-- from the private tables' foreign key.
create schema if not exists emb_private;
create table if not exists emb_private.owners (id integer primary key, name text not null);
create table if not exists emb_private.pets (
  id integer primary key, owner_id integer references emb_private.owners (id) on delete cascade, name text not null);
create or replace view public.emb_owners as select o.id, o.name from emb_private.owners o;
create or replace view public.emb_pets as select p.id, p.owner_id as keeper, p.name from emb_private.pets p;

create or replace view public.emb_children_view as
  select c.id, c.parent_id as owner_id, c.name from public.emb_children c;

create or replace view public.emb_children_named as   -- a view over the view: origins followed through both
  select v.id as child_id, v.owner_id as pid, upper(v.name) as shout from public.emb_children_view v;

create or replace function public.emb_kids(public.emb_parents) returns setof public.emb_children
  language sql stable as $$ select * from public.emb_children where parent_id = $1.id order by id $$;
create or replace function public.emb_eldest(public.emb_parents) returns setof public.emb_children rows 1
  language sql stable as $$ select * from public.emb_children where parent_id = $1.id order by rank, id limit 1 $$;
create or replace function public.emb_parents_named(prefix text) returns setof public.emb_parents
  language sql stable as $$ select * from public.emb_parents where name like prefix || '%' $$;

create or replace function public.emb_parent(pid integer) returns public.emb_parents
  language sql stable as $$ select * from public.emb_parents where id = pid $$;

-- The rows, (re)written by the tests themselves: the harness may empty every table between tests.
create or replace function public.emb_seed() returns void language sql volatile security definer
  set search_path = public as $$
  insert into public.emb_parents values (1, 'Ada'), (2, 'Bo'), (3, 'Cy') on conflict do nothing;
  insert into public.emb_children values (10, 1, 'a1', 2), (11, 1, 'a2', 1), (12, 2, 'b1', 1), (13, null, 'orphan', 3)
    on conflict do nothing;
  insert into public.emb_profiles values (1, 'first'), (2, 'second') on conflict do nothing;
  insert into public.emb_tags values (100, 'red'), (101, 'blue'), (102, 'green') on conflict do nothing;
  insert into public.emb_parent_tags values (1, 100), (1, 101), (2, 101) on conflict do nothing;
  insert into public.emb_messages values (1000, 'hi', 1, 2), (1001, 'yo', 2, 1), (1002, 'me', 1, 1)
    on conflict do nothing;
  insert into public.emb_nodes values (1, 'root', null), (2, 'left', 1), (3, 'right', 1), (4, 'leaf', 2)
    on conflict do nothing;
  insert into public.emb_passports values (7, 2) on conflict do nothing;
  insert into public.emb_tag_notes values (1, 1, 101, 'ada likes blue') on conflict do nothing;
  insert into emb_private.owners values (1, 'Ola') on conflict do nothing;
  insert into emb_private.pets values (1, 1, 'Rex'), (2, 1, 'Tom') on conflict do nothing;
  insert into public.emb_secrets values (1, 1, true, 'shown'), (2, 1, false, 'hidden'), (3, 2, false, 'hidden')
    on conflict do nothing;
$$;

do $$
declare t text;
begin
  foreach t in array array['emb_parents', 'emb_children', 'emb_profiles', 'emb_tags', 'emb_parent_tags',
                           'emb_messages', 'emb_nodes', 'emb_secrets', 'emb_passports', 'emb_tag_notes'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('drop policy if exists emb_read on public.%I', t);
    execute format('create policy emb_read on public.%I for select using (%s)', t,
                   case when t = 'emb_secrets' then 'visible' else 'true' end);
    execute format('grant select on public.%I to anon, authenticated, service_role', t);
  end loop;
end $$;
grant select on public.emb_children_view, public.emb_children_named, public.emb_owners, public.emb_pets
  to anon, authenticated, service_role;
grant insert, delete on public.emb_children to service_role;
grant execute on function public.emb_kids(public.emb_parents), public.emb_eldest(public.emb_parents),
  public.emb_parents_named(text), public.emb_parent(integer) to anon, authenticated, service_role;
revoke execute on function public.emb_seed() from public, anon, authenticated;
grant execute on function public.emb_seed() to service_role;

-- ---- REST behaviours (test_rest_prefer.py, test_rest_media.py) ----------------------------------
-- One table every such test writes under its own `tag`: an array column for `cs`/`ov` in logic trees,
-- a sequence default for missing=default, a nullable column for nulls=stripped and CSV, a timestamptz
-- for Prefer: timezone. Its policy reads request.headers, so a header can narrow what a request sees.
create sequence if not exists public.contract_rest_seq;
create table if not exists public.contract_rest_items (
  id uuid primary key default gen_random_uuid(),
  tag text not null default '',
  n bigint not null default nextval('public.contract_rest_seq'),
  labels text[] not null default '{}',
  note text,
  at timestamptz not null default now()
);
alter table public.contract_rest_items enable row level security;
drop policy if exists contract_rest_items_by_header on public.contract_rest_items;
create policy contract_rest_items_by_header on public.contract_rest_items for all to anon, authenticated
  using (tag = coalesce(current_setting('request.headers', true)::json ->> 'x-contract-tag', tag))
  with check (true);
grant select, insert, update, delete on public.contract_rest_items to anon, authenticated, service_role;
grant usage on sequence public.contract_rest_seq to anon, authenticated, service_role;

create or replace function public.contract_request_settings() returns json
  language sql stable as $$
    select json_build_object('headers', current_setting('request.headers', true)::json,
                             'cookies', current_setting('request.cookies', true)::json,
                             'path', current_setting('request.path', true),
                             'method', current_setting('request.method', true),
                             'timezone', current_setting('timezone'))
  $$;
grant execute on function public.contract_request_settings() to anon, authenticated, service_role;

create or replace function public.contract_respond(status text, headers text) returns text
  language plpgsql stable as $$
  begin
    perform set_config('response.status', status, true);
    perform set_config('response.headers', headers, true);
    return 'shaped';
  end $$;
grant execute on function public.contract_respond(text, text) to anon, authenticated, service_role;

-- A custom media type handler: a domain named as the media type, returned by a function.
do $$ begin create domain public."text/html" as text; exception when duplicate_object then null; end $$;
create or replace function public.contract_page() returns public."text/html"
  language sql stable as $$ select '<p>hi</p>'::public."text/html" $$;
grant execute on function public.contract_page() to anon, authenticated, service_role;

-- ---- i18a: transaction end (test_rest_tx.py) --------------------------------------------------
-- PostgREST's db-tx-end is in-database configuration: the authenticator's `pgrst.db_tx_end` role
-- setting, re-read on `NOTIFY pgrst, 'reload config'`. The contracts switch it over HTTP with the
-- service key (only to 'commit-allow-override' and back, which a request can always undo with
-- `Prefer: tx=commit`), for this database only. '' resets it (PostgREST's default: commit).
create or replace function public.contract_set_tx_end(tx_end text) returns void
  language plpgsql security definer set search_path = '' as $$
  begin
    if tx_end not in ('', 'commit', 'commit-allow-override') then
      raise exception 'contract_set_tx_end: % cannot be undone over HTTP; set it with psql', tx_end;
    end if;
    if tx_end = '' then
      execute format('alter role authenticator in database %I reset pgrst.db_tx_end', current_database());
    else
      execute format('alter role authenticator in database %I set pgrst.db_tx_end = %L', current_database(), tx_end);
    end if;
    perform pg_notify('pgrst', 'reload config');
  end $$;
revoke all on function public.contract_set_tx_end(text) from public, anon, authenticated;
grant execute on function public.contract_set_tx_end(text) to service_role;

-- A volatile function that writes `copies` rows under `tag` and returns them (RPC with tx, max-affected).
create or replace function public.contract_tx_insert(tag text, copies int) returns setof public.contract_rest_items
  language sql volatile as $$
    insert into public.contract_rest_items (tag, note) select tag, 'rpc' from generate_series(1, copies)
    returning *
  $$;
grant execute on function public.contract_tx_insert(text, int) to anon, authenticated, service_role;

-- A deferred unique constraint, broken inside the call: PostgREST checks deferred constraints before
-- a rollback too (SET CONSTRAINTS ALL IMMEDIATE), so the call fails whichever way the transaction ends.
create table if not exists public.contract_tx_deferred (
  col int unique deferrable initially deferred
);
grant select, insert on public.contract_tx_deferred to anon, authenticated, service_role;
create or replace function public.contract_tx_break_deferred() returns int
  language sql volatile as $$
    insert into public.contract_tx_deferred (col) values (1), (1);
    select 1
  $$;
grant execute on function public.contract_tx_break_deferred() to anon, authenticated, service_role;

-- ---- i18b: a second exposed schema (test_rest_schemas.py) -------------------------------------
-- Supabase's "Exposed schemas" are PostgREST's db-schemas, which PostgREST also reads in-database: the
-- authenticator's `pgrst.db_schemas` role setting (a comma list, the first the default), re-read on
-- `NOTIFY pgrst, 'reload config'` (the schema cache on 'reload schema'). The contracts switch it over HTTP with the service key, for this
-- database only, to the one list below; '' resets it. (A listed schema the database lacks fails v14's
-- whole schema cache: every request 503 PGRST002, this switch's too, so no contract lists one.)
create schema if not exists contract_personal;
grant usage on schema contract_personal to anon, authenticated, service_role;

-- A user's own rows (RLS), for authenticated users only (anon has no privilege on it).
create table if not exists contract_personal.notes (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid(),
  body text not null);
alter table contract_personal.notes enable row level security;
drop policy if exists notes_owner on contract_personal.notes;
create policy notes_owner on contract_personal.notes for all to authenticated
  using (owner_id = auth.uid()) with check (owner_id = auth.uid());
grant select, insert, update, delete on contract_personal.notes to authenticated, service_role;

-- The same names as public's embedding tables, other rows: a request must read the schema it selected.
create table if not exists contract_personal.emb_parents (id integer primary key, name text not null);
create table if not exists contract_personal.emb_children (
  id integer primary key, parent_id integer references contract_personal.emb_parents (id) on delete cascade,
  name text not null);
insert into contract_personal.emb_parents values (1, 'Pia'), (2, 'Quin') on conflict do nothing;
insert into contract_personal.emb_children values (20, 1, 'p1'), (21, 1, 'p2') on conflict do nothing;
-- A foreign key into another exposed schema: v14 finds relationships within the request's schema only.
create table if not exists contract_personal.links (
  id integer primary key, parent_id integer references public.emb_parents (id) on delete cascade);
grant select on contract_personal.emb_parents, contract_personal.emb_children, contract_personal.links
  to anon, authenticated, service_role;

-- search_path is the request's schema and then the extra search path (Supabase: public, extensions).
create or replace function contract_personal.contract_where() returns json
  language sql stable as $$
    select json_build_object('search_path', current_setting('search_path'), 'schema', current_schema()) $$;
create or replace function public.contract_where() returns json
  language sql stable as $$
    select json_build_object('search_path', current_setting('search_path'), 'schema', current_schema()) $$;
create or replace function contract_personal.add_note(note text) returns contract_personal.notes
  language sql volatile as $$ insert into contract_personal.notes (body) values (note) returning * $$;
create or replace function contract_personal.parents_named(prefix text) returns setof contract_personal.emb_parents
  language sql stable as $$ select * from contract_personal.emb_parents where name like prefix || '%' $$;
grant execute on function contract_personal.contract_where(), public.contract_where(),
  contract_personal.add_note(text), contract_personal.parents_named(text) to anon, authenticated, service_role;

create or replace function public.contract_expose_schemas(schemas text) returns void
  language plpgsql security definer set search_path = '' as $$
  begin
    if schemas not in ('', 'public, contract_personal') then
      raise exception 'contract_expose_schemas: % is not the contracts'' list; set it with psql', schemas;
    end if;
    if schemas = '' then
      execute format('alter role authenticator in database %I reset pgrst.db_schemas', current_database());
    else
      execute format('alter role authenticator in database %I set pgrst.db_schemas = %L', current_database(), schemas);
    end if;
    -- 'reload config' alone changes the list, not the cached tables: PostgREST's own fixtures send both
    perform pg_notify('pgrst', 'reload config');
    perform pg_notify('pgrst', 'reload schema');
  end $$;
revoke all on function public.contract_expose_schemas(text) from public, anon, authenticated;
grant execute on function public.contract_expose_schemas(text) to service_role;

notify pgrst, 'reload schema';
