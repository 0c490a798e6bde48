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
