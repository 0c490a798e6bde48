"""GoTrue's sessions and tokens: transactions, bearer-token checks (requireAuthentication,
requireAdminCredentials), session issue, refresh-token rotation with the reuse rules, logout.

The base of `GoTrue` (gotrue.py); the admin API (gotrue_admin.py) uses `require_admin`.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

from . import tokens
from .errors import ApiError, AuthError
from .gotrue_model import NIL_INSTANCE, load_user, user_row

JWT_EXP = 3600
REUSE_INTERVAL = 10          # seconds a revoked refresh token may still be swapped (CLI default)
ADMIN_ROLES = ("service_role", "supabase_admin")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# PostgREST's wording (tokens.py) -> golang-jwt v5's, which GoTrue puts after "invalid JWT: ...".
_GOLANG_JWT = {"JWT expired": "token has invalid claims: token is expired",
               "JWT not yet valid": "token has invalid claims: token is not valid yet",
               "JWT issued at future": "token has invalid claims: token used before issued",
               "No suitable key or wrong key type": "token signature is invalid: signature is invalid",
               "Expected 3 parts in JWT; got 1": "token is malformed: token contains an invalid number of segments",
               "Expected 3 parts in JWT; got 2": "token is malformed: token contains an invalid number of segments",
               "Wrong or unsupported encoding algorithm": "token is unverifiable: signing method is invalid"}

# GoTrue's RevokeTokenFamily: every descendant of the reused token (updated_at untouched).
_REVOKE_FAMILY = """
with recursive family as (
  select id, token from auth.refresh_tokens where parent = %s
  union
  select r.id, r.token from auth.refresh_tokens r join family f on r.parent = f.token
)
update auth.refresh_tokens r set revoked = true from family where family.id = r.id
"""


def new_refresh_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


class Sessions:
    def __init__(self, pools, keys, clock):
        self.pools, self.keys, self.clock = pools, keys, clock

    async def tx(self, work):
        async with self.pools.borrow() as conn:
            async with conn.transaction():
                try:
                    return await work(conn)
                except _Commit as commit:
                    failure = commit.error
            raise failure

    def banned(self, row: dict) -> bool:
        return row["banned_until"] is not None and row["banned_until"] > self.clock.now()

    # ---- bearer tokens -----------------------------------------------------------------------

    def verify(self, access_token: str | None) -> dict:
        """extractBearerToken + parseJWTClaims: 401 without a token, 403 bad_jwt when it does not verify."""
        if not access_token:
            raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            return tokens.decode(access_token, self.keys, self.clock.now(), skew=0, hs_fallback=True)
        except ApiError as exc:
            reason = _GOLANG_JWT.get(exc.message, f"token is malformed: {exc.message}")
            raise AuthError(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {reason}") from None

    async def authenticate(self, conn, access_token: str | None) -> dict:
        """requireAuthentication: the token verifies, its user and session exist, the user is not banned."""
        claims = self.verify(access_token)
        await self._load_user_and_session(conn, claims)
        return claims

    async def _load_user_and_session(self, conn, claims: dict) -> dict:
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
        try:
            sub = str(uuid.UUID(sub))
        except ValueError:
            raise AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID") from None
        row = await user_row(conn, "id = %s", (sub,))
        if row is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        session_id = claims.get("session_id")
        if session_id and session_id != NIL_INSTANCE:
            try:
                session_id = str(uuid.UUID(str(session_id)))
            except ValueError:
                raise AuthError(403, "bad_jwt", "invalid claim: session_id claim must be a UUID") from None
            if not await (await conn.execute("select 1 from auth.sessions where id = %s", (session_id,))).fetchone():
                raise AuthError(403, "session_not_found", "Session from session_id claim in JWT does not exist")
        if self.banned(row):
            raise AuthError(403, "user_banned", "User is banned")
        claims["sub"] = sub
        return row

    async def require_admin(self, conn, access_token: str | None) -> dict:
        """requireAdminCredentials: a verified token (its session checked when it names one) whose
        role is an admin role (service_role, supabase_admin)."""
        claims = self.verify(access_token)
        if claims.get("session_id") and claims["session_id"] != NIL_INSTANCE:
            await self._load_user_and_session(conn, claims)
        if claims.get("role") not in ADMIN_ROLES:
            raise AuthError(403, "not_admin", "User not allowed")
        return claims

    # ---- sessions ----------------------------------------------------------------------------

    async def issue_session(self, conn, user_id: str, issuer: str, method: str) -> dict:
        now = self.clock.now()
        await conn.execute("update auth.users set last_sign_in_at = %s where id = %s", (now, user_id))
        session_id = uuid.uuid4()
        await conn.execute("insert into auth.sessions (id, user_id, created_at, updated_at) values (%s, %s, %s, %s)",
                           (session_id, user_id, now, now))
        await conn.execute("insert into auth.mfa_amr_claims (session_id, created_at, updated_at, "
                           "authentication_method) values (%s, %s, %s, %s)", (session_id, now, now, method))
        token = await self._new_refresh_token(conn, user_id, session_id, parent=None)
        return await self._session_response(conn, user_id, session_id, token, issuer)

    async def token_refresh_grant(self, refresh_token, issuer: str) -> dict:
        if not isinstance(refresh_token, str) or len(refresh_token) < 12:
            raise AuthError(400, "validation_failed", "Refresh token is not valid")

        async def work(conn):
            row = await (await conn.execute(
                "select id, token, user_id, revoked, updated_at, parent, session_id from auth.refresh_tokens "
                "where token = %s for update", (refresh_token,))).fetchone()
            if row is None:
                raise AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
            user = await user_row(conn, "id = %s", (row[2],))
            if user is not None and self.banned(user):
                raise AuthError(400, "user_banned", "Invalid Refresh Token: User Banned")
            issued = await self._swap(conn, row)
            user_id, session_id = row[2], row[6]
            await conn.execute("update auth.sessions set refreshed_at = %s, updated_at = %s where id = %s",
                               (self.clock.now().replace(tzinfo=None), self.clock.now(), session_id))
            return await self._session_response(conn, user_id, session_id, issued, issuer)
        return await self.tx(work)

    async def _swap(self, conn, row) -> str:
        """Rotation with GoTrue's reuse rules: a revoked parent of the active token gets the active
        token back; another revoked token within the reuse interval gets a fresh child; else its
        descendants are revoked and the request fails."""
        token_id, token, user_id, revoked, updated_at, _, session_id = row
        if revoked:
            active = await (await conn.execute(
                "select token, parent from auth.refresh_tokens where session_id = %s and not revoked "
                "order by id desc limit 1", (session_id,))).fetchone()
            if active and active[1] == token:
                return active[0]
            if self.clock.now() > updated_at + dt.timedelta(seconds=REUSE_INTERVAL):
                await conn.execute(_REVOKE_FAMILY, (token,))
                raise _Commit(AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used"))
        now = self.clock.now()
        await conn.execute("update auth.refresh_tokens set revoked = true, updated_at = %s where id = %s",
                           (now, token_id))
        return await self._new_refresh_token(conn, user_id, session_id, parent=token)

    async def logout(self, access_token: str | None, scope: str) -> None:
        if scope not in ("global", "local", "others"):
            raise AuthError(400, "validation_failed", f"Unsupported logout scope {scope!r}")

        async def work(conn):
            claims = await self.authenticate(conn, access_token)
            session_id = claims.get("session_id")
            if scope != "global" and not session_id:
                return
            where = {"global": "user_id = %s", "local": "user_id = %s and id = %s",
                     "others": "user_id = %s and id <> %s"}[scope]
            params = (claims["sub"],) if scope == "global" else (claims["sub"], session_id)
            await conn.execute(f"delete from auth.sessions where {where}", params)
        await self.tx(work)

    async def _new_refresh_token(self, conn, user_id: str, session_id, parent: str | None) -> str:
        token, now = new_refresh_token(), self.clock.now()
        await conn.execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, "
            "session_id) values (%s, %s, %s, false, %s, %s, %s, %s)",
            (NIL_INSTANCE, token, str(user_id), now, now, parent, session_id))
        return token

    async def _session_response(self, conn, user_id: str, session_id, refresh_token: str, issuer: str) -> dict:
        user = await load_user(conn, user_id)
        if user is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        now = int(self.clock.now().timestamp())
        amr = [{"method": m, "timestamp": int(t.timestamp())} for m, t in await (await conn.execute(
            "select authentication_method, created_at from auth.mfa_amr_claims where session_id = %s "
            "order by created_at desc", (session_id,))).fetchall()] or [{"method": "password", "timestamp": now}]
        claims = {"iss": issuer, "sub": user["id"], "aud": user["aud"] or "authenticated", "exp": now + JWT_EXP,
                  "iat": now, "email": user["email"], "phone": user["phone"], "app_metadata": user["app_metadata"],
                  "user_metadata": user["user_metadata"], "role": user["role"] or "authenticated", "aal": "aal1",
                  "amr": amr, "session_id": str(session_id), "is_anonymous": user["is_anonymous"]}
        return {"access_token": self.keys.sign(claims), "token_type": "bearer", "expires_in": JWT_EXP,
                "expires_at": now + JWT_EXP, "refresh_token": refresh_token, "user": user}


class _Commit(Exception):
    """Raised inside a transaction whose writes must stick although the request fails (GoTrue's
    `NewCommitWithError`: revoking a token family is kept even though the refresh is refused)."""

    def __init__(self, error: AuthError):
        super().__init__(str(error))
        self.error = error
