"""Errors a reference client raises; each names what went wrong and where."""

from __future__ import annotations

from dualsync.clients.api import DeviceError


class ClientError(DeviceError):
    """Base of every reference-client error."""


class StoreError(ClientError):
    """The local store file cannot be used."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"local store {path}: {problem}")
        self.path = path


class BackendGarbage(ClientError):
    """A backend answered something this client cannot interpret; never skipped silently."""

    def __init__(self, backend: str, what: str, body: object = None):
        shown = repr(body)[:200]
        super().__init__(f"{backend} answered garbage: {what} (body {shown})")
        self.backend = backend


class BackendError(ClientError):
    """A backend refused a request with a well-formed error."""

    def __init__(self, backend: str, status: int, code: str, message: str, retry_after: float | None = None):
        super().__init__(f"{backend} error {status} {code}: {message}")
        self.backend, self.status, self.code = backend, status, code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.status in (429, 503) or self.code in ("THROTTLED", "TRY_AGAIN_LATER", "ZONE_BUSY")


class NotSignedIn(ClientError):
    """A sync was asked for while the device has no session."""


class KeyUnavailable(ClientError):
    """This device's keychain lacks the key a payload was sealed with (it may sync later)."""


class DecryptFailed(ClientError):
    """A payload is not valid ciphertext for its record (corrupted on the server or swapped)."""


class SessionEnded(NotSignedIn):
    """GoTrue refused to refresh the session (revoked, reused or expired refresh token)."""
