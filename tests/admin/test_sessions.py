"""A staff session ends for real: a copied session cookie stops working after sign-out, a new password
or deactivation (the signed cookie alone is not trusted, the account's session version is)."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffUser
from tests.admin.conftest import PASSWORD, csrf_token, login, make_staff
from tests.factories import make_merchant


def _signed_in(app, email: str):
    with app.app_context():
        if db.session.scalar(select(StaffUser).where(StaffUser.email == email)) is None:
            make_staff(make_merchant(), email)
            db.session.commit()
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def _copy(app, client):
    """Return a second client holding a copy of the first one's session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/admin/invoices").status_code == 200
    return thief


def _post(client, path: str, data: dict | None = None, page: str = "/admin/invoices"):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def test_a_copied_session_stops_working_after_sign_out(app):
    owner = _signed_in(app, "signout@example.com")
    thief = _copy(app, owner)
    assert _post(owner, "/admin/logout").status_code == 303
    assert owner.get("/admin/invoices").status_code == 302
    assert thief.get("/admin/invoices").status_code == 302
    # Signing in again starts a new session that works.
    assert login(owner, "signout@example.com").status_code == 303
    assert owner.get("/admin/invoices").status_code == 200
    assert thief.get("/admin/invoices").status_code == 302


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app):
    owner = _signed_in(app, "newpass@example.com")
    elsewhere = _signed_in(app, "newpass@example.com")
    thief = _copy(app, owner)
    page = "/admin/settings/staff"
    changed = _post(
        owner,
        "/admin/settings/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase", "confirm": "a brand new passphrase"},
        page=page,
    )
    assert changed.status_code == 303, changed.get_data(as_text=True)
    assert owner.get("/admin/invoices").status_code == 200
    assert thief.get("/admin/invoices").status_code == 302
    assert elsewhere.get("/admin/invoices").status_code == 302


def test_deactivation_ends_the_sessions_and_reactivation_does_not_revive_them(app):
    alex = _signed_in(app, "alex.session@example.com")
    copy = _copy(app, alex)
    with app.app_context():
        alex_user = db.session.scalar(select(StaffUser).where(StaffUser.email == "alex.session@example.com"))
        make_staff(alex_user.merchant, "boss.session@example.com")
        db.session.commit()
        alex_id = alex_user.id
    boss = _signed_in(app, "boss.session@example.com")
    page = "/admin/settings/staff"
    assert _post(boss, f"/admin/settings/staff/{alex_id}/active", {"active": "0"}, page=page).status_code == 303
    assert alex.get("/admin/invoices").status_code == 302
    assert _post(boss, f"/admin/settings/staff/{alex_id}/active", {"active": "1"}, page=page).status_code == 303
    assert alex.get("/admin/invoices").status_code == 302
    assert copy.get("/admin/invoices").status_code == 302
    assert login(app.test_client(), "alex.session@example.com").status_code == 303


def test_a_session_from_before_session_versions_or_forged_ids_names_nobody(app):
    from portal.services.access import load_staff_user

    _signed_in(app, "legacy@example.com")
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "legacy@example.com"))
        assert load_staff_user(user.get_id()) is user
        assert load_staff_user(str(user.id)) is None  # the old "id" only form
        assert load_staff_user(f"{user.id}:{user.session_version + 1}") is None
        assert load_staff_user(f"{2**40}:1") is None
        assert load_staff_user("1:x") is None
