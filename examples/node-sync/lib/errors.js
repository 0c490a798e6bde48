'use strict';
// Errors carry the protocol's error kinds (docs/device-protocol.md): not_signed_in, not_found,
// invalid, backend (with `transient`), store, internal; 'decrypt' never leaves the client.
class AppError extends Error {
  constructor(kind, message, transient = false) {
    super(message);
    this.kind = kind;
    this.transient = transient;
  }
}

module.exports = { AppError };
