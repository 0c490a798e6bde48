"""The Conductor over a tiny in-process backend: every decision it can make, on the virtual clock."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dualsync.clients.api import ClientCrashed
from dualsync.harness.clock import VirtualClock
from dualsync.harness.conductor import Conductor, Rule
from dualsync.harness.history import History

SUPA = "https://ref.supabase.co/rest/v1/daily_logs"
CK = "https://api.apple-cloudkit.com/database/1/c/development/private/records/modify"


class Backend:
    """Records what it committed, in order; answers with the request body."""

    def __init__(self):
        self.seen: list[str] = []

    async def __call__(self, scope, receive, send):
        body = (await receive()).get("body", b"")
        self.seen.append(body.decode())
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body or b"{}"})


def world():
    clock, history, backend = VirtualClock(), History(), Backend()
    c = Conductor(clock, history, seed=1)
    c.add_backend("supabase", httpx.ASGITransport(backend), "https://ref.supabase.co")
    c.add_backend("cloudkit", httpx.ASGITransport(backend), "https://api.apple-cloudkit.com")
    return c, backend


def client(c: Conductor, device="A"):
    return httpx.AsyncClient(transport=c.transport(device))


def test_hold_then_release_in_a_chosen_order():
    async def run():
        c, backend = world()
        c.add_rule(Rule("hold", path="supabase", params={"as": "s"}))
        c.add_rule(Rule("hold", path="cloudkit", params={"as": "k"}))
        async with client(c) as http:
            t1 = asyncio.create_task(http.post(SUPA, content=b'"s"'))
            t2 = asyncio.create_task(http.post(CK, content=b'"k"'))
            await asyncio.sleep(0.01)
            assert backend.seen == [] and c.held_names() == ["k", "s"]
            c.release("k", "s")
            await asyncio.gather(t1, t2)
        return backend.seen
    assert asyncio.run(run()) == ['"k"', '"s"']


def test_hold_at_reply_commits_first():
    async def run():
        c, backend = world()
        c.add_rule(Rule("hold", params={"as": "r", "at": "reply"}))
        async with client(c) as http:
            t = asyncio.create_task(http.post(SUPA, content=b'"x"'))
            await asyncio.sleep(0.01)
            assert backend.seen == ['"x"'] and not t.done()
            c.release("r")
            return (await t).status_code
    assert asyncio.run(run()) == 200


def test_delay_releases_when_virtual_time_passes():
    async def run():
        c, backend = world()
        c.add_rule(Rule("delay", params={"seconds": 30}))
        async with client(c) as http:
            t = asyncio.create_task(http.post(SUPA, content=b'"x"'))
            await asyncio.sleep(0.01)
            c.clock.advance(29)
            await asyncio.sleep(0.01)
            assert backend.seen == []
            c.clock.advance(1)
            await t
        return backend.seen
    assert asyncio.run(run()) == ['"x"']


@pytest.mark.parametrize("params,expect", [
    ({"status": 503, "retry_after": 7}, (503, "7")),
    ({"ck_error": "THROTTLED", "retry_after": 30}, (429, None)),
])
def test_fail_with_a_status_never_reaches_the_backend(params, expect):
    async def run():
        c, backend = world()
        c.add_rule(Rule("fail", params=params))
        async with client(c) as http:
            r = await http.post(CK, content=b'"x"')
        return backend.seen, r
    seen, r = asyncio.run(run())
    assert seen == [] and (r.status_code, r.headers.get("retry-after")) == expect
    if "ck_error" in params:
        assert r.json()["serverErrorCode"] == "THROTTLED" and r.json()["retryAfter"] == 30


@pytest.mark.parametrize("rule,exc,delivered", [
    (Rule("fail", params={"error": "timeout"}), httpx.ConnectTimeout, False),
    (Rule("fail", params={"error": "drop"}), httpx.ConnectError, False),
    (Rule("lose_reply"), httpx.ReadTimeout, True),
])
def test_timeouts_drops_and_lost_replies(rule, exc, delivered):
    async def run():
        c, backend = world()
        c.add_rule(rule)
        async with client(c) as http:
            with pytest.raises(exc):
                await http.post(SUPA, content=b'"x"')
            second = await http.post(SUPA, content=b'"y"')  # the rule was used up
        return backend.seen, second.status_code
    seen, status = asyncio.run(run())
    assert status == 200 and seen == (['"x"', '"y"'] if delivered else ['"y"'])


def test_crash_at_a_fault_point_is_recorded():
    c, _ = world()
    c.add_rule(Rule("crash", device="A", match="after_reply"))
    c.fault_point("A", "before_send", "supabase")
    with pytest.raises(ClientCrashed):
        c.fault_point("A", "after_reply", "supabase")
    c.fault_point("A", "after_reply", "supabase")  # count 1: used up
    assert [e.f for e in c.history.of_type("fault")] == ["crash"]
    assert len(c.hits) == 3


def test_unknown_host_and_unknown_hold_fail_loudly():
    async def run():
        c, _ = world()
        async with client(c) as http:
            with pytest.raises(RuntimeError, match="no backend"):
                await http.get("https://example.com/")
        with pytest.raises(LookupError, match="nothing is held as nope"):
            c.release("nope")
    asyncio.run(run())
