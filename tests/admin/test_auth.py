"""Signing in and out, the login rate limit, CSRF and the create-admin command."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.models import StaffUser
from tests.admin.conftest import PASSWORD, csrf_token, login, make_staff
from tests.factories import make_merchant


def test_pages_need_a_signed_in_staff_member(client):
    response = client.get("/admin/invoices")
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def test_login_and_logout(app, client):
    with app.app_context():
        make_staff(make_merchant(), "Owner@Example.com")
        db.session.commit()
    response = login(client, "owner@example.com")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/invoices")
    assert client.get("/admin/invoices").status_code == 200

    token = csrf_token(client.get("/admin/invoices").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/admin/invoices").status_code == 302


def test_a_wrong_password_or_unknown_address_is_refused_alike(app, client):
    with app.app_context():
        make_staff(make_merchant(), "owner2@example.com")
        db.session.commit()
    wrong = login(client, "owner2@example.com", "not the password")
    unknown = login(client, "nobody@example.com", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Wrong email or password." in response.get_data(as_text=True)
    assert client.get("/admin/invoices").status_code == 302


def test_a_disabled_account_cannot_sign_in(app, client):
    with app.app_context():
        user = make_staff(make_merchant(), "gone@example.com")
        user.active = False
        db.session.commit()
    assert login(client, "gone@example.com").status_code == 422


def test_login_attempts_are_rate_limited(app, client):
    with app.app_context():
        make_staff(make_merchant(), "target@example.com")
        db.session.commit()
    statuses = [login(client, "target@example.com", f"guess-number-{n}").status_code for n in range(11)]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    # The right password does not get through the limit either.
    assert login(client, "target@example.com").status_code == 429


def test_next_only_redirects_inside_the_admin(app, client):
    with app.app_context():
        make_staff(make_merchant(), "next@example.com")
        db.session.commit()
    page = client.get("/admin/login").get_data(as_text=True)
    response = client.post(
        "/admin/login?next=//evil.example/admin/",
        data={"csrf_token": csrf_token(page), "email": "next@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"].endswith("/admin/invoices")


def test_a_form_without_csrf_token_is_refused(staff):
    before = staff.get("/admin/customers").get_data(as_text=True)
    response = staff.client.post(
        "/admin/customers/new", data={"name": "Forged", "email": "forged@example.com", "language": "en"}
    )
    assert response.status_code == 400
    assert "Forged" not in staff.get("/admin/customers").get_data(as_text=True)
    assert before.count("<tr>") == staff.get("/admin/customers").get_data(as_text=True).count("<tr>")


def test_login_form_without_csrf_token_is_refused(app, client):
    with app.app_context():
        make_staff(make_merchant(), "csrf@example.com")
        db.session.commit()
    response = client.post("/admin/login", data={"email": "csrf@example.com", "password": PASSWORD})
    assert response.status_code == 400


def test_create_admin_command_stores_a_scrypt_hash(app, runner):
    with app.app_context():
        merchant = make_merchant()
        db.session.commit()
        slug = merchant.slug
    result = runner.invoke(
        args=[
            "portal",
            "create-admin",
            "--merchant",
            slug,
            "--email",
            "cli@example.com",
            "--password",
            "long enough pw",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "cli@example.com"))
        assert user.password_hash.startswith("scrypt:")
    assert login(app.test_client(), "cli@example.com", "long enough pw").status_code == 303


def test_pages_are_not_cached_and_carry_the_csp(staff):
    response = staff.get("/admin/invoices")
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in response.get_data(as_text=True)
