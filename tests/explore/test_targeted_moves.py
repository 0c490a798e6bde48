"""Each targeted move and dimension of the generator reaches the bug class it was added for: played
alone on the mutant that carries the bug, it breaks the invariant the catalogue predicts, and on
`coordinated` every invariant holds."""

from __future__ import annotations

import pytest

from dualsync.harness.explore.moves import Driver
from dualsync.harness.explore.session import Session


def bulk_across_pages(d: Driver) -> None:
    d.bulk("A", "daily_logs", "supabase")
    d.sync("B", "supabase")


def sign_out_pending(d: Driver) -> None:
    d.sign_out_pending("A", "B", "profiles", 0)


def delete_crossing(d: Driver) -> None:
    d.delete_crossing("A", "B", "daily_logs", "supabase")


def older_edit_saved_last(d: Driver) -> None:
    d.collide("A", "B", "photos", 0, "cloudkit", mine_first=True)
    d.sync("B", "cloudkit")


def narrow_write_wins(d: Driver) -> None:
    d.narrow = {"B"}
    d.write("A", "photos", 0)
    d.sync("A", "cloudkit")
    d.sync("B", "cloudkit")
    d.advance(5)
    d.write("B", "photos", 0)
    d.sync("B", "cloudkit")
    d.sync("A", "cloudkit")


def rotated_conflict(d: Driver) -> None:
    d.write("B", "photos", 0)
    d.advance(5)
    d.rotate_key("alice", "A")
    d.write("A", "photos", 0)
    d.sync("A", "cloudkit")
    d.sync("B", "cloudkit")


CASES = [
    (bulk_across_pages, "mutant:keyset-by-time-only", "no-skipped-row"),
    (sign_out_pending, "mutant:sign-out-clears-queue", "no-lost-write"),
    (delete_crossing, "mutant:pulled-delete-forgets", "monotonic-read-your-writes"),
    (older_edit_saved_last, "mutant:ck-conflict-overwrites", "backend-history"),
    (narrow_write_wins, "mutant:merge-keeps-local-fields", "convergence"),
    (rotated_conflict, "mutant:missing-key-taken-for-rot", "backend-history"),
]


def played(client: str, database, move) -> list[str]:
    devices = {"A": {"user": "alice"}, "B": {"user": "alice", "page_size": 1}}
    with Session(client, database, devices, seed=5) as s:
        d = Driver(s)
        d.sign_in("A")
        d.sign_in("B")
        move(d)
        d.wind_down()
        return s.finish().violated


@pytest.mark.parametrize("move, mutant, predicted", CASES, ids=[c[1] for c in CASES])
def test_the_move_reaches_its_bug_class(pg_database, move, mutant, predicted):
    assert predicted in played(mutant, pg_database, move)
    assert played("coordinated", pg_database, move) == []
