"""GoTrue's password-login subset, kept in the `auth` schema's tables as GoTrue keeps them.

The model: plain async methods over an admin connection, named after GoTrue's handlers
(`signup`, `token_password_grant`, `token_refresh_grant`, `get_user`, `logout`). They return JSON-ready
dicts or raise `AuthError` with GoTrue's status, error code and message (v2.18x).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid

from . import tokens
from .errors import ApiError, AuthError

JWT_EXP = 3600
REUSE_INTERVAL = 10          # seconds a revoked refresh token may still be swapped (CLI default)
PBKDF2_ROUNDS = 1000         # GoTrue uses bcrypt; the hash format is internal, the speed matters here
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

# GoTrue's RevokeTokenFamily: every descendant of the reused token (updated_at untouched).
_REVOKE_FAMILY = """
with recursive family as (
  select id, token from auth.refresh_tokens where parent = %s
  union
  select r.id, r.token from auth.refresh_tokens r join family f on r.parent = f.token
)
update auth.refresh_tokens r set revoked = true from family where family.id = r.id
"""
_USER_COLUMNS = ("id, aud, role, email, email_confirmed_at, last_sign_in_at, raw_app_meta_data, "
                 "raw_user_meta_data, is_anonymous, created_at, updated_at")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"), salt, PBKDF2_ROUNDS)
    return f"$pbkdf2-sha256${PBKDF2_ROUNDS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    try:
        _, _, rounds, salt, digest = (stored or "").split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8", "surrogatepass"),
                                  base64.b64decode(salt), int(rounds))
        return hmac.compare_digest(got, base64.b64decode(digest))
    except ValueError:
        return False


def new_refresh_token() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_object(row) -> dict:
    (uid, aud, role, email, confirmed, last_sign_in, app_meta, user_meta, anonymous, created, updated) = row
    return {"id": str(uid), "aud": aud, "role": role, "email": email, "email_confirmed_at": iso(confirmed),
            "phone": "", "confirmed_at": iso(confirmed), "last_sign_in_at": iso(last_sign_in),
            "app_metadata": app_meta or {}, "user_metadata": user_meta or {}, "identities": [],
            "created_at": iso(created), "updated_at": iso(updated), "is_anonymous": anonymous}


class GoTrue:
    def __init__(self, pools, secret: str, clock):
        self.pools, self.secret, self.clock = pools, secret, clock

    async def _tx(self, work):
        pool = self.pools.current()
        conn = await pool.acquire()
        try:
            async with conn.transaction():
                try:
                    return await work(conn)
                except _Commit as commit:
                    failure = commit.error
            raise failure
        finally:
            await pool.release(conn)

    # ---- handlers --------------------------------------------------------------------------

    async def signup(self, email, password, data, issuer: str) -> dict:
        email = _valid_email(email, "To signup, please provide your email")
        _strong_password(password)
        meta = data if isinstance(data, dict) else {}

        async def work(conn):
            if await (await conn.execute("select 1 from auth.users where email = %s and not is_anonymous",
                                         (email,))).fetchone():
                raise AuthError(422, "user_already_exists", "User already registered")
            now = self.clock.now()
            await conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, "
                "raw_app_meta_data, raw_user_meta_data, created_at, updated_at) values "
                "('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, %s, %s, %s, %s, %s, %s)",
                (uuid.uuid4(), email, hash_password(password), now,
                 json.dumps({"provider": "email", "providers": ["email"]}), json.dumps(meta), now, now))
            return await self._issue_session(conn, email, issuer)
        return await self._tx(work)

    async def token_password_grant(self, email, password, issuer: str) -> dict:
        if not isinstance(email, str) or not isinstance(password, str) or not _storable(email):
            raise AuthError(400, "invalid_credentials", "Invalid login credentials")

        async def work(conn):
            row = await (await conn.execute(
                "select encrypted_password from auth.users where email = %s and not is_anonymous",
                (email.strip().lower(),))).fetchone()
            if row is None or not verify_password(password, row[0]):
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            return await self._issue_session(conn, email.strip().lower(), issuer)
        return await self._tx(work)

    async def token_refresh_grant(self, refresh_token, issuer: str) -> dict:
        if not isinstance(refresh_token, str) or len(refresh_token) < 12:
            raise AuthError(400, "validation_failed", "Refresh token is not valid")

        async def work(conn):
            row = await (await conn.execute(
                "select id, token, user_id, revoked, updated_at, parent, session_id from auth.refresh_tokens "
                "where token = %s for update", (refresh_token,))).fetchone()
            if row is None:
                raise AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
            issued = await self._swap(conn, row)
            user_id, session_id = row[2], row[6]
            await conn.execute("update auth.sessions set refreshed_at = %s, updated_at = %s where id = %s",
                               (self.clock.now().replace(tzinfo=None), self.clock.now(), session_id))
            return await self._session_response(conn, user_id, session_id, issued, issuer)
        return await self._tx(work)

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

    async def get_user(self, access_token: str | None) -> dict:
        claims = self._claims(access_token)

        async def work(conn):
            await self._require_session(conn, claims)
            return await self._user(conn, claims["sub"])
        return await self._tx(work)

    async def logout(self, access_token: str | None, scope: str) -> None:
        if scope not in ("global", "local", "others"):
            raise AuthError(400, "validation_failed", f"Unsupported logout scope {scope!r}")
        claims = self._claims(access_token)
        session_id = claims.get("session_id")
        where = {"global": "user_id = %s", "local": "user_id = %s and id = %s",
                 "others": "user_id = %s and id <> %s"}[scope]
        params = (claims["sub"],) if scope == "global" else (claims["sub"], session_id)

        async def work(conn):
            if scope != "global" and not session_id:
                return
            await conn.execute(f"delete from auth.sessions where {where}", params)
        await self._tx(work)

    # ---- pieces ----------------------------------------------------------------------------

    def _claims(self, access_token: str | None) -> dict:
        if not access_token:
            raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            claims = tokens.decode(access_token, self.secret, self.clock.now(), skew=0)
        except ApiError as exc:
            reason = "token is expired" if exc.message == "JWT expired" else exc.message
            raise AuthError(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {reason}") from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
        try:
            uuid.UUID(claims["sub"])
        except ValueError:
            raise AuthError(403, "bad_jwt", "invalid claim: sub claim must be a UUID") from None
        return claims

    async def _require_session(self, conn, claims: dict) -> None:
        session_id = claims.get("session_id")
        if not session_id:
            return
        try:
            uuid.UUID(str(session_id))
        except ValueError:
            raise AuthError(403, "bad_jwt", "invalid claim: session_id claim must be a UUID") from None
        if not await (await conn.execute("select 1 from auth.sessions where id = %s", (session_id,))).fetchone():
            raise AuthError(403, "session_not_found", "Session from session_id claim in JWT does not exist")

    async def _user(self, conn, user_id) -> dict:
        row = await (await conn.execute(f"select {_USER_COLUMNS} from auth.users where id = %s",
                                        (str(user_id),))).fetchone()
        if row is None:
            raise AuthError(404, "user_not_found", "User from sub claim in JWT does not exist")
        return user_object(row)

    async def _issue_session(self, conn, email: str, issuer: str) -> dict:
        now = self.clock.now()
        user_id = (await (await conn.execute(
            "update auth.users set last_sign_in_at = %s, updated_at = %s where email = %s and not is_anonymous "
            "returning id", (now, now, email))).fetchone())[0]
        session_id = uuid.uuid4()
        await conn.execute("insert into auth.sessions (id, user_id, created_at, updated_at) values (%s, %s, %s, %s)",
                           (session_id, user_id, now, now))
        token = await self._new_refresh_token(conn, str(user_id), session_id, parent=None)
        return await self._session_response(conn, str(user_id), session_id, token, issuer)

    async def _new_refresh_token(self, conn, user_id: str, session_id, parent: str | None) -> str:
        token, now = new_refresh_token(), self.clock.now()
        await conn.execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, "
            "session_id) values ('00000000-0000-0000-0000-000000000000', %s, %s, false, %s, %s, %s, %s)",
            (token, user_id, now, now, parent, session_id))
        return token

    async def _session_response(self, conn, user_id: str, session_id, refresh_token: str, issuer: str) -> dict:
        user = await self._user(conn, user_id)
        now = int(self.clock.now().timestamp())
        claims = {"iss": issuer, "sub": user["id"], "aud": "authenticated", "exp": now + JWT_EXP, "iat": now,
                  "email": user["email"], "phone": "", "app_metadata": user["app_metadata"],
                  "user_metadata": user["user_metadata"], "role": "authenticated", "aal": "aal1",
                  "amr": [{"method": "password", "timestamp": now}], "session_id": str(session_id),
                  "is_anonymous": False}
        return {"access_token": tokens.encode(claims, self.secret), "token_type": "bearer", "expires_in": JWT_EXP,
                "expires_at": now + JWT_EXP, "refresh_token": refresh_token, "user": user}


class _Commit(Exception):
    """Raised inside a transaction whose writes must stick although the request fails (GoTrue's
    `NewCommitWithError`: revoking a token family is kept even though the refresh is refused)."""

    def __init__(self, error: AuthError):
        super().__init__(str(error))
        self.error = error


def _valid_email(email, missing: str) -> str:
    if not isinstance(email, str) or not email.strip():
        raise AuthError(400, "validation_failed", missing)
    email = email.strip().lower()
    if len(email) > 255 or not _EMAIL.match(email) or not _storable(email):
        raise AuthError(400, "validation_failed", "Unable to validate email address: invalid format")
    return email


def _storable(text: str) -> bool:
    """PostgreSQL text takes neither NUL bytes nor lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(text) and "\x00" not in text


def _strong_password(password) -> None:
    if not isinstance(password, str) or password == "":
        raise AuthError(422, "validation_failed", "Signup requires a valid password")
    if len(password) < 6:
        raise AuthError(422, "weak_password", "Password should be at least 6 characters.",
                        {"weak_password": {"reasons": ["length"]}})
