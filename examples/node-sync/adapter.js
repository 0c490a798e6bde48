#!/usr/bin/env node
'use strict';
// node-sync as a dualsync device: the device protocol v1 (docs/device-protocol.md), JSON lines
// on stdin/stdout. Usage: node adapter.js legacy|fixed. Logs go to stderr; stdout carries only
// protocol lines.
const readline = require('readline');
const path = require('path');

// The npm packages: from a node_modules next to this file, NODE_PATH, or the test tier's cache
// (.cache/node-sync, filled by `npm ci --ignore-scripts`); otherwise say how to install them.
function findPackages() {
  const names = ['@supabase/supabase-js', 'tsl-apple-cloudkit'];
  const missing = () => names.filter((n) => { try { require.resolve(n); return false; } catch (e) { return true; } });
  if (!missing().length) return;
  const cache = path.resolve(__dirname, '..', '..', '.cache', 'node-sync', 'node_modules');
  process.env.NODE_PATH = [process.env.NODE_PATH, cache].filter(Boolean).join(path.delimiter);
  require('module').Module._initPaths();
  if (missing().length) {
    process.stderr.write(`node-sync: npm packages ${missing().join(', ')} are not installed: run \`npm ci --ignore-scripts\` in ${__dirname}\n`);
    process.exit(2);
  }
}
findPackages();
const { AppError } = require('./lib/errors');
const { Device, VARIANTS } = require('./lib/device');
const codec = require('./lib/codec');
const { snapshotOf } = require('./lib/store');

const PROTOCOL = 1;
const FAULT_POINTS = ['before_send', 'after_reply', 'before_persist', 'mid_persist'];
const CAPABILITIES = ['concurrent_commands', 'virtual_time', 'fault_points', 'decode', 'key_rotation', 'disk_faults'];

class Host {
  constructor() {
    this.clock = Date.now() / 1000;
    this.seq = 0;
    this.waiting = new Map();
  }

  send(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
  event(name, fields) { this.send({ event: name, ...fields }); }
  log(line) { process.stderr.write(`node-sync: ${line}\n`); }
  now() { return this.clock; }

  // Stop at a declared point until the harness says {"resume": seq} (or kills the process here).
  faultPoint(point, p) { return this.wait('fault_point', { point, path: p }); }
  sleep(seconds) { return this.wait('sleep', { seconds }); }

  wait(name, fields) {
    this.seq += 1;
    const seq = this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      this.event(name, { seq, ...fields });
    });
  }

  resume(seq) {
    const resolve = this.waiting.get(seq);
    if (!resolve) { this.log(`resume ${seq}: nothing waits under that number`); return; }
    this.waiting.delete(seq);
    resolve();
  }
}

const variant = process.argv[2];
if (!VARIANTS[variant]) {
  process.stderr.write(`node-sync: usage: node adapter.js ${Object.keys(VARIANTS).join('|')} (got ${JSON.stringify(variant)})\n`);
  process.exit(2);
}
const host = new Host();
// virtual_time: the whole process reads the device clock, so the SDKs judge expiry (supabase-js's
// access token, CloudKit JS) by the same clock as the app's stamps and the backends' virtual time.
Date.now = () => Math.round(host.clock * 1000);
const device = new Device(variant, host);
let configured = false;

function need(args, ...names) {
  for (const n of names) {
    if (args[n] === undefined || args[n] === null) throw new AppError('invalid', `missing argument ${n}`);
  }
}

async function decode(args) {
  need(args, 'type', 'id', 'backend', 'row');
  const { row } = args;
  const user = args.user_id || device.userId;
  if (!user) throw new AppError('not_signed_in', 'decode needs the signed-in user (whose keys sealed the payload)');
  let payload;
  let version;
  if (args.backend === 'supabase') { payload = row.payload; version = row.key_version; }
  else if (args.backend === 'cloudkit') {
    const f = (row.fields && typeof row.fields === 'object' ? row.fields : row) || {};   // the record, or its fields
    payload = f.payload && f.payload.value;
    version = f.keyVersion && f.keyVersion.value;
  } else throw new AppError('invalid', `backend must be supabase or cloudkit, not ${JSON.stringify(args.backend)}`);
  try {
    const r = codec.open(device.keychain, user, args.type, args.id, payload, version, device.keychain.currentVersion(user));
    return { write_id: r.write_id, deleted: r.deleted, fields: r.deleted ? null : r.fields };
  } catch (e) {
    if (e.kind === 'decrypt') return { undecryptable: true };
    throw e;
  }
}

const COMMANDS = {
  hello: async (args) => {
    const offered = Array.isArray(args.protocols) ? args.protocols : [];
    if (!offered.includes(PROTOCOL)) {
      process.exitCode = 2;
      setImmediate(() => process.exit());
      throw new AppError('protocol_version', `node-sync speaks protocol ${PROTOCOL}; offered ${JSON.stringify(offered)}`);
    }
    return { protocol: PROTOCOL, profile: 'fitme', client: `node-sync ${variant}`,
      expect_as: variant === 'legacy' ? 'legacy' : 'coordinated', capabilities: CAPABILITIES,
      fault_points: FAULT_POINTS, policy: VARIANTS[variant].policy };
  },
  configure: async (args) => {
    need(args, 'device', 'store_dir', 'supabase', 'cloudkit');
    if (args.clock && typeof args.clock.now === 'number') host.clock = args.clock.now;
    device.configure(args);
    configured = true;
    earlyKeys.splice(0).forEach(keysNotice);
    return null;
  },
  sign_up: async (args) => { need(args, 'email', 'password'); return device.signUp(args); },
  sign_in: async (args) => { need(args, 'email', 'password'); return device.signIn(args); },
  sign_out: async () => { await device.signOut(); return null; },
  write: async (args) => ({ write_id: await device.write(args.type, args.id, args.fields) }),
  delete: async (args) => ({ write_id: await device.delete(args.type, args.id) }),
  read: async (args) => ({ fields: device.read(args.type, args.id) }),
  sync: async (args) => { await device.sync(args.path); return null; },
  login_sync: async () => { await device.loginSync(); return null; },
  snapshot: async () => device.snapshot(),
  decode,
  shutdown: async () => { setImmediate(() => process.exit(0)); return null; },
};

// {"keys": {user_id, current, known}}: the user's newest key version, and how far this device's
// keychain has synced (null: it keeps up).
const earlyKeys = [];
function keysNotice(keys) {
  if (!configured) { earlyKeys.push(keys); return; }
  if (typeof keys.user_id !== 'string' || !Number.isInteger(keys.current)) {
    host.log(`keys notice without user_id/current: ${JSON.stringify(keys)}`);
    return;
  }
  device.keychain.current[keys.user_id] = keys.current;
  device.keychain.known[keys.user_id] = Number.isInteger(keys.known) ? keys.known : keys.current;
}

// {"disk": {fault, op}}: the next such storage operation fails; "none" disarms; "lose_unsynced"
// is a power cut (files back to their durable bytes, the process dies without a word).
function diskNotice(d) {
  if (!configured) { host.log(`disk notice before configure: ${JSON.stringify(d)}`); return; }
  if (d.fault === 'lose_unsynced') {
    device.disk.loseUnsynced();
    process.exit(137);
  } else if (d.fault === 'none') {
    device.disk.armed.clear();
  } else {
    try { device.disk.failNext(d.fault, d.op || 'write'); } catch (e) { host.log(e.message); }
  }
}

async function handle(msg) {
  const { id } = msg;
  if (typeof msg.now === 'number') host.clock = msg.now;
  try {
    const run = COMMANDS[msg.cmd];
    if (!run) throw new AppError('bad_command', `unknown command ${JSON.stringify(msg.cmd)}`);
    if (!configured && !['hello', 'configure', 'shutdown'].includes(msg.cmd)) {
      throw new AppError('bad_command', `${msg.cmd} before configure`);
    }
    const value = await run(msg.args || {});
    host.send({ id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    const kind = e instanceof AppError && e.kind !== 'decrypt' ? e.kind : 'internal';
    if (kind === 'internal') host.log(`${msg.cmd}: ${e.stack || e}`);
    host.send({ id, ok: false, error: { kind, message: String(e.message || e), transient: !!e.transient } });
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    host.send({ id: null, ok: false, error: { kind: 'bad_command', message: `not JSON: ${line.slice(0, 80)}`, transient: false } });
    return;
  }
  if (msg && typeof msg.resume === 'number') host.resume(msg.resume);
  else if (msg && typeof msg.clock === 'number') host.clock = msg.clock;
  else if (msg && msg.keys && typeof msg.keys === 'object') keysNotice(msg.keys);
  else if (msg && msg.disk && typeof msg.disk === 'object') diskNotice(msg.disk);
  else if (msg && msg.cmd !== undefined) handle(msg);
  else host.send({ id: (msg && msg.id) ?? null, ok: false, error: { kind: 'bad_command', message: 'neither a command, a resume nor a clock', transient: false } });
}).on('close', () => process.exit());

process.on('unhandledRejection', (e) => host.log(`unhandled: ${e && e.stack ? e.stack : e}`));
