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

notify pgrst, 'reload schema';

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

notify pgrst, 'reload schema';
