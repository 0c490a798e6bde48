'use strict';
// Errors carry the protocol's error kinds (docs/device-protocol.md): not_signed_in, not_found,
// invalid, backend (with `transient`), transport, store, internal; 'decrypt' never leaves the client.
class AppError extends Error {
  constructor(kind, message, transient = false) {
    super(message);
    this.kind = kind;
    this.transient = transient;
  }
}

// A request that got no answer surfaces through each SDK differently (supabase-js: status 0 and
// the fetch error's name in the message; CloudKit JS: the error passed through); the protocol
// calls it `transport`.
const isTransport = (err, status) => status === 0 || /TransportError/.test(String(err && (err.message || err.reason || err)))
  || (err && err.name === 'TransportError');

module.exports = { AppError, isTransport };
