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

grant execute on all functions in schema public to anon, authenticated, service_role;

notify pgrst, 'reload schema';
