-- The app's synced tables. Every row is owned by one user and carries the device-encrypted payload;
-- the server stamps `updated_at` itself, so a pull cursor orders rows by the server's clock, never a
-- device's.
create schema if not exists dualsync;

-- The server clock. A real server uses the transaction time (as Supabase's moddatetime does); the
-- suite's World clock is virtual, so a request may pin it through the `dualsync.now` setting.
create function dualsync.server_now() returns timestamptz language sql stable as $$
  select coalesce(nullif(current_setting('dualsync.now', true), '')::timestamptz, now())
$$;

create function dualsync.stamp_updated_at() returns trigger language plpgsql as $$
begin
  new.updated_at := dualsync.server_now();
  return new;
end
$$;

grant usage on schema dualsync to anon, authenticated, service_role;
grant execute on all functions in schema dualsync to anon, authenticated, service_role;

do $$
declare
  t text;
begin
  foreach t in array array['profiles', 'daily_logs', 'weekly_snapshots', 'cardio_sessions', 'photos'] loop
    execute format($f$
      create table public.%1$I (
        id uuid primary key,
        user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
        payload text not null,
        key_version integer not null default 1,
        client_modified_at timestamptz not null,
        updated_at timestamptz not null default dualsync.server_now(),
        deleted boolean not null default false
      );
      comment on column public.%1$I.payload is 'base64 AES-GCM ciphertext: the device encrypts rows before upload';
      create index %1$s_pull_cursor on public.%1$I (user_id, updated_at, id);
      create trigger stamp_updated_at before insert or update on public.%1$I
        for each row execute function dualsync.stamp_updated_at();
      alter table public.%1$I enable row level security;
      create policy "owner reads" on public.%1$I for select to authenticated
        using (auth.uid() = user_id);
      create policy "owner inserts" on public.%1$I for insert to authenticated
        with check (auth.uid() = user_id);
      create policy "owner updates" on public.%1$I for update to authenticated
        using (auth.uid() = user_id) with check (auth.uid() = user_id);
      create policy "owner deletes" on public.%1$I for delete to authenticated
        using (auth.uid() = user_id);
      grant all on public.%1$I to anon, authenticated, service_role;
    $f$, t);
  end loop;
end
$$;
