'use strict';
// The CloudKit sync path on Apple's CloudKit JS (npm tsl-apple-cloudkit): the private database,
// one custom zone, change fetches from a sync token paged by moreComing, saves with change tags
// (a conflict fetches the server record, merges it, and re-saves what still wins locally).
const { AppError, isTransport } = require('./errors');
const codec = require('./codec');
const { ROUTES, pending } = require('./store');

const ZONE = 'FitMeZone';
const RECORD_TYPES = { daily_logs: 'DailyLog', weekly_snapshots: 'WeeklySnapshot', cardio_sessions: 'CardioSession', photos: 'Photo' };
const TABLE_OF = Object.fromEntries(Object.entries(RECORD_TYPES).map(([k, v]) => [v, k]));
const TRANSIENT = ['THROTTLED', 'TRY_AGAIN_LATER', 'ZONE_BUSY', 'SERVICE_UNAVAILABLE'];
const PUSH_ROUNDS = 3;
const zoneID = { zoneName: ZONE };
const quiet = { info() {}, log() {}, warn() {}, error() {} };

// CloudKit JS renders sign-in buttons through `document`; in Node it only needs one that finds nothing.
global.document = global.document || { getElementById: () => null, querySelector: () => null,
  createElement: () => ({ style: {}, setAttribute() {}, appendChild() {}, addEventListener() {} }) };

function ckFailure(what, err) {
  if (isTransport(err)) return new AppError('transport', `cloudkit ${what}: ${(err && (err.message || err.reason)) || err}`);
  const code = (err && (err.ckErrorCode || err.serverErrorCode)) || 'UNKNOWN';
  if (code === 'AUTHENTICATION_REQUIRED' || code === 'AUTHENTICATION_FAILED') {
    return new AppError('not_signed_in', `cloudkit ${what}: ${code}: sign in to iCloud first`);
  }
  return new AppError('backend', `cloudkit ${what}: ${code} ${(err && err.reason) || (err && err.message) || ''}`.trim(),
    TRANSIENT.includes(code));
}

class CloudKitPath {
  constructor(device) {
    this.device = device;
    this.db = null;
    this.configuredWith = null;
  }

  token() { return this.device.store.session.cloudkit_web_auth_token || null; }

  // Configured lazily with the device's current web auth token (it arrives with sign-in).
  async database() {
    const token = this.token();
    if (!token) throw new AppError('not_signed_in', 'CloudKit: no web auth token; the device is not signed in to iCloud');
    if (this.db && this.configuredWith === token) return this.db;
    const CloudKit = require('tsl-apple-cloudkit');
    const ck = this.device.config.cloudkit;
    const fetch = this.device.fetchFor('cloudkit', (response) => {
      const rotated = response.headers.get('x-apple-cloudkit-web-auth-token');
      if (rotated) { this.device.store.session.cloudkit_web_auth_token = rotated; this.configuredWith = rotated; }
    });
    CloudKit.configure({
      services: { fetch, logger: quiet },
      containers: [{ containerIdentifier: ck.container, environment: ck.environment || 'development',
        apiTokenAuth: { apiToken: ck.api_token, persist: false, ckWebAuthToken: token },
        publicDatabasePartition: ck.url, privateDatabasePartition: ck.url }],
    });
    const container = CloudKit.getDefaultContainer();
    const identity = await container.setUpAuth().catch((e) => { throw ckFailure('setUpAuth', e); });
    if (!identity) throw new AppError('not_signed_in', 'CloudKit: the web auth token was refused');
    this.db = container.privateCloudDatabase;
    this.configuredWith = this.token();
    return this.db;
  }

  async call(what, fn) {
    const db = await this.database();
    for (let attempt = 1; ; attempt += 1) {
      let response;
      try {
        response = await fn(db);
      } catch (e) {
        if (TRANSIENT.includes(e && e.ckErrorCode) && attempt < 3) {
          await this.device.sleep(Number(e.retryAfter) || 2 ** attempt);
          continue;
        }
        throw ckFailure(what, e);
      }
      return response;
    }
  }

  signedOut() { this.db = null; this.configuredWith = null; }

  // -- zone ---------------------------------------------------------------------------------

  async ensureZone(store) {
    if (this.device.cursors.get(store, 'cloudkit', 'zone_ready')) return;
    const resp = await this.call('zones/modify', (db) => db.saveRecordZones([{ zoneID }]));
    const err = resp.hasErrors ? resp.errors[0] : null;
    if (err && err.ckErrorCode !== 'EXISTS') throw ckFailure('zones/modify', err);
    this.device.cursors.set(store, 'cloudkit', 'zone_ready', true);
  }

  zoneLost(store) {      // deleted in Settings, or reset: re-create it and upload everything again
    this.device.cursors.set(store, 'cloudkit', 'zone_ready', false);
    this.device.cursors.set(store, 'cloudkit', 'sync_token', null);
    for (const table of Object.keys(RECORD_TYPES)) {
      Object.values(store.records[table]).forEach((r) => { delete r.remote.cloudkit; });
    }
  }

  // -- pull ---------------------------------------------------------------------------------

  async pull(store, merge) {
    await this.ensureZone(store);
    await this.retryFailed(store, merge);
    let token = this.device.cursors.get(store, 'cloudkit', 'sync_token') || undefined;
    for (;;) {
      const resp = await this.call('changes/zone', (db) => db.fetchRecordZoneChanges([{ zoneID, syncToken: token, resultsLimit: 200 }]));
      if (resp.hasErrors) {
        const err = resp.errors[0];
        if (err.ckErrorCode === 'ZONE_NOT_FOUND') {
          this.zoneLost(store);
          await this.ensureZone(store);
          token = undefined;
          continue;
        }
        if (err.ckErrorCode === 'BAD_REQUEST' && token) {   // sync token expired: start from nothing
          token = undefined;
          continue;
        }
        throw ckFailure('changes/zone', err);
      }
      const zone = resp.zones[0];
      for (const item of zone.records || []) this.receive(store, item, merge);
      token = zone.syncToken;
      this.device.cursors.set(store, 'cloudkit', 'sync_token', token);
      if (!zone.moreComing) return;
    }
  }

  // Merges one server record; returns null, or the error that kept it from opening.
  receive(store, item, merge) {
    if (item.deleted) {     // a hard delete made elsewhere: our copy must be re-created there
      Object.keys(RECORD_TYPES).forEach((t) => { const r = store.records[t][item.recordName]; if (r) delete r.remote.cloudkit; });
      return null;
    }
    const table = TABLE_OF[item.recordType];
    if (!table) throw new AppError('backend', `cloudkit: unknown recordType ${item.recordType}`);
    const fields = item.fields || {};
    let record;
    try {
      record = codec.open(this.device.keychain, this.device.userId, table, item.recordName,
        fields.payload && fields.payload.value, fields.keyVersion && fields.keyVersion.value);
    } catch (e) {
      if (e.kind !== 'decrypt') throw e;
      this.device.log(`cloudkit: ${table}/${item.recordName} does not open: ${e.message}`);
      if (!store.failed.cloudkit.includes(item.recordName)) store.failed.cloudkit.push(item.recordName);
      return e;
    }
    store.failed.cloudkit = store.failed.cloudkit.filter((n) => n !== item.recordName);
    merge(store, record, 'cloudkit', { change_tag: item.recordChangeTag });
    return null;
  }

  // Records that failed to open earlier: the token moved past them, so look them up again.
  async retryFailed(store, merge) {
    const names = store.failed.cloudkit;
    if (!names.length) return;
    const resp = await this.call('records/lookup', (db) => db.fetchRecords(names.slice(), { zoneID }));
    (resp.records || []).forEach((item) => this.receive(store, item, merge));
    const gone = (resp.errors || []).filter((e) => e.ckErrorCode === 'NOT_FOUND').map((e) => e.recordName);
    store.failed.cloudkit = store.failed.cloudkit.filter((n) => !gone.includes(n));
  }

  // -- push ---------------------------------------------------------------------------------

  async push(store, merge) {
    await this.ensureZone(store);
    for (let round = 0; round < PUSH_ROUNDS; round += 1) {
      const records = pending(store, 'cloudkit').slice(0, 200);
      if (!records.length) return;
      await this.modify(store, records, merge);
    }
  }

  async modify(store, records, merge) {
    const user = this.device.userId;
    const sent = new Map(records.map((r) => [r.record_id, { table: r.record_type, write_id: r.write_id }]));
    const resp = await this.call('records/modify', (db) => {
      const batch = db.newRecordsBatch({ zoneID, atomic: false });
      records.forEach((r) => {
        const tag = (r.remote.cloudkit || {}).change_tag;
        const wire = this.wireRecord(r, user, tag);
        if (tag) batch.update(wire); else batch.create(wire);
      });
      return batch.commit();
    });
    for (const saved of resp.records || []) {
      const s = sent.get(saved.recordName);
      const record = s && store.records[s.table][saved.recordName];
      if (record) record.remote.cloudkit = { write_id: s.write_id, change_tag: saved.recordChangeTag };
    }
    const conflicted = [];
    const rejected = [];
    for (const err of resp.errors || []) {
      const s = sent.get(err.recordName);
      if (['CONFLICT', 'EXISTS'].includes(err.ckErrorCode)) conflicted.push(err.recordName);
      else if (err.ckErrorCode === 'NOT_FOUND' && s) delete (store.records[s.table][err.recordName] || { remote: {} }).remote.cloudkit;
      else if (err.ckErrorCode === 'ZONE_NOT_FOUND') { this.zoneLost(store); await this.ensureZone(store); }
      else if (TRANSIENT.includes(err.ckErrorCode)) await this.device.sleep(Number(err.retryAfter) || 1);
      else rejected.push(`${err.recordName}: ${err.ckErrorCode} ${err.reason || ''}`);
    }
    if (conflicted.length) await this.mergeServerRecords(store, conflicted, merge);
    if (rejected.length) throw new AppError('backend', `cloudkit records/modify rejected ${rejected.join('; ')}`);
  }

  // A change-tag conflict: fetch the server record and merge it (the store then knows its tag);
  // what still wins locally goes out again as an update of that record in the next round.
  async mergeServerRecords(store, names, merge) {
    const resp = await this.call('records/lookup', (db) => db.fetchRecords(names, { zoneID }));
    for (const item of resp.records || []) {
      const failure = this.receive(store, item, merge);
      if (failure && !failure.missingKey && this.device.fixed) {
        // Garbage under a key we hold: nothing to merge, so our pending write replaces it. A
        // record sealed with a key this keychain has not synced yet is not garbage: our edit stays
        // queued (and keeps conflicting) until the key arrives and the merge can rank the two.
        const record = store.records[TABLE_OF[item.recordType]][item.recordName];
        if (record) record.remote.cloudkit = { write_id: null, change_tag: item.recordChangeTag };
      }
    }
  }

  wireRecord(record, user, tag) {
    const { payload, version } = codec.seal(this.device.keychain, user, record);
    const wire = { recordName: record.record_id, recordType: RECORD_TYPES[record.record_type], fields: {
      payload: { value: payload, type: 'BYTES' }, keyVersion: { value: version, type: 'INT64' },
      clientModifiedAt: { value: Math.floor(record.modified_us / 1000), type: 'TIMESTAMP' },
      deleted: { value: record.queued_op === 'delete' ? 1 : 0, type: 'INT64' } } };
    if (tag) wire.recordChangeTag = tag;
    return wire;
  }
}

module.exports = { CloudKitPath, RECORD_TYPES, ROUTES };
