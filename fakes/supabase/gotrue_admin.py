"""GoTrue's admin API (`/auth/v1/admin/users...`, `/admin/generate_link`), behind its service-role
check: a bearer JWT whose role is service_role or supabase_admin, else 403 `not_admin`.

Sources: GoTrue `internal/api/admin.go` (create/list/get/update/delete), `pagination.go` (page,
per_page, `Link` and `X-Total-Count`), `sorting.go`, `mail.go` (adminGenerateLink). Two deliberate
differences: `per_page=0` pages by pop's default 20 where GoTrue's header maths divides by zero (a
500), and `password_hash` (importing bcrypt/argon2 hashes) answers 501.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import secrets
import urllib.parse
import uuid

import psycopg
from psycopg.rows import dict_row

from .errors import AuthError
from .gotrue import confirm_email, set_metadata
from .gotrue_model import (NIL_INSTANCE, check_password_strength, email_identity_data, go_params, hash_password,
                           USER_COLUMNS, insert_identity, load_user, parse_uuid, user_json, validate_email,
                           validate_phone)
from .gotrue_links import generate, referrer, valid_redirect

ADMIN_FIELDS = {"id": "string", "aud": "string", "role": "string", "email": "string", "phone": "string",
                "password": "*string", "password_hash": "string", "email_confirm": "bool", "phone_confirm": "bool",
                "user_metadata": "map", "app_metadata": "map", "ban_duration": "string"}
LINK_FIELDS = {"type": "string", "email": "string", "new_email": "string", "password": "string", "data": "map",
               "redirect_to": "string"}
_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_MAX_OFFSET = 2 ** 62
DUPLICATE_EMAIL = "A user with this email address has already been registered"


class Admin:
    def __init__(self, gotrue):
        self.auth = gotrue

    async def _admin_tx(self, token, work, refused: str = "Database error saving user"):
        async def guarded(conn):
            await self.auth.require_admin(conn, token)
            return await work(conn)
        try:
            return await self.auth.tx(guarded)
        except psycopg.errors.UniqueViolation:
            # GoTrue's own answer when its unique indexes refuse a duplicate id, email or phone
            # (create and update do not check these first): a 500 with the handler's message.
            raise AuthError(500, "unexpected_failure", refused) from None

    # ---- list / get --------------------------------------------------------------------------

    async def list_users(self, token, query: list[tuple[str, str]], path: str) -> tuple[dict, dict]:
        params: dict[str, str] = {}
        for key, value in query:
            params.setdefault(key, value)       # Go's Query().Get: the first value
        page, per_page = _uint(params.get("page"), 1), _uint(params.get("per_page"), 50)
        order = _sort([v for k, v in query if k == "sort"])
        where, args = "instance_id = %s and aud = %s", [NIL_INSTANCE, "authenticated"]
        if params.get("filter"):
            like = f"%{params['filter']}%"
            where += " and (email like %s or raw_user_meta_data->>'full_name' ilike %s)"
            args += [like, like]
        size, start = (per_page or 20), (max(page, 1) - 1) * (per_page or 20)

        async def work(conn):
            total = (await (await conn.execute(f"select count(*) from auth.users where {where}", args)).fetchone())[0]
            rows = []
            if start < _MAX_OFFSET:
                cur = conn.cursor(row_factory=dict_row)
                await cur.execute(f"select {USER_COLUMNS} from auth.users where {where} order by {order} "
                                  "limit %s offset %s", [*args, min(size, _MAX_OFFSET), start])
                rows = await cur.fetchall()
            return total, rows
        total, rows = await self._admin_tx(token, work)
        # FindUsersInAudience does not eager-load: identities are null in the list.
        users = [user_json(r, None) for r in rows]
        return {"users": users, "aud": "authenticated"}, _pagination_headers(path, query, page, size, total)

    async def get_user(self, token, user_id: str) -> dict:
        async def work(conn):
            return await self._load(conn, user_id)
        return await self._admin_tx(token, work)

    async def _load(self, conn, user_id: str) -> dict:
        found = await load_user(conn, parse_uuid(user_id, "user_id must be an UUID"))
        if found is None:
            raise AuthError(404, "user_not_found", "User not found")
        return found

    # ---- create / update / delete ------------------------------------------------------------

    async def create_user(self, token, raw: bytes) -> dict:
        async def work(conn):
            p = go_params(raw, "AdminUserParams", ADMIN_FIELDS)
            aud = p["aud"] or "authenticated"
            if not p["email"] and not p["phone"]:
                raise AuthError(400, "validation_failed", "Cannot create a user without either an email or phone")
            providers = []
            if p["email"]:
                p["email"] = validate_email(p["email"])
                if await self.auth.email_taken(conn, p["email"]):
                    raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
                providers.append("email")
            if p["phone"]:
                p["phone"] = validate_phone(p["phone"])
                if await (await conn.execute("select 1 from auth.users where phone = %s and aud = %s",
                                             (p["phone"], aud))).fetchone():
                    raise AuthError(422, "phone_exists", "Phone number already registered by another user")
                providers.append("phone")
            if p["password"] is not None and p["password_hash"]:
                raise AuthError(400, "validation_failed", "Only a password or a password hash should be provided")
            if p["password_hash"]:
                raise AuthError(501, "not_implemented", "not implemented by the dualsync gateway: creating a user "
                                "from a password_hash (bcrypt/argon2 import)")
            password = p["password"] or secrets.token_urlsafe(48)
            if len(password.encode("utf-8", "surrogatepass")) > 72:
                raise AuthError(400, "validation_failed", "bcrypt: password length exceeds 72 bytes")
            user_id = str(uuid.uuid4())
            if p["id"]:
                try:
                    user_id = str(uuid.UUID(p["id"]))
                except ValueError:
                    raise AuthError(400, "validation_failed", "ID must conform to the uuid v4 format") from None
                if user_id == NIL_INSTANCE:
                    raise AuthError(400, "validation_failed", "ID cannot be a nil uuid")
            ban = _ban(p["ban_duration"])
            now = self.auth.clock.now()
            await conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email, phone, encrypted_password, "
                "raw_app_meta_data, raw_user_meta_data, created_at, updated_at) values "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (NIL_INSTANCE, user_id, aud, (p["role"] or "authenticated").strip(), p["email"] or None,
                 p["phone"] or None, hash_password(password), json.dumps({"provider": providers[0], "providers": providers}),
                 json.dumps(p["user_metadata"] or {}), now, now))
            if p["email"]:
                await insert_identity(conn, user_id, "email", email_identity_data(user_id, p["email"]), now)
            if p["phone"]:
                await insert_identity(conn, user_id, "phone", _phone_identity(user_id, p["phone"]), now)
            await self._apply(conn, user_id, p, ban, now, user_metadata=False)
            return await load_user(conn, user_id)
        return await self._admin_tx(token, work, "Database error creating new user")

    async def update_user(self, token, user_id: str, raw: bytes) -> dict:
        async def work(conn):
            row = await self._load(conn, user_id)
            user_id_ = row["id"]
            p = go_params(raw, "AdminUserParams", ADMIN_FIELDS)
            if p["email"]:
                p["email"] = validate_email(p["email"])
            if p["phone"]:
                p["phone"] = validate_phone(p["phone"])
            ban = _ban(p["ban_duration"])
            if p["password"] is not None:
                check_password_strength(p["password"])
            now = self.auth.clock.now()
            if p["role"]:
                await conn.execute("update auth.users set role = %s where id = %s", (p["role"].strip(), user_id_))
            if p["password"] is not None:
                await self.auth.set_password(conn, user_id_, p["password"], None)
            for kind, value, verified in (("email", p["email"], p["email_confirm"]),
                                          ("phone", p["phone"], p["phone_confirm"])):
                if value:
                    await self._set_contact(conn, row, kind, value, verified, now)
            await self._apply(conn, user_id_, p, ban, now)
            await conn.execute("update auth.users set updated_at = %s where id = %s", (now, user_id_))
            return await load_user(conn, user_id_)
        return await self._admin_tx(token, work, "Error updating user")

    async def _set_contact(self, conn, user: dict, kind: str, value: str, verified: bool, now) -> None:
        """A new email/phone updates the user's identity for it (or makes one) and the user itself."""
        found = await (await conn.execute("select 1 from auth.identities where provider_id = %s and provider = %s",
                                          (user["id"], kind))).fetchone()
        verified_key = f"{kind}_verified"
        if found:
            await conn.execute("update auth.identities set identity_data = identity_data || %s, updated_at = %s "
                               "where provider_id = %s and provider = %s",
                               (json.dumps({kind: value, verified_key: verified}), now, user["id"], kind))
        else:
            data = (email_identity_data(user["id"], value, verified=verified) if kind == "email"
                    else _phone_identity(user["id"], value, verified))
            await insert_identity(conn, user["id"], kind, data, now)
        if user["is_anonymous"] and verified:
            await conn.execute("update auth.users set is_anonymous = false where id = %s", (user["id"],))
        await conn.execute(f"update auth.users set {kind} = %s where id = %s", (value, user["id"]))

    async def _apply(self, conn, user_id: str, p: dict, ban, now, user_metadata: bool = True) -> None:
        """The steps create and update share: app_metadata, confirmations, user_metadata (update), ban."""
        if p["app_metadata"] is not None:
            await set_metadata(conn, user_id, "raw_app_meta_data", p["app_metadata"])
        if p["email_confirm"]:
            await confirm_email(conn, user_id, now)
        if p["phone_confirm"]:
            await conn.execute("update auth.users set phone_confirmed_at = coalesce(phone_confirmed_at, %s) "
                               "where id = %s", (now, user_id))
        if p["user_metadata"] is not None and user_metadata:
            await set_metadata(conn, user_id, "raw_user_meta_data", p["user_metadata"])
        if ban is not None:
            until = None if ban == 0 else now + dt.timedelta(seconds=ban)
            await conn.execute("update auth.users set banned_until = %s where id = %s", (until, user_id))

    async def delete_user(self, token, user_id: str, raw: bytes) -> dict:
        soft = go_params(raw, "adminUserDeleteParams", {"should_soft_delete": "bool"})["should_soft_delete"] \
            if raw.strip() else False

        async def work(conn):
            user = await self._load(conn, user_id)
            if not soft:
                await conn.execute("delete from auth.users where id = %s", (user["id"],))
            elif user.get("deleted_at") is None:
                await _soft_delete(conn, user, self.auth.clock.now())
            return {}
        return await self._admin_tx(token, work)

    # ---- generate_link -----------------------------------------------------------------------

    async def generate_link(self, token, raw: bytes, request, issuer: str) -> dict:
        async def work(conn):
            p = go_params(raw, "GenerateLinkParams", LINK_FIELDS)
            email = validate_email(p["email"])
            to = p["redirect_to"] if valid_redirect(self.auth.site_url, p["redirect_to"]) else \
                referrer(request, self.auth.site_url)
            return await generate(self.auth, conn, p, email, to, issuer)
        return await self._admin_tx(token, work)


    async def invite(self, token, raw: bytes, issuer: str) -> dict:
        """POST /invite (admin credentials): generate_link's invite, answering with the user only
        (nothing is mailed)."""
        async def work(conn):
            p = go_params(raw, "InviteParams", {"email": "string", "data": "map"})
            email = validate_email(p["email"])
            link = await generate(self.auth, conn, {**p, "type": "invite", "password": "", "new_email": ""}, email,
                                  self.auth.site_url, issuer)
            return {k: v for k, v in link.items() if k not in _LINK_KEYS}
        return await self._admin_tx(token, work)


_LINK_KEYS = {"action_link", "email_otp", "hashed_token", "verification_type", "redirect_to"}


# ---- helpers -----------------------------------------------------------------------------------

def _phone_identity(user_id: str, phone: str, verified: bool = False) -> dict:
    return {"sub": user_id, "email_verified": False, "phone": phone, "phone_verified": verified}


async def _soft_delete(conn, user: dict, now) -> None:
    """SoftDeleteUser + SoftDeleteUserIdentities: email/phone obfuscated, metadata emptied, identities
    anonymised, sessions ended."""
    uid = user["id"]
    await conn.execute(
        "update auth.users set email = %s, phone = %s, email_change = %s, encrypted_password = null, "
        "confirmation_token = '', recovery_token = '', email_change_token_current = '', email_change_token_new = '', "
        "deleted_at = %s, raw_user_meta_data = '{}', raw_app_meta_data = '{}' where id = %s",
        (_obfuscate(uid, user["email"]), _obfuscate(uid, user["phone"])[:15],
         _obfuscate(uid, user.get("new_email", "")), now, uid))
    rows = await (await conn.execute("select id, provider, provider_id from auth.identities where user_id = %s",
                                     (uid,))).fetchall()
    for identity_id, provider, provider_id in rows:
        await conn.execute("update auth.identities set identity_data = '{}', provider_id = %s where id = %s",
                           (_obfuscate(uid, f"{provider}:{provider_id}"), identity_id))
    await conn.execute("delete from auth.sessions where user_id = %s", (uid,))


def _obfuscate(user_id: str, value: str) -> str:
    digest = hashlib.sha256((user_id + (value or "")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _uint(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or int(text) >= 2 ** 64:
        raise AuthError(400, "validation_failed",
                        f'Bad Pagination Parameters: strconv.ParseUint: parsing "{text}": invalid syntax')
    return int(text)


def _sort(values: list[str]) -> str:
    if not values:
        return "created_at desc, id desc"
    fields = []
    for value in values:
        field, _, direction = value.partition(" ")
        if field != "created_at":
            raise AuthError(400, "validation_failed", f"Bad Sort Parameters: bad field for sort '{field}'")
        direction = direction.upper() if direction else "DESC"
        if direction not in ("ASC", "DESC"):
            raise AuthError(400, "validation_failed", "Bad Sort Parameters: bad direction for sort "
                            f"'{value.partition(' ')[2]}', only 'asc' and 'desc' allowed")
        fields.append(f"created_at {direction}")
    return ", ".join(fields) + ", id"


def _pagination_headers(path: str, query: list[tuple[str, str]], page: int, per_page: int, total: int) -> dict:
    """addPaginationHeaders: next (when there is one) and last page links, and the total count. The
    other parameters stay (Go's url.Values.Encode: keys sorted, each key's values in order)."""
    pages = -(-total // per_page)
    kept = [(k, v) for k, v in query if k != "page"]

    def link(n: int) -> str:
        return path + "?" + urllib.parse.urlencode(sorted(kept + [("page", str(n))], key=lambda kv: kv[0]))
    header = f'<{link(page + 1)}>; rel="next", ' if pages > page else ""
    header += f'<{link(pages)}>; rel="last"'
    return {"Link": header, "X-Total-Count": str(total)}


def _ban(text: str):
    """ban_duration: "" (unchanged), "none" (lifted), or a Go duration ("24h", "1h30m")."""
    if text == "":
        return None
    if text == "none":
        return 0
    body, sign = text, 1
    if body[:1] in "+-":
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if body == "0":
        return 0
    pos, seconds = 0, 0.0
    for match in _DURATION.finditer(body):
        if match.start() != pos or match.group(1) in ("", "."):
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or not body:
        raise AuthError(400, "validation_failed", f'invalid format for ban duration: time: invalid duration "{text}"')
    return sign * seconds
