#!/usr/bin/env node
'use strict';
// node-sync as a dualsync device: the device protocol v1 (docs/device-protocol.md), JSON lines
// on stdin/stdout. Usage: node adapter.js legacy|fixed. Logs go to stderr; stdout carries only
// protocol lines.
const readline = require('readline');
const { AppError } = require('./lib/errors');
const { Device, VARIANTS } = require('./lib/device');
const codec = require('./lib/codec');
const { snapshotOf } = require('./lib/store');

const PROTOCOL = 1;
const FAULT_POINTS = ['before_send', 'after_reply', 'before_persist', 'mid_persist'];
const CAPABILITIES = ['concurrent_commands', 'virtual_time', 'fault_points', 'decode', 'key_rotation'];

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
  const user = device.userId;
  if (!user) throw new AppError('not_signed_in', 'decode needs the signed-in user (whose keys sealed the payload)');
  let payload;
  let version;
  if (args.backend === 'supabase') { payload = row.payload; version = row.key_version; }
  else if (args.backend === 'cloudkit') {
    const f = row.fields || {};
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
    return { protocol: PROTOCOL, profile: 'fitme', client: `node-sync ${variant}`, capabilities: CAPABILITIES,
      fault_points: FAULT_POINTS, policy: VARIANTS[variant].policy };
  },
  configure: async (args) => {
    need(args, 'device', 'store_dir', 'supabase', 'cloudkit');
    if (args.clock && typeof args.clock.now === 'number') host.clock = args.clock.now;
    device.configure(args);
    configured = true;
    return null;
  },
  sign_up: async (args) => { need(args, 'email', 'password'); await device.signUp(args); return null; },
  sign_in: async (args) => { need(args, 'email', 'password'); await device.signIn(args); return null; },
  sign_out: async () => { await device.signOut(); return null; },
  write: async (args) => ({ write_id: await device.write(args.type, args.id, args.fields) }),
  delete: async (args) => ({ write_id: await device.delete(args.type, args.id) }),
  read: async (args) => ({ fields: device.read(args.type, args.id) }),
  sync: async (args) => { await device.sync(args.path); return null; },
  login_sync: async () => { await device.loginSync(); return null; },
  snapshot: async () => device.snapshot(),
  decode,
  keys: async (args) => {
    need(args, 'user_id', 'current', 'known');
    device.keychain.current[args.user_id] = args.current;
    device.keychain.known[args.user_id] = args.known;
    return null;
  },
  shutdown: async () => { setImmediate(() => process.exit(0)); return null; },
};

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
  else if (msg && msg.cmd !== undefined) handle(msg);
  else host.send({ id: (msg && msg.id) ?? null, ok: false, error: { kind: 'bad_command', message: 'neither a command, a resume nor a clock', transient: false } });
}).on('close', () => process.exit());

process.on('unhandledRejection', (e) => host.log(`unhandled: ${e && e.stack ? e.stack : e}`));
