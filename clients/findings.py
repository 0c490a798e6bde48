"""The case study's findings as these reference clients carry them: for each, the switch on
`legacy`'s behaviour that fixes it alone, the counterfactual client (legacy with that finding
fixed), and which programs can reach the code the switch guards. The harness's hunts read this
through the client suite (`dualsync.clients.findings()`), so they name no record type themselves.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

from dualsync.clients.catalogue import BY_NAME, Variant
from dualsync.clients.app import APP

DAILY_LOGS = APP.type_named("daily_logs").name  # the type whose merge DEEP-SYNC-003 is about


class CaseStudyFindings:
    fixes = {"DEEP-SYNC-001": {"login": "sequenced"},
             "DEEP-SYNC-002": {"cursor_past_failures": False},
             "DEEP-SYNC-003": {"daily_log_ignores_needs_sync": False}}
    counterfactuals = {f: f"legacy-without:{f}" for f in fixes}

    def register(self) -> None:
        """Make each counterfactual selectable by name (in this process)."""
        for finding, switches in self.fixes.items():
            name = self.counterfactuals[finding]
            BY_NAME.setdefault(name, Variant(
                name, f"legacy with {finding} fixed", None,
                dataclasses.replace(BY_NAME["legacy"].behaviour, **switches)))

    def reaches(self, finding: str, steps: Iterable[tuple[str, dict[str, Any]]]) -> bool:
        """Whether a program can reach the code its finding's switch guards; one that cannot runs
        the same on legacy and on legacy with that switch flipped. The cursor switch is read only
        for a Supabase row that failed to decrypt (supabase_sync.py), which takes bit rot or a key
        the device lacks; the daily-log one only when a daily log is merged (merge.py), which takes
        one being written. The login switch decides every sync of legacy, so every program
        reaches it."""
        steps = list(steps)
        ops = {op for op, _ in steps}
        written = {args.get("type") for op, args in steps if op in ("write", "delete")}
        return {"DEEP-SYNC-001": True,
                "DEEP-SYNC-002": bool(ops & {"corrupt", "rotate_key"}),
                "DEEP-SYNC-003": DAILY_LOGS in written}[finding]
