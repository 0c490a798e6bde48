"""GoTrue's data: the user and identity JSON shapes, request parameters as Go decodes them, and
the validation rules (email, phone, password) with GoTrue's codes and messages (v2.18x+).

Sources: GoTrue `internal/models/user.go`, `identity.go` (the JSON tags: `omitempty` timestamps
vanish when unset, `email`/`phone` are "" when null), `internal/api/helpers.go`
(retrieveRequestParams: Go's encoding/json into a typed struct), `mail.go` (validateEmail),
`phone.go` (validatePhone), `password.go`.
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

from psycopg.rows import dict_row

from .errors import AuthError

PBKDF2_ROUNDS = 1000         # GoTrue uses bcrypt; the hash format is internal, the speed matters here
NIL_INSTANCE = "00000000-0000-0000-0000-000000000000"
_EMAIL = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
_E164 = re.compile(r"^[1-9][0-9]{1,14}$")
USER_COLUMNS = ("id, aud, role, email, email_confirmed_at, invited_at, phone, phone_confirmed_at, "
                "confirmation_sent_at, confirmed_at, recovery_sent_at, email_change, email_change_sent_at, "
                "last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, banned_until, "
                "deleted_at, is_anonymous, encrypted_password")
_IDENTITY_COLUMNS = "id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, email"
# json name -> (Go type shown in errors, Python check)
_KINDS = {"string": ("string", str), "*string": ("string", str), "bool": ("bool", bool),
          "map": ("map[string]interface {}", dict)}


# ---- passwords --------------------------------------------------------------------------------

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


def check_password_strength(password: str) -> None:
    if len(password) < 6:
        raise AuthError(422, "weak_password", "Password should be at least 6 characters.",
                        {"weak_password": {"reasons": ["length"]}})


# ---- request parameters ------------------------------------------------------------------------

def go_params(raw: bytes, struct: str, fields: dict[str, str]) -> dict:
    """The body decoded as Go's json.Unmarshal fills struct `api.<struct>`: keys match the JSON tags
    case-insensitively, unknown keys are ignored, `null` leaves a field unset, a wrong JSON type is
    400 bad_json. Unset fields come back as "", False, or None (pointer and map fields)."""
    out = {name: ("" if kind == "string" else False if kind == "bool" else None) for name, kind in fields.items()}
    try:
        value = json.loads(raw) if raw.strip() else _end_of_input()
    except (ValueError, RecursionError) as exc:
        raise AuthError(400, "bad_json", f"Could not parse request body as JSON: {_go_syntax(exc)}") from None
    if value is None:
        return out
    if not isinstance(value, dict):
        raise _bad_json(f"json: cannot unmarshal {_go_type(value)} into Go value of type api.{struct}")
    folded = {name.casefold(): name for name in fields}
    for key, item in value.items():
        name = key if key in fields else folded.get(key.casefold())
        if name is None or item is None:
            continue
        go_type, python = _KINDS[fields[name]]
        if not isinstance(item, python) or (python is str and isinstance(item, bool)):
            raise _bad_json(f"json: cannot unmarshal {_go_type(item)} into Go struct field {struct}.{name} "
                            f"of type {go_type}")
        out[name] = item
    return out


def _end_of_input():
    raise ValueError("unexpected end of JSON input")


def _go_syntax(exc: Exception) -> str:
    return "unexpected end of JSON input" if "unexpected end" in str(exc) else "invalid character in JSON input"


def _go_type(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _bad_json(message: str) -> AuthError:
    return AuthError(400, "bad_json", f"Could not parse request body as JSON: {message}")


# ---- validation --------------------------------------------------------------------------------

def validate_email(email: str) -> str:
    if email == "":
        raise AuthError(400, "validation_failed", "An email address is required")
    if len(email) > 255:
        raise AuthError(400, "validation_failed", "An email address is too long")
    if not _EMAIL.match(email) or not storable(email):
        raise AuthError(400, "validation_failed", "Unable to validate email address: invalid format")
    return email.lower()


def validate_phone(phone: str) -> str:
    phone = phone.removeprefix("+").replace(" ", "")
    if not _E164.match(phone):
        raise AuthError(400, "validation_failed", "Invalid phone number format (E.164 required)")
    return phone


def storable(text: str) -> bool:
    """PostgreSQL text takes neither NUL bytes nor lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(text) and "\x00" not in text


def parse_uuid(text: str, message: str) -> str:
    try:
        return str(uuid.UUID(text))
    except (ValueError, TypeError, AttributeError):
        raise AuthError(404, "validation_failed", message) from None


def merge_metadata(current: dict | None, updates: dict) -> dict:
    """UpdateUserMetaData / UpdateAppMetaData: keys set, a null value deletes the key."""
    merged = dict(current or {})
    for key, value in updates.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


# ---- JSON shapes -------------------------------------------------------------------------------

def iso(value: dt.datetime | None) -> str | None:
    """Go's time.Time in JSON: RFC 3339 with the fraction's trailing zeros dropped."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def identity_json(row: dict) -> dict:
    out = {"identity_id": str(row["id"]), "id": row["provider_id"], "user_id": str(row["user_id"])}
    if row["identity_data"]:
        out["identity_data"] = row["identity_data"]
    out["provider"] = row["provider"]
    _opt(out, "last_sign_in_at", row["last_sign_in_at"])
    out.update(created_at=iso(row["created_at"]), updated_at=iso(row["updated_at"]))
    if row["email"]:
        out["email"] = row["email"]
    return out


def user_json(row: dict, identities: list[dict]) -> dict:
    out = {"id": str(row["id"]), "aud": row["aud"] or "", "role": row["role"] or "", "email": row["email"] or ""}
    _opt(out, "email_confirmed_at", row["email_confirmed_at"])
    _opt(out, "invited_at", row["invited_at"])
    out["phone"] = row["phone"] or ""
    for name in ("phone_confirmed_at", "confirmation_sent_at", "confirmed_at", "recovery_sent_at"):
        _opt(out, name, row[name])
    if row["email_change"]:
        out["new_email"] = row["email_change"]
    _opt(out, "email_change_sent_at", row["email_change_sent_at"])
    _opt(out, "last_sign_in_at", row["last_sign_in_at"])
    out["app_metadata"] = row["raw_app_meta_data"] if row["raw_app_meta_data"] is not None else {}
    out["user_metadata"] = row["raw_user_meta_data"] if row["raw_user_meta_data"] is not None else {}
    out["identities"] = identities
    out.update(created_at=iso(row["created_at"]), updated_at=iso(row["updated_at"]))
    _opt(out, "banned_until", row["banned_until"])
    _opt(out, "deleted_at", row["deleted_at"])
    out["is_anonymous"] = row["is_anonymous"]
    return out


def _opt(out: dict, name: str, value) -> None:
    if value is not None:
        out[name] = iso(value)


# ---- rows --------------------------------------------------------------------------------------

async def user_row(conn, where: str, params: tuple, *, lock: bool = False) -> dict | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"select {USER_COLUMNS} from auth.users where {where}{' for update' if lock else ''}", params)
    return await cur.fetchone()


async def identities_of(conn, user_id) -> list[dict]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"select {_IDENTITY_COLUMNS} from auth.identities where user_id = %s "
                      "order by created_at, id", (str(user_id),))
    return [identity_json(r) for r in await cur.fetchall()]


async def load_user(conn, user_id) -> dict | None:
    """The user as GoTrue sends it (identities eager-loaded), or None."""
    row = await user_row(conn, "id = %s", (str(user_id),))
    return None if row is None else user_json(row, await identities_of(conn, row["id"]))


async def insert_identity(conn, user_id: str, provider: str, data: dict, now: dt.datetime) -> None:
    """createNewIdentity: provider_id is the identity data's `sub`."""
    await conn.execute(
        "insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, "
        "created_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s)",
        (data["sub"], user_id, json.dumps(data), provider, now, now, now))


def email_identity_data(user_id: str, email: str, extra: dict | None = None, verified: bool = False) -> dict:
    """structs.Map(provider.Claims{Subject, Email, EmailVerified}): email_verified and phone_verified
    are always present; extra keys (signup `data`) fill in what the claims do not set."""
    data = {"sub": user_id, "email": email.lower(), "email_verified": verified, "phone_verified": False}
    for key, value in (extra or {}).items():
        data.setdefault(key, value)
    return data
