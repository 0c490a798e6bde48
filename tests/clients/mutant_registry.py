"""The table of client-level mutant scenarios (tests/clients/test_mutants.py runs it) and the
helpers the scenario modules share."""

import httpx

from tests.clients.support import signed_in, signed_up

SCENARIOS = {}
LATER = 60.0  # virtual seconds: more than the remediated pull's look-back (behaviour.cursor_lookback)


def scenario(name, correct):
    def register(fn):
        SCENARIOS[name] = (fn, correct)
        return fn
    return register


async def pair(rig, variant, tag, **b_options):
    a = await signed_up(rig.device(variant, f"{tag}-A"), email=f"{tag}@example.com")
    b = await signed_in(rig.device(variant, f"{tag}-B", **b_options), email=f"{tag}@example.com")
    return a, b


async def both(device):
    await device.sync("supabase")
    await device.sync("cloudkit")


class PerRecordError(httpx.AsyncBaseTransport):
    """Answers the first records/modify itself with a per-record error for every operation, inside
    a 200 (the documented shape of a per-item error); then steps aside."""

    def __init__(self, inner, code="THROTTLED"):
        self.inner, self.code, self.used = inner, code, False

    async def handle_async_request(self, request):
        if self.used or not request.url.path.endswith("/records/modify"):
            return await self.inner.handle_async_request(request)
        self.used = True
        import json
        ops = json.loads(request.content)["operations"]
        items = [{"recordName": op["record"]["recordName"], "serverErrorCode": self.code,
                  "reason": "injected per-record error", "retryAfter": 2} for op in ops]
        return httpx.Response(200, json={"records": items})
