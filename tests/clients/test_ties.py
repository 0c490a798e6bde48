"""Two edits of one record stamped the same microsecond on Supabase: the device name breaks the
tie, and an upload overwrites a row of that microsecond only while it is still the version the
device last pulled (and saw rank below its own)."""

from __future__ import annotations

import dataclasses

import pytest

from clients.behaviour import COORDINATED
from clients.catalogue import BY_NAME, Variant
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


@pytest.mark.parametrize("variant, settles_on", [("coordinated", "from B"), ("stale-tie", "from A")])
def test_a_tie_with_a_row_replaced_since_the_pull_is_not_overwritten(rig, monkeypatch, variant,
                                                                     settles_on):
    """A and B both pulled C's edit, then edit it in the same microsecond (B ranks last). B uploads
    first. A's upload must not take B's row for the C version it pulled: it is refused, A's pull
    brings B's edit and the merge keeps it. The seeded bug overwrites B's row with A's edit."""
    if variant == "stale-tie":
        stale = dataclasses.replace(COORDINATED, stale_tie_overwrite=True)
        monkeypatch.setitem(BY_NAME, "test:stale-tie", Variant("test:stale-tie", "", None, stale))
        variant = "test:stale-tie"

    async def scenario():
        c = await signed_up(rig.device("coordinated", "C"))
        a = await signed_in(rig.device(variant, "A"))
        b = await signed_in(rig.device("coordinated", "B"))
        rid = record_id()
        c.write("profiles", rid, {"display_name": "from C"})
        await c.sync("supabase")
        rig.clock.advance(1)
        await a.sync("supabase")
        await b.sync("supabase")
        a.write("profiles", rid, {"display_name": "from A"})
        b.write("profiles", rid, {"display_name": "from B"})
        await b.sync("supabase")
        await a.sync("supabase")
        await c.sync("supabase")
        return a.read("profiles", rid), c.read("profiles", rid)

    assert run(scenario()) == ({"display_name": settles_on},) * 2
