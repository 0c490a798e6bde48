'use strict';
// The device's store: one JSON file in store_dir, written whole (temp file, fsync, rename, fsync
// of the directory), so a crash leaves the old or the new store, never half of one. Records keep
// their value, the write that made it, and per backend the write that backend is known to hold;
// a record needs sync to a path while that backend lacks its current write.
const fs = require('fs');
const path = require('path');
const { AppError } = require('./errors');

const FORMAT = 'node-sync-store';
const ROUTES = {
  profiles: ['supabase'],
  photos: ['cloudkit'],
  daily_logs: ['supabase', 'cloudkit'],
  weekly_snapshots: ['supabase', 'cloudkit'],
  cardio_sessions: ['supabase', 'cloudkit'],
};

const pendingPaths = (r) => ROUTES[r.record_type].filter((p) => ((r.remote[p] || {}).write_id) !== r.write_id);
const rank = (r) => [r.modified_us, r.device, r.write_id];

function rankAbove(a, b) {           // a > b in the fixed client's order (lexicographic)
  for (let i = 0; i < 3; i += 1) {
    if (a[i] !== b[i]) return a[i] > b[i];
  }
  return false;
}

function emptyStore(device) {
  const records = {};
  Object.keys(ROUTES).forEach((t) => { records[t] = {}; });
  return { format: FORMAT, version: 1, device, records, cursors: { supabase: {}, cloudkit: {} },
    failed: { cloudkit: [] }, session: {}, boots: 0, write_seq: 0, owner: null };
}

function snapshotOf(store) {
  const out = {};
  for (const [type, rows] of Object.entries(store.records)) {
    out[type] = {};
    for (const [id, r] of Object.entries(rows)) {
      out[type][id] = { fields: r.deleted ? null : r.fields, deleted: r.deleted, write_id: r.write_id,
        needs_sync: pendingPaths(r).length > 0 };
    }
  }
  return out;
}

const pending = (store, p) => Object.values(store.records).flatMap((rows) => Object.values(rows))
  .filter((r) => pendingPaths(r).includes(p));

class StoreFile {
  // `faultPoint(name, path)` is awaited at mid_persist (the temp file is half written); `disk`
  // is the device's disk (lib/disk.js), where the harness's disk faults land.
  constructor(dir, device, faultPoint, disk) {
    this.dir = dir;
    this.file = path.join(dir, 'store.json');
    this.device = device;
    this.faultPoint = faultPoint;
    this.disk = disk;
    this.queue = Promise.resolve();
  }

  load() {
    let raw;
    try {
      raw = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if (e.code === 'ENOENT') return emptyStore(this.device);
      throw new AppError('store', `${this.file}: cannot be read (${e.code})`);
    }
    let data;
    try {
      data = JSON.parse(raw);
    } catch (e) {
      throw new AppError('store', `${this.file}: is corrupt (${e.message}); move it away to start this device afresh`);
    }
    if (!data || data.format !== FORMAT || data.version !== 1) {
      throw new AppError('store', `${this.file}: is not a node-sync store (version 1); refusing to overwrite it`);
    }
    if (data.device !== this.device) {
      throw new AppError('store', `${this.file}: belongs to device ${data.device}, not ${this.device}`);
    }
    return data;
  }

  // Persists are serialized: a write made during a sync never interleaves with the sync's persist.
  // `p`: whose persist this is (a sync path, or local), named at the mid_persist fault point.
  persist(store, p = 'local') {
    const data = JSON.stringify(store);
    const run = this.queue.then(() => this._write(data, p)).catch((e) => {
      throw e.kind ? e : new AppError('store', `${this.file}: ${e.message}`);
    });
    this.queue = run.catch(() => {});
    return run;
  }

  // Temp file, fsync, rename, fsync of the directory: a crash leaves the old store or the new one.
  async _write(data, p) {
    fs.mkdirSync(this.dir, { recursive: true });
    const temp = `${this.file}.tmp`;
    this.disk.write(temp, data.slice(0, data.length >> 1));
    await this.faultPoint('mid_persist', p);
    this.disk.write(temp, data);
    this.disk.fsync(temp);
    this.disk.rename(temp, this.file);
    this.disk.fsyncDir(this.dir);
  }
}

// The shipped app's UserDefaults: pull positions in a settings file written the moment they move.
class SettingsFile {
  constructor(dir, disk) {
    this.file = path.join(dir, 'settings.json');
    this.dir = dir;
    this.disk = disk;
  }

  load() {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (e) {
      if (e.code === 'ENOENT') return { supabase: {}, cloudkit: {} };
      throw new AppError('store', `${this.file}: is corrupt or unreadable (${e.message})`);
    }
  }

  save(cursors) {
    try {
      this.disk.write(this.file, JSON.stringify(cursors));
      this.disk.fsync(this.file);
    } catch (e) {
      throw new AppError('store', `${this.file}: ${e.message}`);
    }
  }
}

module.exports = { ROUTES, StoreFile, SettingsFile, emptyStore, snapshotOf, pendingPaths, pending, rank, rankAbove };
