"""A seeded random workout of three devices on one account: edits, deletes and syncs of either
path in random order, then quiescence. `coordinated` must converge every device and both
backends on the write its declared order ranks last, for every record."""

import random

import pytest

from dualsync.clients.app import ROUTES
from tests.clients.support import record_id, run, signed_in, signed_up

DEVICES = {"A": 0.0, "B": -40.0, "C": 25.0}  # skews: device time order differs from real order


async def workout(rig, seed, steps=40):
    rnd = random.Random(seed)
    devices = {"A": await signed_up(rig.device("coordinated", "A", skew=DEVICES["A"]))}
    for name in ("B", "C"):
        devices[name] = await signed_in(rig.device("coordinated", name, skew=DEVICES[name]))
    keys = [(t, record_id()) for t in ROUTES for _ in range(2)]
    ledger = {}  # key -> the rank of every write made to it, as the device stamped it
    for n in range(steps):
        rig.clock.advance(rnd.choice([1, 5, 30]))
        device = devices[rnd.choice(sorted(devices))]
        action, key = rnd.random(), rnd.choice(keys)
        if action < 0.45:
            device.write(*key, {"n": n, "by": device.name})
        elif action < 0.55 and device.read(*key) is not None:
            device.delete(*key)
        else:
            await device.sync(rnd.choice(["supabase", "cloudkit"]))
            continue
        ledger.setdefault(key, []).append(device.store.get(*key).rank())
    return devices, ledger


async def quiesce(devices, rounds=6):
    for _ in range(rounds):
        before = {n: d.store_snapshot() for n, d in devices.items()}
        for device in devices.values():
            await device.sync("supabase")
            await device.sync("cloudkit")
        if before == {n: d.store_snapshot() for n, d in devices.items()}:
            return True
    return False


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coordinated_converges_on_the_declared_winner(rig, seed):
    async def scenario():
        devices, ledger = await workout(rig, seed)
        settled = await quiesce(devices)
        fresh = await signed_in(rig.device("coordinated", "fresh"))  # reads what the backends hold
        await fresh.login_sync()
        return devices, ledger, settled, fresh

    devices, ledger, settled, fresh = run(scenario())
    assert settled, "still changing after six quiescence rounds"
    for key, ranks in ledger.items():
        winner = max(ranks)[2]
        for name, device in {**devices, "fresh": fresh}.items():
            held = device.store.get(*key)
            assert held is not None and held.write_id == winner, f"{name} holds {held and held.write_id} for {key}, want {winner}"
            assert not held.needs_sync, (name, key)
