"""Every selectable reference client: the shipped app, the remediation, and the seeded-bug mutants.

A mutant is `coordinated` with one realistic sync bug switched on. Each entry names the bug in one
line and the invariant (docs/DESIGN.md, "The invariants") a suite must catch it by.
"""

from __future__ import annotations

import dataclasses

from dualsync.clients.behaviour import COORDINATED, LEGACY, Behaviour


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    description: str
    expected_invariant: str | None
    behaviour: Behaviour


def _mutant(name: str, description: str, invariant: str, **switches) -> Variant:
    return Variant(f"mutant:{name}", description, invariant, dataclasses.replace(COORDINATED, **switches))


VARIANTS: tuple[Variant, ...] = (
    Variant("legacy", "as shipped: DEEP-SYNC-001 login race, 002 cursor past undecryptable rows, "
            "003 daily-log merge ignores needs_sync", "no lost write", LEGACY),
    Variant("coordinated", "the remediation: sequenced syncs, one LWW merge coordinator, atomic persist, "
            "failed rows retried", None, COORDINATED),
    _mutant("login-race", "DEEP-SYNC-001 alone: both services pull on login into their own store copies; "
            "last persist wins", "no lost write", login="parallel_copies", cursor_in_store=False),
    _mutant("cursor-past-failures", "DEEP-SYNC-002 alone: last_pull advances past rows that failed to decrypt",
            "no skipped row", cursor_past_failures=True),
    _mutant("daily-log-ignores-needs-sync", "DEEP-SYNC-003 alone: the CloudKit daily-log merge lets remote win "
            "over unsynced local edits", "no lost unsynced edit", daily_log_ignores_needs_sync=True),
    _mutant("late-commit-skipped", "the Supabase pull trusts its cursor to the microsecond: an upload that "
            "commits after a later-stamped row was pulled is never fetched", "no skipped row", cursor_lookback=0.0),
    _mutant("blind-upsert", "Supabase uploads are blind upserts: an older pending edit replaces a newer row "
            "already on the server", "no skipped row", conditional_push=False),
    _mutant("cursor-saved-before-records", "the pull cursor is written to settings as soon as it advances, "
            "before the records are persisted", "no skipped row", cursor_in_store=False),
    _mutant("non-atomic-persist", "the store file is rewritten in place, so a crash mid-persist leaves it torn",
            "no lost write", atomic_persist=False),
    _mutant("tombstones-dropped", "pulls skip deleted rows and tombstones", "convergence", drop_tombstones=True),
    _mutant("force-update", "CloudKit saves use forceUpdate, overwriting a newer server record without a "
            "change-tag check; the saving device's sync ends without the row it overwrote", "no skipped row",
            ck_save_op="forceUpdate"),
    _mutant("remote-wins-by-arrival", "the merge lets whichever copy arrives last win unless the local one is "
            "pending, though the declared order is device time", "determinism", merge="remote_unless_pending"),
    _mutant("wall-clock-stamps", "edits are stamped with the host's wall clock instead of the device clock, "
            "so the merge ranks them in the order the host ran them, not by device time", "no lost write",
            wall_clock_stamps=True),
    _mutant("item-errors-ignored", "per-record errors inside a 200 records/modify reply are taken as success",
            "no lost write", ignore_item_errors=True),
    _mutant("more-coming-ignored", "the first changes/zone page is taken as complete and its token saved "
            "despite moreComing", "no skipped row", ignore_more_coming=True),
    _mutant("stale-pull-resurrects", "a pulled live copy replaces a local tombstone whatever its order",
            "no resurrection", resurrect_on_pull=True),
    _mutant("refresh-failure-wipes", "a refused token refresh logs the device out and clears its store, "
            "pending edits included", "no lost write", refresh_failure_wipes=True),
    _mutant("duplicate-on-retry", "new rows are plain inserts and a duplicate-key reply after a lost ack "
            "re-keys the record: a duplicate appears", "no phantom", rekey_on_duplicate=True),
    _mutant("queue-stalls", "after one transient upload error the queue pauses until the next local edit",
            "liveness", stall_after_transient=True),
    _mutant("recreate-syncs-delete-only", "delete then re-create of one id is deduped into the pending delete",
            "no lost write", recreate_keeps_delete=True),
    _mutant("transient-error-drops-record", "a THROTTLED per-record error drops the record from the upload "
            "queue as if saved", "no lost write", transient_item_error_drops=True),
    _mutant("device-clock-stamps", "edits are stamped with the device clock alone although the policy declares "
            "hybrid-logical stamps: an edit after the clock was set back ranks before the version it edits",
            "monotonic read-your-writes", hybrid_stamps=False),
    _mutant("unreadable-conflict-stalls", "a change-tag conflict with a CloudKit record that does not decrypt is "
            "left alone: every save conflicts again and the upload never drains", "liveness",
            stall_on_unreadable_conflict=True),
    _mutant("stale-tie-overwrite", "a Supabase row stamped the same microsecond is overwritten whenever the last "
            "pull showed a lower-ranked version, though another edit replaced it since", "no skipped row",
            stale_tie_overwrite=True),
    _mutant("unlisted-kept", "after an expired CloudKit token forces a fetch from scratch, records the re-created "
            "zone no longer lists still count as held there", "convergence", unlisted_kept=True),
    _mutant("expired-token-skips", "an expired sync token is replaced by the zone's current token instead of "
            "refetching from scratch", "no skipped row", skip_on_expired_token=True),
    # Issue 15's mutants. Each prediction was written (and committed) before the mutant first ran.
    _mutant("ck-conflict-overwrites", "a CloudKit change-tag conflict is settled by taking the server "
            "record's tag and saving the pending local edit over it unread, though the server record may "
            "be newer; the newer write's author re-uploads it when it next pulls", "backend history",
            ck_conflict_overwrites=True),
    _mutant("missing-key-taken-for-rot", "a change-tag conflict with a CloudKit record sealed with a key "
            "version the device's keychain lacks yet is handled like bit rot: the pending local edit, "
            "maybe older, replaces the newer record", "backend history", missing_key_taken_for_rot=True),
    _mutant("keyset-by-time-only", "the Supabase pull pages on updated_at alone (updated_at > last): rows "
            "of one bulk upload sharing the timestamp of a page's last row are skipped", "no skipped row",
            keyset_by_time_only=True),
    _mutant("sign-out-clears-queue", "signing out clears the upload queue: edits not yet uploaded are "
            "marked synced and never leave the device", "no lost write", sign_out_clears_queue=True),
    _mutant("merge-keeps-local-fields", "a pulled copy that wins is merged field by field into the local "
            "record: fields the newer write does not have survive from the older one", "convergence",
            merge_keeps_local_fields=True),
    _mutant("pulled-delete-forgets", "a tombstone pulled from one backend removes the record from the store; "
            "a stale live copy pulled from the other backend then comes back", "monotonic read-your-writes",
            pulled_delete_forgets=True),
    # Found by a nightly campaign against coordinated (suites/scenarios/unreadable-row-blocks-upload.yaml);
    # the prediction was written before the mutant first ran.
    _mutant("unreadable-row-stalls", "a Supabase row that no longer decrypts (bit rot), stamped later than "
            "a pending edit, refuses its conditional upload and is left alone: the edit never drains",
            "liveness", stall_on_unreadable_row=True),
)

BY_NAME = {v.name: v for v in VARIANTS}


def variant(name: str) -> Variant:
    if name in BY_NAME:
        return BY_NAME[name]
    if not name.startswith("mutant:") and f"mutant:{name}" in BY_NAME:
        return BY_NAME[f"mutant:{name}"]
    raise ValueError(f"unknown client {name!r}; choose one of: {', '.join(BY_NAME)} (python -m dualsync.clients --list)")
