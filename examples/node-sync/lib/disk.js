'use strict';
// The device's disk, with the faults the harness injects (capability disk_faults, `disk`
// notices), as clients/storage.py's FaultyStorage models them: the next write/fsync/rename fails
// with EIO or ENOSPC; a power cut puts every file back to its last durable bytes (fsynced; a
// rename is durable once its directory is fsynced) and kills the process.
const fs = require('fs');
const path = require('path');

const CODES = { io_error: 'EIO', no_space: 'ENOSPC' };

class Disk {
  constructor() { this.reset(); }

  reset() {
    this.durable = new Map();     // path -> Buffer | null (absent)
    this.pending = new Map();     // renamed-to path -> renamed-from path, until fsyncDir
    this.armed = new Map();       // op -> errno name
  }

  failNext(fault, op) {
    if (!CODES[fault] || !['write', 'fsync', 'rename'].includes(op)) {
      throw new Error(`disk notice: fault ${fault} op ${op} (use io_error|no_space and write|fsync|rename)`);
    }
    this.armed.set(op, CODES[fault]);
  }

  maybeFail(op, file) {
    const code = this.armed.get(op);
    if (!code) return;
    this.armed.delete(op);
    const err = new Error(`${code}: ${op} ${file} failed`);
    err.code = code;
    throw err;
  }

  read(file) {
    try { return fs.readFileSync(file); } catch (e) { if (e.code === 'ENOENT') return null; throw e; }
  }

  remember(file) { if (!this.durable.has(file)) this.durable.set(file, this.read(file)); }

  write(file, data) {
    this.remember(file);
    this.maybeFail('write', file);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }

  fsync(file) {
    this.maybeFail('fsync', file);
    const fd = fs.openSync(file, 'r+');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    this.durable.set(file, this.read(file));
  }

  rename(src, dst) {
    this.remember(src);
    this.remember(dst);
    this.maybeFail('rename', dst);
    fs.renameSync(src, dst);
    this.pending.set(dst, src);
  }

  fsyncDir(dir) {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    for (const [dst, src] of this.pending) {
      this.durable.set(dst, this.durable.has(src) ? this.durable.get(src) : null);
      this.durable.set(src, null);
    }
    this.pending.clear();
  }

  // A power cut: what was not durable is gone.
  loseUnsynced() {
    for (const src of this.pending.values()) if (!this.durable.has(src)) this.durable.set(src, null);
    this.pending.clear();
    for (const [file, data] of this.durable) {
      if (data === null) fs.rmSync(file, { force: true }); else fs.writeFileSync(file, data);
    }
  }
}

module.exports = { Disk };
