"""CloudKit Web Services error codes, their HTTP statuses, and the error raised by the model.

Statuses come from Apple's error table (ErrorCodes.html). The model raises `CloudKitError` for a
whole-request failure and returns `CloudKitError.item(...)` dicts for per-record / per-zone failures,
which travel inside a 200 response exactly as the real service sends them.
"""

from __future__ import annotations

import uuid as _uuid

STATUS = {
    "ACCESS_DENIED": 403,
    "ATOMIC_ERROR": 400,
    "AUTHENTICATION_FAILED": 401,
    "AUTHENTICATION_REQUIRED": 421,
    "BAD_REQUEST": 400,
    "CONFLICT": 409,
    "EXISTS": 409,
    "INTERNAL_ERROR": 500,
    "NOT_FOUND": 404,
    "QUOTA_EXCEEDED": 413,
    "THROTTLED": 429,
    "TRY_AGAIN_LATER": 503,
    "VALIDATING_REFERENCE_ERROR": 412,
    "ZONE_BUSY": 503,
    "ZONE_NOT_FOUND": 404,
    # Not Apple's: the fake's loud answer for a real operation it does not implement.
    "NOT_IMPLEMENTED": 501,
}

# Codes a client may retry after `retryAfter` seconds.
RETRYABLE = frozenset({"THROTTLED", "TRY_AGAIN_LATER", "ZONE_BUSY"})


class CloudKitError(Exception):
    """A whole-request failure: rendered as `{uuid, serverErrorCode, reason, ...}` with its status."""

    def __init__(self, code: str, reason: str, *, retry_after: float | None = None,
                 redirect_url: str | None = None, status: int | None = None):
        if code not in STATUS and status is None:
            raise ValueError(f"unknown CloudKit serverErrorCode {code!r}; pass status= for a custom code")
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.retry_after = retry_after
        self.redirect_url = redirect_url
        self.status = status if status is not None else STATUS[code]

    def body(self, request_uuid: str | None = None) -> dict:
        out = {"uuid": request_uuid or str(_uuid.uuid4()), "serverErrorCode": self.code, "reason": self.reason}
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        if self.redirect_url is not None:
            out["redirectURL"] = self.redirect_url
        return out

    @staticmethod
    def item(code: str, reason: str, **keys) -> dict:
        """A per-record or per-zone error dictionary (keys such as recordName or zoneID first)."""
        out = dict(keys)
        out["serverErrorCode"] = code
        out["reason"] = reason
        return out


def bad_request(reason: str) -> CloudKitError:
    return CloudKitError("BAD_REQUEST", reason)
