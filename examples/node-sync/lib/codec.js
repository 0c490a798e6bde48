'use strict';
// A record's value sealed for a backend and opened again, byte-compatible with the Python
// reference clients (clients/codec.py, clients/crypto.py): AES-256-GCM, key = sha256 of
// "<secret>|<user id>|<key version>", payload = base64(nonce(12) || ciphertext || tag(16)),
// associated data "<record type>/<record id>", plaintext = the JSON of
// {deleted, device, fields, modified_us, write_id} with sorted keys, as Python's json.dumps writes it.
const crypto = require('crypto');
const { AppError } = require('./errors');

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

// Python's json.dumps(sort_keys=True): ", " and ": " separators, non-ASCII escaped as \uXXXX.
function pyDumps(value) {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return '[' + value.map(pyDumps).join(', ') + ']';
  if (typeof value === 'object') {
    return '{' + Object.keys(value).sort().map((k) => `${pyString(k)}: ${pyDumps(value[k])}`).join(', ') + '}';
  }
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new AppError('invalid', `not a JSON number: ${value}`);
    return JSON.stringify(value);
  }
  throw new AppError('invalid', `not a JSON value: ${typeof value}`);
}

function pyString(s) {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

class Keychain {
  // The device's keys: derived from the run's secret; `known` per user is the newest version this
  // device's keychain has synced (the `keys` command sets it, default 1).
  constructor(secret) {
    this.secret = String(secret);
    this.known = {};
    this.current = {};
  }

  knownVersion(user) { return this.known[user] || 1; }
  currentVersion(user) { return Math.max(this.current[user] || 1, this.knownVersion(user)); }

  key(user, version, upTo) {
    if (!Number.isInteger(version) || version < 1 || version > upTo) {
      const missing = new AppError('decrypt', `this device's keychain lacks key version ${version} of user ${user}`);
      missing.missingKey = Number.isInteger(version) && version > upTo;   // it may sync later: not garbage
      throw missing;
    }
    return crypto.createHash('sha256').update(`${this.secret}|${user}|${version}`).digest();
  }
}

const aad = (type, id) => `${type}/${id}`;

function seal(keychain, user, record) {
  // A queued delete travels as a tombstone.
  const deleted = record.queued_op ? record.queued_op === 'delete' : record.deleted;
  const content = { fields: deleted ? null : record.fields, deleted, write_id: record.write_id,
    modified_us: record.modified_us, device: record.device };
  const version = keychain.knownVersion(user);
  const ad = aad(record.record_type, record.record_id);
  // Deterministic nonce, as the Python clients: one write always seals to the same bytes.
  const nonce = crypto.createHash('sha256').update(`${record.write_id}|${version}|${ad}`).digest().subarray(0, NONCE_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', keychain.key(user, version, version), nonce);
  cipher.setAAD(Buffer.from(ad));
  const body = Buffer.concat([cipher.update(Buffer.from(pyDumps(content))), cipher.final(), cipher.getAuthTag()]);
  return { payload: Buffer.concat([nonce, body]).toString('base64'), version };
}

// Opens a payload; throws AppError kind 'decrypt' when the key is missing or the bytes are garbage.
// `upTo`: the newest key version usable (the device's keychain, or every key for `decode`).
function open(keychain, user, type, id, payload, version, upTo) {
  const ad = aad(type, id);
  if (!Number.isInteger(version) || typeof payload !== 'string') {
    throw new AppError('decrypt', `record ${ad}: payload or key_version missing`);
  }
  const key = keychain.key(user, version, upTo === undefined ? keychain.knownVersion(user) : upTo);
  let content;
  try {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) throw new Error('not base64');
    const raw = Buffer.from(payload, 'base64');
    const decipher = crypto.createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(ad));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    content = JSON.parse(plain.toString('utf8'));
  } catch (e) {
    throw new AppError('decrypt', `record ${ad}: payload does not decrypt (${e.message})`);
  }
  if (!content || typeof content !== 'object' || typeof content.write_id !== 'string'
      || !Number.isInteger(content.modified_us) || typeof content.device !== 'string') {
    throw new AppError('decrypt', `record ${ad}: decrypted payload lacks write_id/modified_us/device`);
  }
  return { record_type: type, record_id: id, fields: content.fields, deleted: !!content.deleted,
    write_id: content.write_id, modified_us: content.modified_us, device: content.device, queued_op: null, remote: {} };
}

// Exact to the microsecond, as Python's isoformat of a UTC datetime.
function isoFromUs(us) {
  const ms = Math.floor(us / 1000);
  const micro = String(us - ms * 1000).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${micro}+00:00`);
}

module.exports = { Keychain, seal, open, isoFromUs, pyDumps };
