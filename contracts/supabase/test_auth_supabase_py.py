"""GoTrue's admin API, PUT /user and anonymous sign-in through supabase-py (`client.auth.admin...`)."""

from __future__ import annotations

import pytest
from supabase_auth.errors import AuthApiError

from .targets import PASSWORD, new_email


@pytest.fixture
def admin(target):
    return target.supabase(target.service_key).auth.admin


def test_admin_user_lifecycle(admin, target):
    email = new_email()
    created = admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True,
                                 "user_metadata": {"name": "Ada"}, "app_metadata": {"plan": "pro"}}).user
    assert created.email == email and created.user_metadata["name"] == "Ada" and created.app_metadata["plan"] == "pro"
    assert created.identities[0].provider == "email" and created.identities[0].identity_data["sub"] == created.id
    assert admin.get_user_by_id(created.id).user.email == email
    updated = admin.update_user_by_id(created.id, {"user_metadata": {"name": "Bo"}, "ban_duration": "1h"}).user
    assert updated.user_metadata["name"] == "Bo" and updated.banned_until is not None
    listed = admin.list_users(page=1, per_page=1000)
    assert created.id in {u.id for u in listed}
    admin.delete_user(created.id)
    with pytest.raises(AuthApiError) as caught:
        admin.get_user_by_id(created.id)
    assert caught.value.status == 404 and caught.value.code == "user_not_found"


def test_admin_soft_delete(admin):
    created = admin.create_user({"email": new_email(), "password": PASSWORD, "email_confirm": True}).user
    admin.delete_user(created.id, should_soft_delete=True)
    # Read back through the list: GoTrue omits a soft-deleted identity's emptied identity_data
    # (`omitempty`), which supabase-py's UserIdentity model requires, so get_user_by_id cannot parse it.
    [kept] = [u for u in admin.list_users(page=1, per_page=1000) if u.id == created.id]
    assert kept.deleted_at is not None


def test_generate_link(admin):
    email = new_email()
    link = admin.generate_link({"type": "signup", "email": email, "password": PASSWORD,
                                "options": {"data": {"ref": "x"}, "redirect_to": "http://127.0.0.1:3000/in"}})
    assert link.user.email == email and link.user.user_metadata == {"ref": "x"}
    props = link.properties
    assert props.verification_type == "signup" and len(props.email_otp) == 6 and props.hashed_token in props.action_link
    assert props.redirect_to == "http://127.0.0.1:3000/in"


def test_admin_calls_with_the_anon_key_are_refused(target):
    with pytest.raises(AuthApiError) as caught:
        target.supabase().auth.admin.list_users()
    assert caught.value.status == 403 and caught.value.code == "not_admin"


def test_update_user(target):
    client = target.supabase()
    email = new_email()
    client.auth.sign_up({"email": email, "password": PASSWORD})
    updated = client.auth.update_user({"data": {"theme": "dark"}}).user
    assert updated.user_metadata["theme"] == "dark"
    client.auth.update_user({"password": "another-horse-2"})
    client.auth.sign_out()
    assert client.auth.sign_in_with_password({"email": email, "password": "another-horse-2"}).user.id == updated.id


def test_sign_in_anonymously_is_refused_by_default(target):
    with pytest.raises(AuthApiError) as caught:
        target.supabase().auth.sign_in_anonymously()
    assert caught.value.status == 422 and caught.value.code == "anonymous_provider_disabled"


def test_invite_user_by_email(admin, target):
    invited = admin.invite_user_by_email(new_email(), {"data": {"team": "a"}}).user
    assert invited.invited_at is not None and invited.email_confirmed_at is None
    assert invited.user_metadata == {"team": "a"} and invited.identities[0].provider == "email"
    with pytest.raises(AuthApiError) as caught:
        target.supabase().auth.admin.invite_user_by_email(new_email())
    assert caught.value.status == 403 and caught.value.code == "not_admin"
