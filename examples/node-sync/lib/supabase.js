'use strict';
// The Supabase sync path on supabase-js: GoTrue password sign-in (the session kept in the store,
// through auth-js's storage adapter), cursor pulls over PostgREST ordered by the server's
// updated_at with the id as tie-break, and uploads (legacy: a blind upsert; fixed: insert-if-absent,
// then an update filtered on client_modified_at so an older edit never replaces a newer row).
const { createClient } = require('@supabase/supabase-js');
const { AppError, isTransport } = require('./errors');
const codec = require('./codec');
const { ROUTES, pending } = require('./store');

const TABLES = Object.keys(ROUTES).filter((t) => ROUTES[t].includes('supabase'));
const PAGE = 100;         // rows per pull request; configure.page_size overrides it (not in protocol v1)
const LOOKBACK_S = 10;   // fixed: re-read this much server time behind the cursor (late commits)

class NoWebSocket {
  constructor() { throw new Error('node-sync does not use Supabase Realtime'); }
}

function failure(what, error, status) {
  if (isTransport(error, status)) return new AppError('transport', `supabase ${what}: ${error.message}`);
  const transient = [429, 503].includes(status);
  if (status === 401) return new AppError('not_signed_in', `supabase ${what}: ${error.message}`);
  return new AppError('backend', `supabase ${what}: ${status} ${error.code || ''} ${error.message}`.trim(), transient);
}

class SupabasePath {
  constructor(device) {
    this.device = device;
    this._client = null;
  }

  // Built on first use: a device that never talks to Supabase (the harness's decoder) needs no
  // project URL or key.
  get client() {
    if (this._client) return this._client;
    const { device } = this;
    const storage = {
      getItem: (k) => (device.store.session.supabase_auth || {})[k] ?? null,
      setItem: (k, v) => { device.store.session.supabase_auth = { ...(device.store.session.supabase_auth || {}), [k]: v }; },
      removeItem: (k) => { const s = { ...(device.store.session.supabase_auth || {}) }; delete s[k]; device.store.session.supabase_auth = s; },
    };
    const { url, anon_key: anonKey } = device.config.supabase;
    if (!url || !anonKey) throw new AppError('invalid', 'configure.supabase needs url and anon_key');
    this._client = createClient(url, anonKey, {
      auth: { storage, persistSession: true, autoRefreshToken: false, detectSessionInUrl: false },
      global: { fetch: device.fetchFor('supabase') },
      // The sync path never opens Realtime; on Node 20 (no global WebSocket) supabase-js wants a
      // transport named up front, so it gets one that refuses to connect.
      realtime: { transport: NoWebSocket },
    });
    return this._client;
  }

  async userId() {
    const { data, error } = await this.client.auth.getSession();
    if (error || !data.session) {
      throw new AppError('not_signed_in', `no Supabase session${error ? ` (${error.message})` : ''}: sign in first`);
    }
    return data.session.user.id;
  }

  currentUserId() { return this.userId(); }

  async signUp(email, password) {
    const { data, error } = await this.client.auth.signUp({ email, password });
    if (error) throw failure('sign-up', error, error.status);
    if (!data.session) await this.signIn(email, password);   // confirmations on: sign in for a session
  }

  async signIn(email, password) {
    const { error } = await this.client.auth.signInWithPassword({ email, password });
    if (error) throw failure('sign-in', error, error.status);
  }

  async signOut() {
    await this.client.auth.signOut({ scope: 'local' });
  }

  // -- pull ---------------------------------------------------------------------------------

  pageSize() {
    const n = this.device.config.page_size;
    return Number.isInteger(n) && n > 0 ? n : PAGE;
  }

  async pull(store, merge) {
    const user = await this.userId();
    for (const table of TABLES) await this._pullTable(store, table, merge, user);
  }

  async _pullTable(store, table, merge, user) {
    const cursors = this.device.cursors;
    const start = cursors.get(store, 'supabase', table);
    const fixed = this.device.fixed;
    let position = fixed ? rewound(start) : start;
    let keep = position;
    let failedAt = null;
    for (;;) {
      const rows = await this._page(table, position);
      for (const row of rows) {
        let record;
        try {
          record = codec.open(this.device.keychain, user, table, row.id, row.payload, row.key_version);
        } catch (e) {
          if (e.kind !== 'decrypt') throw e;
          this.device.log(`supabase: ${table}/${row.id} does not open: ${e.message}`);
          failedAt = failedAt || row.id;
          if (!fixed) break;        // as shipped: the throw abandons the rest of the batch...
          continue;
        }
        merge(store, record, 'supabase', { updated_at: row.updated_at });
        if (!failedAt) keep = { updated_at: row.updated_at, id: row.id };
      }
      if (rows.length) position = { updated_at: rows[rows.length - 1].updated_at, id: rows[rows.length - 1].id };
      if (rows.length < this.pageSize()) break;
    }
    // ...and the shipped cursor moves to the end of the page anyway (DEEP-SYNC-002); the fixed
    // one never passes the oldest row that failed to open, so it is fetched again next time.
    const reached = !fixed ? position : (failedAt ? keep : later(start, position));
    cursors.set(store, 'supabase', table, reached);
  }

  async _page(table, position) {
    let query = this.client.from(table).select('*').order('updated_at', { ascending: true })
      .order('id', { ascending: true }).limit(this.pageSize());
    if (position && position.id === null) {
      query = query.gt('updated_at', position.updated_at);
    } else if (position) {
      const ts = position.updated_at;
      query = query.or(`updated_at.gt."${ts}",and(updated_at.eq."${ts}",id.gt.${position.id})`);
    }
    const { data, error, status } = await query;
    if (error) throw failure(`pull ${table}`, error, status);
    if (!Array.isArray(data) || data.some((r) => !r || r.id === undefined || !r.updated_at)) {
      throw new AppError('backend', `supabase pull ${table}: rows lack id/updated_at`);
    }
    return data;
  }

  // -- push ---------------------------------------------------------------------------------

  async push(store) {
    const user = await this.userId();
    for (const table of TABLES) {
      const records = pending(store, 'supabase').filter((r) => r.record_type === table);
      if (records.length) await this._pushTable(store, table, records, user);
    }
  }

  async _pushTable(store, table, records, user) {
    const sent = records.map((r) => ({ id: r.record_id, write_id: r.write_id, rank: [r.modified_us, r.device, r.write_id] }));
    const rows = records.map((r) => this._row(r, user));
    if (!this.device.fixed) {            // as shipped: a blind upsert, the last upload wins
      const { error, status } = await this.client.from(table).upsert(rows, { onConflict: 'id' });
      if (error) throw failure(`push ${table}`, error, status);
      sent.forEach((s) => markSynced(store, table, s));
      return;
    }
    const inserted = await this.client.from(table).upsert(rows, { onConflict: 'id', ignoreDuplicates: true }).select();
    if (inserted.error) throw failure(`push ${table}`, inserted.error, inserted.status);
    const fresh = new Set(inserted.data.map((r) => String(r.id)));
    for (let i = 0; i < records.length; i += 1) {
      if (fresh.has(records[i].record_id) || await this._updateIfNotNewer(table, rows[i], records[i])) {
        markSynced(store, table, sent[i]);
      }
    }
  }

  // Overwrite the server's row only while it holds an earlier edit. A row stamped the same
  // microsecond is overwritten only while it is still the version the last pull showed ranking
  // below ours (its updated_at); otherwise ours stays queued, the pull brings theirs, the merge decides.
  async _updateIfNotNewer(table, row, record) {
    const known = record.remote.supabase || {};
    const below = Array.isArray(known.rank) && require('./store').rankAbove(
      [record.modified_us, record.device, record.write_id], known.rank);
    const stamp = row.client_modified_at;
    const { id, ...body } = row;
    let query = this.client.from(table).update(body).eq('id', id);
    query = below && known.updated_at
      ? query.or(`client_modified_at.lt."${stamp}",and(client_modified_at.eq."${stamp}",updated_at.eq."${known.updated_at}")`)
      : query.lt('client_modified_at', stamp);
    const { data, error, status } = await query.select();
    if (error) throw failure(`update ${table}/${id}`, error, status);
    return data.length === 1;
  }

  _row(record, user) {
    const { payload, version } = codec.seal(this.device.keychain, user, record);
    return { id: record.record_id, payload, key_version: version,
      client_modified_at: codec.isoFromUs(record.modified_us), deleted: record.queued_op === 'delete' };
  }
}

function markSynced(store, table, sent) {
  const record = store.records[table][sent.id];
  if (record) record.remote.supabase = { write_id: sent.write_id, rank: sent.rank };
}

function rewound(start) {
  if (!start) return start;
  const t = new Date(start.updated_at);
  if (Number.isNaN(t.getTime())) throw new AppError('backend', `supabase: cursor ${start.updated_at} is not a timestamp`);
  return { updated_at: new Date(t.getTime() - LOOKBACK_S * 1000).toISOString(), id: null };
}

// The later of two positions; a rewound position (id null) never replaces a real one.
function later(a, b) {
  if (!a || !b) return b || a;
  if (b.id === null) return a;
  const ta = Date.parse(a.updated_at);
  const tb = Date.parse(b.updated_at);
  if (tb !== ta) return tb > ta ? b : a;
  // Same millisecond: compare the full text (microseconds), then the id.
  return (b.updated_at > a.updated_at || (b.updated_at === a.updated_at && b.id > a.id)) ? b : a;
}

module.exports = { SupabasePath, TABLES };
