"""Isolation probes: a request with a forged or expired credential must be refused with 401.

The probe goes through the device's own transport, so the Conductor and the swimlane see it."""

from __future__ import annotations

from typing import Any

from dualsync.fakes.supabase import tokens

WRONG_SECRET = "an-attacker-guessed-secret-of-at-least-32-chars"


def supabase_token(world: Any, device: Any, kind: str) -> str:
    uid = world.backends.user_ids.get(device.user, "00000000-0000-0000-0000-000000000000")
    now = int(world.clock.now())
    claims = {"sub": uid, "role": "authenticated", "aud": "authenticated", "exp": now + 3600}
    if kind == "expired":
        claims["exp"] = now - 3600
        return tokens.encode(claims, world.backends.supabase.jwt_secret)
    return tokens.encode(claims, WRONG_SECRET)


def request_line(world: Any, path: str) -> tuple[str, str]:
    """The probe's method and URL path on `path`, as the Conductor's rules match them."""
    if path == "supabase":
        both = [t for t in world.app.on("supabase") if len(t.routes) > 1] or world.app.on("supabase")
        return "GET", f"/rest/v1/{both[0].table}"
    return "POST", f"/database/1/{world.backends.cloudkit.container_id}/development/private/zones/lookup"


async def probe(world: Any, device: Any, kind: str, path: str) -> int:
    _method, url_path = request_line(world, path)
    if path == "supabase":
        headers = {"apikey": world.backends.anon_key,
                   "Authorization": f"Bearer {supabase_token(world, device, kind)}"}
        r = await device.http.get(f"{world.backends.supabase_url}{url_path}?select=id", headers=headers)
        return r.status_code
    token = {"forged": "1__" + "0" * 48, "expired": _expired_ck_token(world, device)}[kind]
    r = await device.http.post(f"{world.backends.urls['cloudkit']}{url_path}",
                               params={"ckAPIToken": "api-token", "ckWebAuthToken": token},
                               json={"zones": [{"zoneName": world.app.zone}]})
    return r.status_code


def _expired_ck_token(world: Any, device: Any) -> str:
    ck = world.backends.cloudkit
    token = ck.mint_web_auth_token(device.user, device.name)
    ck.sessions[token].expires_at = world.clock.now() - 1
    return token
