"""Every behaviour Apple leaves undocumented is a field here, with the fake's default choice.

README.md lists these choices and why; tests flip them per instance (`CloudKit(config=...)`).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class Config:
    # Limits (PropertyMetrics.html: 200 operations per request, 200 records per response).
    max_operations: int = 200
    max_results: int = 200
    max_lookup: int = 200
    max_zones_per_request: int = 200
    # Undocumented web error for an expired/too-old syncToken (native: changeTokenExpired).
    expired_token_code: str = "BAD_REQUEST"
    # Sync tokens older than this many seconds of clock time expire (None: only forced expiry).
    token_horizon: float | None = None
    # Status of a response whose atomic batch failed: 200 with per-record errors, or 400
    # (one third party observed 400; neither is documented).
    atomic_failure_status: int = 200
    # `create` of an existing record: EXISTS (Apple's table) or CONFLICT (native serverRecordChanged).
    create_existing_code: str = "EXISTS"
    # `delete` (tag-checked) of a missing record: NOT_FOUND; `forceDelete` of one succeeds.
    delete_missing_code: str = "NOT_FOUND"
    # Change fetches on _defaultZone are unsupported natively; allow them only if set.
    default_zone_changes: bool = False
    # Web auth tokens: lifetime in clock seconds (Apple: 30 min) and whether a used token dies
    # when the response hands out its successor ("strict"), or stays valid until it expires.
    web_auth_token_ttl: float | None = 30 * 60
    web_auth_token_rotation: str = "lenient"  # "lenient" | "strict" | "off"
    # Order of records inside one change page: "position" (change order) or "shuffled"
    # (a deterministic shuffle per page, to catch clients that assume order).
    change_order: str = "position"
    # Tombstones in feeds carry recordType (native does; the web fixture seen does not).
    tombstone_record_type: bool = False
    environments: tuple[str, ...] = ("development", "production")

    def __post_init__(self) -> None:
        if self.web_auth_token_rotation not in ("lenient", "strict", "off"):
            raise ValueError(f"web_auth_token_rotation must be lenient, strict or off, not {self.web_auth_token_rotation!r}")
        if self.change_order not in ("position", "shuffled"):
            raise ValueError(f"change_order must be 'position' or 'shuffled', not {self.change_order!r}")
        if self.atomic_failure_status not in (200, 400):
            raise ValueError(f"atomic_failure_status must be 200 or 400, not {self.atomic_failure_status}")
        for name in ("max_operations", "max_results", "max_lookup", "max_zones_per_request"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
