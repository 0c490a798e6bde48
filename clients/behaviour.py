"""The switches that make one reference client differ from another.

`legacy` is the app as shipped, `coordinated` the audit's remediation, and every mutant is
`coordinated` with exactly one realistic bug switched on (see catalogue.py). Keeping the bugs as
named switches in the one code base means a mutant differs from `coordinated` only where its
description says.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from dualsync.clients.api import ResolutionPolicy

# The remediated client resolves every conflict by the edit's stamp (write id as tie-break): each
# copy of a write carries both, whichever backend it came through, so the outcome cannot depend on
# which response arrived first. Stamps are hybrid-logical: an edit ranks after the version it
# edits even when the device clock was set back in between (plain device time would let a later
# edit lose to an earlier one). Record-level; a pending local edit only yields to a later write.
COORDINATED_POLICY = ResolutionPolicy(order="client_modified_at", granularity="record", respects_needs_sync=True,
                                      stamps="hybrid_logical")
# As shipped: the remote copy wins unless the local one still needs sync, i.e. whatever lands last.
LEGACY_POLICY = ResolutionPolicy(order="arrival", granularity="record", respects_needs_sync=False)


@dataclasses.dataclass(frozen=True)
class Behaviour:
    policy: ResolutionPolicy = COORDINATED_POLICY
    # "sequenced": one coordinator runs the paths one after the other on the one store.
    # "parallel_copies": each service pulls into its own copy of the store and persists it (001).
    login: Literal["sequenced", "parallel_copies"] = "sequenced"
    # "lww": the declared order decides; "remote_unless_pending": remote wins unless needs_sync.
    merge: Literal["lww", "remote_unless_pending"] = "lww"
    # Cursors live in the store file and are written with the records; otherwise in a separate
    # settings file written as soon as they advance (the app's UserDefaults).
    cursor_in_store: bool = True
    cursor_past_failures: bool = False          # 002
    # Seconds of server time a Supabase pull re-reads behind its cursor, for late commits (0: none).
    cursor_lookback: float = 10.0
    # Supabase uploads overwrite a row only if it holds no later edit (insert-if-absent, then a
    # PATCH filtered on client_modified_at); otherwise a blind upsert.
    conditional_push: bool = True
    daily_log_ignores_needs_sync: bool = False  # 003
    atomic_persist: bool = True
    drop_tombstones: bool = False
    ck_save_op: Literal["update", "forceUpdate"] = "update"
    ignore_item_errors: bool = False
    ignore_more_coming: bool = False
    resurrect_on_pull: bool = False
    refresh_failure_wipes: bool = False
    rekey_on_duplicate: bool = False
    stall_after_transient: bool = False
    recreate_keeps_delete: bool = False
    wall_clock_stamps: bool = False
    # Stamp an edit with max(clock, stamp of the edited version + 1 µs), as the policy declares;
    # False stamps the clock reading alone (what the shipped app does, and a seeded bug under a
    # policy that declares hybrid-logical stamps).
    hybrid_stamps: bool = True
    transient_item_error_drops: bool = False
    skip_on_expired_token: bool = False
    # A change-tag conflict with a server record that does not decrypt (bit rot) is left alone:
    # every save conflicts again and the upload never drains.
    stall_on_unreadable_conflict: bool = False
    # A Supabase row that does not decrypt under a key the device holds, stamped later than the
    # pending edit, refuses the conditional upload; left alone, the edit stays queued forever.
    stall_on_unreadable_row: bool = False
    # A Supabase row stamped the same microsecond as our edit is overwritten whenever the last
    # pull showed a version ranking below ours, even if another edit has replaced it since.
    stale_tie_overwrite: bool = False
    # After a fetch from nil (expired token), records the zone no longer lists still count as
    # held there: a zone deleted and re-created by another device never gets them back.
    unlisted_kept: bool = False
    # A CloudKit change-tag conflict is "resolved" by taking the server record's tag and saving the
    # pending local edit over it, unmerged, whatever the server record holds.
    ck_conflict_overwrites: bool = False
    # A conflicting CloudKit record sealed with a key version this device's keychain lacks yet is
    # taken for bit rot and replaced by the pending local edit.
    missing_key_taken_for_rot: bool = False
    # The Supabase pull pages on `updated_at > last` alone: rows sharing the timestamp of a page's
    # last row (one bulk upload, one transaction) are skipped.
    keyset_by_time_only: bool = False
    # Signing out marks every pending edit as uploaded (the upload queue is cleared with the session).
    sign_out_clears_queue: bool = False
    # A pulled copy that wins keeps the local record's fields it lacks (a field-union merge under a
    # record-level policy).
    merge_keeps_local_fields: bool = False
    # A pulled tombstone removes the record from the store instead of keeping the tombstone, so a
    # stale live copy arriving on the other path later is taken as new.
    pulled_delete_forgets: bool = False


COORDINATED = Behaviour()
LEGACY = Behaviour(policy=LEGACY_POLICY, login="parallel_copies", merge="remote_unless_pending",
                   cursor_in_store=False, cursor_lookback=0.0, conditional_push=False, cursor_past_failures=True, daily_log_ignores_needs_sync=True,
                   hybrid_stamps=False)
