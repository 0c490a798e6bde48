"""GoTrue's user-facing subset, kept in the `auth` schema's tables as GoTrue keeps them.

The model: plain async methods over an admin connection, named after GoTrue's handlers
(`signup`, `signup_anonymously`, `token_password_grant`, `token_refresh_grant`, `get_user`,
`update_user`, `logout`). They return JSON-ready dicts or raise `AuthError` with GoTrue's status,
error code and message (v2.18x+). The admin API is gotrue_admin.py; shapes and validation are
gotrue_model.py; sessions and tokens are gotrue_sessions.py.
"""

from __future__ import annotations

import json
import uuid

from .errors import AuthError
from .gotrue_model import (NIL_INSTANCE, check_password_strength, email_identity_data, go_params, hash_password,
                           insert_identity, load_user, merge_metadata, storable, user_row,
                           validate_email, validate_phone, verify_password)
from .gotrue_sessions import Sessions

EMAIL_MAX_FREQUENCY = 1      # seconds between emails to one user (the Supabase CLI's [auth.email] max_frequency)
SIGNUP_FIELDS = {"email": "string", "phone": "string", "password": "string", "data": "map", "channel": "string",
                 "code_challenge_method": "string", "code_challenge": "string"}
UPDATE_FIELDS = {"email": "string", "password": "*string", "current_password": "*string", "nonce": "string",
                 "data": "map", "app_metadata": "map", "phone": "string", "channel": "string",
                 "code_challenge": "string", "code_challenge_method": "string"}


class GoTrue(Sessions):
    def __init__(self, pools, keys, clock, *, anonymous_sign_ins: bool = False,
                 site_url: str = "http://127.0.0.1:3000"):
        super().__init__(pools, keys, clock)
        self.anonymous_sign_ins, self.site_url = anonymous_sign_ins, site_url

    # ---- sign-up -----------------------------------------------------------------------------

    async def signup(self, raw: bytes, issuer: str) -> dict:
        p = go_params(raw, "SignupParams", SIGNUP_FIELDS)
        if p["email"] == "" and p["phone"] == "":
            if not self.anonymous_sign_ins:
                raise AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
            return await self.signup_anonymously(p["data"], issuer)
        if p["password"] == "":
            raise AuthError(400, "validation_failed", "Signup requires a valid password")
        check_password_strength(p["password"])
        if p["email"] and p["phone"]:
            raise AuthError(400, "validation_failed", "Only an email address or phone number should be provided on signup.")
        if not p["email"]:
            raise AuthError(400, "phone_provider_disabled", "Phone signups are disabled")
        email, data = validate_email(p["email"]), p["data"] or {}

        async def work(conn):
            row = await user_row(conn, "lower(email) = %s and aud = 'authenticated' and not is_anonymous",
                                 (email,), lock=True)
            if row is not None and row["email_confirmed_at"] is not None:
                raise AuthError(422, "user_already_exists", "User already registered")
            now, fresh = self.clock.now(), row is None
            user_id = str(uuid.uuid4()) if fresh else str(row["id"])
            if fresh:
                await conn.execute(
                    "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, "
                    "raw_app_meta_data, raw_user_meta_data, created_at, updated_at) values "
                    "(%s, %s, 'authenticated', 'authenticated', %s, %s, %s, %s, %s, %s)",
                    (NIL_INSTANCE, user_id, email, hash_password(p["password"]),
                     json.dumps({"provider": "email", "providers": ["email"]}), json.dumps(data), now, now))
            shared = None
            if not await _has_identity(conn, user_id, "email"):
                # RemoveUnconfirmedIdentities: the user's metadata becomes the new identity's data
                identity = email_identity_data(user_id, email, data)
                await insert_identity(conn, user_id, "email", identity, now)
                await conn.execute("delete from auth.identities where user_id = %s and provider <> 'email'", (user_id,))
                await conn.execute("update auth.users set raw_user_meta_data = %s where id = %s",
                                   (json.dumps(identity), user_id))
                shared = user_id
            await confirm_email(conn, user_id, now)
            session = await self.issue_session(conn, user_id, issuer, "password")
            if shared:
                # GoTrue hands the identity's data map to the user as its metadata, so the
                # confirmation's email_verified shows in both in this one response.
                for identity in session["user"]["identities"]:
                    if identity["provider"] == "email":
                        identity["identity_data"] = session["user"]["user_metadata"]
            return session
        return await self.tx(work)

    async def signup_anonymously(self, data: dict | None, issuer: str) -> dict:
        async def work(conn):
            now, user_id = self.clock.now(), str(uuid.uuid4())
            await conn.execute(
                "insert into auth.users (instance_id, id, aud, role, raw_app_meta_data, raw_user_meta_data, "
                "is_anonymous, created_at, updated_at) values (%s, %s, 'authenticated', 'authenticated', '{}', %s, "
                "true, %s, %s)", (NIL_INSTANCE, user_id, json.dumps(data or {}), now, now))
            return await self.issue_session(conn, user_id, issuer, "anonymous")
        return await self.tx(work)

    # ---- token grants ------------------------------------------------------------------------

    async def token_password_grant(self, email, password, issuer: str) -> dict:
        if not isinstance(email, str) or not isinstance(password, str) or not storable(email):
            raise AuthError(400, "invalid_credentials", "Invalid login credentials")

        async def work(conn):
            row = await user_row(conn, "lower(email) = %s and aud = 'authenticated' and not is_anonymous",
                                 (email.strip().lower(),))
            if row is None or not row["encrypted_password"]:
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            if self.banned(row):
                raise AuthError(400, "user_banned", "User is banned")
            if not verify_password(password, row["encrypted_password"]):
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            if row["email_confirmed_at"] is None:
                raise AuthError(400, "email_not_confirmed", "Email not confirmed")
            return await self.issue_session(conn, str(row["id"]), issuer, "password")
        return await self.tx(work)

    # ---- the signed-in user ------------------------------------------------------------------

    async def get_user(self, access_token: str | None) -> dict:
        async def work(conn):
            claims = await self.authenticate(conn, access_token)
            aud = claims.get("aud")
            first = aud[0] if isinstance(aud, list) and aud else aud
            if first != "authenticated":
                raise AuthError(400, "validation_failed", "Token audience doesn't match request audience")
            return await load_user(conn, claims["sub"])
        return await self.tx(work)

    async def update_user(self, access_token: str | None, raw: bytes) -> dict:
        """UserUpdate (PUT /user). Email changes of a permanent user wait for confirmation links
        (`new_email`, `email_change_sent_at`); an anonymous user's email is set at once (autoconfirm)."""
        async def work(conn):
            claims = await self.authenticate(conn, access_token)
            p = go_params(raw, "UserUpdateParams", UPDATE_FIELDS)
            if p["email"]:
                p["email"] = validate_email(p["email"])
            if p["phone"]:
                p["phone"] = validate_phone(p["phone"])
                if (p["channel"] or "sms") not in ("sms", "whatsapp"):
                    raise AuthError(400, "validation_failed", "Invalid channel, supported values are 'sms' or "
                                    "'whatsapp'. 'whatsapp' is only supported if Twilio or Twilio Verify is used "
                                    "as the provider.")
            if p["password"] is not None:
                check_password_strength(p["password"])
            row = await user_row(conn, "id = %s", (claims["sub"],), lock=True)
            # isAdmin: the user's own role is GoTrue's admin group ("admin") in the configured audience
            if p["app_metadata"] is not None and not (row["role"] == "admin" and row["aud"] == "authenticated"):
                raise AuthError(403, "not_admin", "Updating app_metadata requires admin privileges")
            if row["is_anonymous"] and p["password"] and not p["email"] and not p["phone"]:
                raise AuthError(422, "validation_failed",
                                "Updating password of an anonymous user without an email or phone is not allowed")
            email_change = p["email"] and p["email"] != (row["email"] or "")
            if email_change and await self.email_taken(conn, p["email"], row["id"]):
                raise AuthError(422, "email_exists", "A user with this email address has already been registered")
            if p["phone"] and p["phone"] != (row["phone"] or ""):
                if await (await conn.execute("select 1 from auth.users where phone = %s", (p["phone"],))).fetchone():
                    raise AuthError(422, "phone_exists", "A user with this phone number has already been registered")
                raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: changing a phone "
                                "number (PUT /auth/v1/user with phone) needs an SMS provider")
            now, user_id = self.clock.now(), str(row["id"])
            if p["password"] is not None:
                if p["password"] and row["encrypted_password"] and verify_password(p["password"], row["encrypted_password"]):
                    raise AuthError(422, "same_password", "New password should be different from the old password.")
                await self.set_password(conn, user_id, p["password"], claims.get("session_id"))
            if p["data"] is not None:
                await set_metadata(conn, user_id, "raw_user_meta_data", p["data"])
            if p["app_metadata"] is not None:
                await set_metadata(conn, user_id, "raw_app_meta_data", p["app_metadata"])
            if email_change:
                if row["is_anonymous"]:
                    await self.adopt_email(conn, user_id, p["email"], now)
                else:
                    await self.request_email_change(conn, row, p["email"], now)
            await conn.execute("update auth.users set updated_at = %s where id = %s", (now, user_id))
            return await load_user(conn, user_id)
        return await self.tx(work)

    # ---- pieces shared with the admin API ----------------------------------------------------

    async def email_taken(self, conn, email: str, other_than=None) -> bool:
        """IsDuplicatedEmail: another user (not anonymous) or another user's identity holds it."""
        query = ("select 1 from auth.users where lower(email) = %s and not is_anonymous and id is distinct from %s "
                 "union all select 1 from auth.identities where email = %s and user_id is distinct from %s")
        params = (email, other_than, email, other_than)
        return bool(await (await conn.execute(query, params)).fetchone())

    async def set_password(self, conn, user_id: str, password: str, session_id) -> None:
        """UpdatePassword: pending tokens cleared, every other session signed out."""
        await conn.execute(
            "update auth.users set encrypted_password = %s, confirmation_token = '', confirmation_sent_at = null, "
            "recovery_token = '', recovery_sent_at = null, email_change_token_current = '', "
            "email_change_token_new = '', email_change_sent_at = null where id = %s",
            (hash_password(password) if password else None, user_id))
        await conn.execute("delete from auth.sessions where user_id = %s and id is distinct from %s",
                           (user_id, _uuid_or_none(session_id)))

    async def request_email_change(self, conn, row: dict, email: str, now) -> None:
        sent = row["email_change_sent_at"]
        if sent is not None and (now - sent).total_seconds() < EMAIL_MAX_FREQUENCY:
            wait = int(EMAIL_MAX_FREQUENCY - (now - sent).total_seconds())     # Go: Duration / Second truncates
            raise AuthError(429, "over_email_send_rate_limit",
                            f"For security purposes, you can only request this after {wait} seconds.")
        await conn.execute(
            "update auth.users set email_change = %s, email_change_sent_at = %s, email_change_token_current = %s, "
            "email_change_token_new = %s where id = %s",
            (email, now, uuid.uuid4().hex, uuid.uuid4().hex, str(row["id"])))

    async def adopt_email(self, conn, user_id: str, email: str, now) -> None:
        """emailChangeVerify for an anonymous user under autoconfirm: the email is set and confirmed,
        an email identity is made, and the user stops being anonymous."""
        if await _has_identity(conn, user_id, "email"):
            await conn.execute("update auth.identities set identity_data = identity_data || %s, updated_at = %s "
                               "where user_id = %s and provider = 'email'",
                               (json.dumps({"email": email, "email_verified": True}), now, user_id))
        else:
            await insert_identity(conn, user_id, "email", email_identity_data(user_id, email, verified=True), now)
        await conn.execute("update auth.users set email = %s, email_change = '', is_anonymous = false where id = %s",
                           (email, user_id))
        await confirm_email(conn, user_id, now)
        await update_providers(conn, user_id)



# ---- helpers over one connection ---------------------------------------------------------------

async def _has_identity(conn, user_id: str, provider: str) -> bool:
    return bool(await (await conn.execute("select 1 from auth.identities where user_id = %s and provider = %s",
                                          (user_id, provider))).fetchone())


async def confirm_email(conn, user_id: str, now) -> None:
    """User.Confirm: email_confirmed_at set once, and user_metadata gains email_verified: true."""
    await conn.execute(
        "update auth.users set email_confirmed_at = coalesce(email_confirmed_at, %s), confirmation_token = '', "
        "raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{\"email_verified\": true}' "
        "where id = %s", (now, user_id))


async def set_metadata(conn, user_id: str, column: str, updates: dict) -> None:
    current = (await (await conn.execute(f"select {column} from auth.users where id = %s", (user_id,))).fetchone())[0]
    await conn.execute(f"update auth.users set {column} = %s where id = %s",
                       (json.dumps(merge_metadata(current, updates)), user_id))


async def update_providers(conn, user_id: str) -> None:
    """UpdateAppMetaDataProviders: the providers of the user's identities, oldest first."""
    rows = await (await conn.execute("select provider from auth.identities where user_id = %s "
                                     "order by created_at, id", (user_id,))).fetchall()
    providers = list(dict.fromkeys(r[0] for r in rows))
    payload = {"providers": providers, **({"provider": providers[0]} if providers else {})}
    await set_metadata(conn, user_id, "raw_app_meta_data", payload)


def _uuid_or_none(value):
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None

