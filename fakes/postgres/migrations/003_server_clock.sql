-- The server clock the app tables' cursor column is stamped from. A real server uses the transaction
-- time (as Supabase's moddatetime does); the suite's World clock is virtual, so a request may pin it
-- through the `dualsync.now` setting. The app's own tables come from its profile (dualsync.apps).
create schema if not exists dualsync;

create function dualsync.server_now() returns timestamptz language sql stable as $$
  select coalesce(nullif(current_setting('dualsync.now', true), '')::timestamptz, now())
$$;

-- A trigger: `stamp_server_time('<column>')` sets that column to the server clock on every write,
-- whatever the client sent.
create function dualsync.stamp_server_time() returns trigger language plpgsql as $$
begin
  new := jsonb_populate_record(new, jsonb_build_object(tg_argv[0], dualsync.server_now()));
  return new;
end
$$;

grant usage on schema dualsync to anon, authenticated, service_role;
grant execute on all functions in schema dualsync to anon, authenticated, service_role;
