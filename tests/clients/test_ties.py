"""Two edits of one record stamped the same microsecond on Supabase: the device name breaks the
tie, and an upload overwrites a row of that microsecond only while it is still the version the
device last pulled (and saw rank below its own). The stale case (another same-microsecond edit
replaced that version since) is the `stale-tie-overwrite` scenario in test_mutants.py."""

from __future__ import annotations

from tests.clients.support import record_id, run, signed_in, signed_up


def test_a_same_microsecond_edit_that_ranks_lower_is_overwritten_after_the_pull(rig):
    async def scenario():
        a = await signed_up(rig.device("coordinated", "A"))
        b = await signed_in(rig.device("coordinated", "B"))
        rid = record_id()
        a.write("profiles", rid, {"display_name": "from A"})
        b.write("profiles", rid, {"display_name": "from B"})  # the same microsecond; B ranks last
        await a.sync("supabase")
        await b.sync("supabase")  # refused at first, pulls A's, then overwrites it
        await a.sync("supabase")
        return b.store.get("profiles", rid).needs_sync, a.read("profiles", rid)

    assert run(scenario()) == (False, {"display_name": "from B"})

