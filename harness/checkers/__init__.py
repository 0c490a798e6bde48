"""Checkers for the ten invariants (the nine no-loss ones and backend history): pure functions from a history (and the stores at
quiescence) to a `Verdict` that names the smallest set of events explaining a violation."""

from __future__ import annotations

from dualsync.harness.checkers.backend import check_backend_history
from dualsync.harness.checkers.final import (check_convergence, check_no_lost_write,
                                    check_no_resurrection_no_phantom)
from dualsync.harness.checkers.ledger import Ledger, Store
from dualsync.harness.checkers.persists import (check_isolation, check_monotonic_read_your_writes,
                                       check_no_lost_unsynced_edit)
from dualsync.harness.checkers.progress import check_determinism, check_liveness, check_no_skipped_row
from dualsync.harness.checkers.verdict import INVARIANTS, Verdict, Violation
from dualsync.harness.history import History

# Determinism needs several runs, so `check_all` leaves it to `check_determinism`.
SINGLE_RUN = {
    "convergence": check_convergence,
    "no-lost-write": check_no_lost_write,
    "no-lost-unsynced-edit": check_no_lost_unsynced_edit,
    "no-skipped-row": check_no_skipped_row,
    "monotonic-read-your-writes": check_monotonic_read_your_writes,
    "no-resurrection-no-phantom": check_no_resurrection_no_phantom,
    "isolation": check_isolation,
    "liveness": check_liveness,
    "backend-history": check_backend_history,
}


def check_all(history: History, final: dict[str, Store]) -> dict[str, Verdict]:
    return {name: check(history, final) for name, check in SINGLE_RUN.items()}


__all__ = ["INVARIANTS", "check_backend_history", "Ledger", "SINGLE_RUN", "Store", "Verdict", "Violation", "check_all",
           "check_convergence", "check_determinism", "check_isolation", "check_liveness",
           "check_monotonic_read_your_writes", "check_no_lost_unsynced_edit",
           "check_no_lost_write", "check_no_resurrection_no_phantom", "check_no_skipped_row"]
