'use strict';
// One install of the app on one device. `legacy` is the app as shipped (the case study's
// DEEP-SYNC-001, 002 and 003); `fixed` is the audit's remediation. They differ only where a flag
// of VARIANTS says.
const { AppError } = require('./errors');
const { Keychain } = require('./codec');
const { ROUTES, StoreFile, SettingsFile, snapshotOf, pending, pendingPaths, rank, rankAbove } = require('./store');
const { SupabasePath } = require('./supabase');
const { CloudKitPath } = require('./cloudkit');
const { makeFetch } = require('./wire');
const { Disk } = require('./disk');

const VARIANTS = {
  // As shipped: login pulls both paths at once, each into its own copy of the store, and the
  // copy persisted last wins (001); pull positions live in a settings file written as soon as they
  // move (UserDefaults), so a lost copy is never fetched again; the Supabase cursor moves past rows
  // that do not open (002); a remote version wins unless the local record still needs sync, except
  // in the CloudKit daily-log merge, which never looks (003); edits stamped with the device clock.
  legacy: { fixed: false, policy: { order: 'arrival', granularity: 'record', respects_needs_sync: false, stamps: 'device_clock' } },
  // The remediation: one coordinator runs the paths one after the other on the one store; cursors
  // persist with the records they cover; last-writer-wins by the edit's hybrid-logical stamp, then
  // device, then write id; the Supabase cursor never passes a row that failed to open.
  fixed: { fixed: true, policy: { order: 'client_modified_at', granularity: 'record', respects_needs_sync: true, stamps: 'hybrid_logical' } },
};

class Cursors {
  constructor(device) { this.device = device; }
  source(store) { return this.device.fixed ? store.cursors : this.device.settings; }
  get(store, p, key) { return (this.source(store)[p] || {})[key]; }
  set(store, p, key, value) {
    const src = this.source(store);
    src[p] = src[p] || {};
    src[p][key] = value;
    if (!this.device.fixed) this.device.settingsFile.save(this.device.settings);
  }
}

class Device {
  constructor(variant, host) {
    if (!VARIANTS[variant]) throw new AppError('invalid', `unknown variant ${variant}: use legacy or fixed`);
    this.variant = variant;
    this.fixed = VARIANTS[variant].fixed;
    this.policy = VARIANTS[variant].policy;
    this.host = host;       // the protocol side: events, fault points, sleeps, the clock, logs
    this.coordinator = Promise.resolve();
  }

  configure(config) {
    this.config = config;
    this.name = config.device;
    this.keychain = new Keychain((config.keys || {}).secret ?? 'dualsync');
    this.disk = new Disk();
    this.file = new StoreFile(config.store_dir, this.name, (point, p) => this.faultPoint(point, p), this.disk);
    this.settingsFile = new SettingsFile(config.store_dir, this.disk);
    this.cursors = new Cursors(this);
    this.store = this.file.load();
    this.settings = this.fixed ? null : this.settingsFile.load();
    this.store.boots += 1;
    this.userId = this.store.owner;
    this.supabase = new SupabasePath(this);
    this.cloudkit = new CloudKitPath(this);
  }

  log(line) { this.host.log(line); }
  faultPoint(point, p) { return this.host.faultPoint(point, p); }
  sleep(seconds) { return this.host.sleep(seconds); }
  fetchFor(p, onResponse) { return makeFetch(this, p, onResponse); }

  async persist(store, p) {
    store.write_seq = Math.max(store.write_seq, this.store.write_seq);
    store.session = this.store.session;
    await this.file.persist(store, p);
    this.host.event('persist', { path: p, snapshot: snapshotOf(store) });
  }

  // -- account ------------------------------------------------------------------------------

  async signUp(args) { await this.supabase.signUp(args.email, args.password); return this.signedIn(args); }
  async signIn(args) { await this.supabase.signIn(args.email, args.password); return this.signedIn(args); }

  async signedIn(args) {
    if (args.cloudkit_web_auth_token) this.store.session.cloudkit_web_auth_token = args.cloudkit_web_auth_token;
    this.cloudkit.signedOut();
    const user = await this.supabase.userId();
    if (this.store.owner && this.store.owner !== user) {     // another user's records never reach this account
      Object.keys(this.store.records).forEach((t) => { this.store.records[t] = {}; });
      this.store.cursors = { supabase: {}, cloudkit: {} };
      this.store.failed = { cloudkit: [] };
      if (!this.fixed) { this.settings = { supabase: {}, cloudkit: {} }; this.settingsFile.save(this.settings); }
    }
    this.store.owner = user;
    this.userId = user;
    await this.persist(this.store, 'local');
    return { user_id: user };
  }

  async signOut() {
    await this.supabase.signOut();
    delete this.store.session.cloudkit_web_auth_token;
    this.cloudkit.signedOut();
    await this.persist(this.store, 'local');
  }

  // -- local edits --------------------------------------------------------------------------

  check(type, id) {
    if (!ROUTES[type]) throw new AppError('invalid', `unknown record type ${type}: use one of ${Object.keys(ROUTES).join(', ')}`);
    if (typeof id !== 'string' || !id) throw new AppError('invalid', `record id must be a non-empty string, got ${JSON.stringify(id)}`);
  }

  async write(type, id, fields) {
    this.check(type, id);
    if (!fields || typeof fields !== 'object' || Array.isArray(fields)) throw new AppError('invalid', `fields of ${type}/${id} must be an object`);
    return this.edit(type, id, fields, false);
  }

  async delete(type, id) {
    this.check(type, id);
    const current = this.store.records[type][id];
    if (!current || current.deleted) throw new AppError('not_found', `${this.name}: no live ${type}/${id} to delete`);
    return this.edit(type, id, null, true);
  }

  read(type, id) {
    this.check(type, id);
    const r = this.store.records[type][id];
    return r && !r.deleted ? r.fields : null;
  }

  async edit(type, id, fields, deleted) {
    const store = this.store;
    const previous = store.records[type][id];
    store.write_seq += 1;
    const clockUs = Math.round(this.host.now() * 1e6);
    const record = { record_type: type, record_id: id, fields, deleted,
      write_id: `${this.name}-${String(store.boots).padStart(4, '0')}.${String(store.write_seq).padStart(6, '0')}`,
      modified_us: this.fixed && previous ? Math.max(clockUs, previous.modified_us + 1) : clockUs,
      device: this.name, queued_op: deleted ? 'delete' : 'save', remote: previous ? { ...previous.remote } : {} };
    store.records[type][id] = record;
    try {
      await this.persist(store, 'local');
    } catch (e) {
      if (previous) store.records[type][id] = previous; else delete store.records[type][id];
      throw e.kind ? e : new AppError('store', `${this.file.file}: ${e.message}`);
    }
    return record.write_id;
  }

  // -- the merge ----------------------------------------------------------------------------

  // One delivered write into `store`. Either way the store remembers that `p` now holds it, so a
  // local value that wins is queued to be re-sent there.
  merge(store, remote, p, meta) {
    const local = store.records[remote.record_type][remote.record_id];
    let take = !local;
    if (local && local.write_id !== remote.write_id) {
      if (this.fixed) take = rankAbove(rank(remote), rank(local));
      else if (p === 'cloudkit' && remote.record_type === 'daily_logs') take = true;   // 003
      else take = pendingPaths(local).length === 0;
    }
    let held = local;
    if (take) {
      remote.remote = local ? { ...local.remote } : {};
      remote.queued_op = remote.deleted ? 'delete' : 'save';
      store.records[remote.record_type][remote.record_id] = remote;
      held = remote;
    }
    held.remote[p] = { write_id: remote.write_id, rank: rank(remote), ...meta };
  }

  // -- sync ---------------------------------------------------------------------------------

  service(p) {
    if (p === 'supabase') return this.supabase;
    if (p === 'cloudkit') return this.cloudkit;
    throw new AppError('invalid', `unknown sync path ${JSON.stringify(p)}: use supabase or cloudkit`);
  }

  // One path on `store`: a regular sync pushes, pulls, and pushes what the pull queued; on login
  // the app pulls first. A refused upload does not stop the pull; it is raised at the end.
  async round(store, p, login) {
    const service = this.service(p);
    const merge = (s, r, path, meta) => this.merge(s, r, path, meta);
    let refused = null;
    const push = async () => { try { await service.push(store, merge); } catch (e) { if (e.kind !== 'backend') throw e; refused = e; } };
    if (!login) await push();
    await service.pull(store, merge);
    if (login || (!refused && pending(store, p).length)) await push();
    if (refused) throw refused;
  }

  exclusive(work) {
    const run = this.coordinator.then(work);
    this.coordinator = run.catch(() => {});
    return run;
  }

  async sync(p) {
    this.service(p);
    if (!this.fixed) return this.roundOnCopy(p, false);
    return this.exclusive(async () => {
      await this.keepingProgress(() => this.round(this.store, p, false), p);
      await this.faultPoint('before_persist', p);
      await this.persist(this.store, p);
    });
  }

  async loginSync() {
    if (!this.fixed) {   // as shipped (DEEP-SYNC-001): both services at once, each on its own copy
      const results = await Promise.allSettled([this.roundOnCopy('supabase', true), this.roundOnCopy('cloudkit', true)]);
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      return;
    }
    return this.exclusive(async () => {
      await this.keepingProgress(() => this.round(this.store, 'supabase', true), 'supabase');
      await this.keepingProgress(() => this.round(this.store, 'cloudkit', true), 'cloudkit');
      await this.faultPoint('before_persist', 'local');
      await this.persist(this.store, 'local');
    });
  }

  // A sync that fails (not a crash) still persists what it merged: records and cursors together.
  async keepingProgress(work, p) {
    try {
      await work();
    } catch (e) {
      if (e.kind) await this.persist(this.store, p);
      throw e;
    }
  }

  async roundOnCopy(p, login) {
    const copy = JSON.parse(JSON.stringify(this.store));
    try {
      await this.round(copy, p, login);
    } catch (e) {
      if (e.kind && e.kind !== 'transport') { await this.persist(copy, p); this.store = copy; }
      throw e;
    }
    await this.faultPoint('before_persist', p);
    await this.persist(copy, p);
    this.store = copy;     // whichever service gets here last wins
  }

  snapshot() { return snapshotOf(this.file.load()); }
}

module.exports = { Device, VARIANTS };
