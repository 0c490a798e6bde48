import asyncio

P1, PH1, D1 = ("00000000-0000-4000-8000-00000000a001", "00000000-0000-4000-8000-00000000a002", "00000000-0000-4000-8000-00000000a003")

from tests.node.conftest import Backends


def test_two_node_devices_share_one_user(backends: Backends):
    async def scenario():
        a = await backends.node("fixed", "A")
        await a.command("sign_up", **backends.auth("A"))
        await a.command("write", type="profiles", id=P1, fields={"display_name": "Ana"})
        await a.command("write", type="photos", id=PH1, fields={"caption": "day one"})
        await a.command("write", type="daily_logs", id=D1, fields={"steps": 9000})
        await a.command("sync", path="supabase")
        await a.command("sync", path="cloudkit")
        b = await backends.node("fixed", "B")
        await b.command("sign_in", **backends.auth("B"))
        await b.command("login_sync")
        got = [await b.command("read", type=t, id=i) for t, i in (("profiles", P1), ("photos", PH1), ("daily_logs", D1))]
        return got, a.stderr, b.stderr

    got, ea, eb = backends.run(scenario)
    print(ea.decode()[-2000:], eb.decode()[-2000:])
    assert got == [{"fields": {"display_name": "Ana"}}, {"fields": {"caption": "day one"}}, {"fields": {"steps": 9000}}]
