"""Signing in and out, the login rate limit, CSRF and the create-admin command."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Merchant, StaffUser
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


def _login_from(client, address: str, email: str, password: str = PASSWORD):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/admin/login", environ_base=environ).get_data(as_text=True)
    return client.post(
        "/admin/login",
        data={"csrf_token": csrf_token(page), "email": email, "password": password},
        environ_base=environ,
    )


def test_failed_logins_count_per_account_whatever_the_address(app):
    """Credential stuffing: each guess from another address, the account is still limited."""
    with app.app_context():
        merchant = make_merchant()
        make_staff(merchant, "stuffed@example.com")
        make_staff(merchant, "bystander@example.com")
        db.session.commit()
    client = app.test_client()
    statuses = [
        _login_from(client, f"198.51.100.{n}", "Stuffed@Example.com ", f"guess-{n}").status_code for n in range(11)
    ]
    assert statuses == [422] * 10 + [429]
    assert _login_from(client, "203.0.113.7", "stuffed@example.com").status_code == 429
    # Another account, from the same addresses, is not affected.
    assert _login_from(client, "198.51.100.1", "bystander@example.com").status_code == 303


def test_successful_logins_do_not_count_against_the_account(app):
    with app.app_context():
        make_staff(make_merchant(), "often@example.com")
        db.session.commit()
    for n in range(12):
        client = app.test_client()
        assert _login_from(client, f"192.0.2.{n}", "often@example.com").status_code == 303


@pytest.mark.parametrize(
    "password, message",
    [
        ("aaaaaaaaaaaa", "one character repeated"),
        ("............", "one character repeated"),
        ("Password123", "one of the most common"),
        ("qwertyuiop", "one of the most common"),
        ("1234567890", "one of the most common"),
        ("IloveYou123", "one of the most common"),
        ("short", "at least 10 characters"),
    ],
)
def test_weak_passwords_are_refused_wherever_staff_passwords_are_set(app, staff, runner, password, message):
    page = "/admin/settings/staff"
    created = staff.post(page, {"name": "Weak", "email": "weak@merchant.example", "password": password}, page=page)
    assert created.status_code == 422 and message in created.get_data(as_text=True)
    changed = staff.post(
        "/admin/settings/password", {"current_password": PASSWORD, "new_password": password}, page=page
    )
    assert changed.status_code == 422 and message in changed.get_data(as_text=True)
    with app.app_context():
        slug = db.session.scalar(select(Merchant.slug).where(Merchant.id == staff.merchant_id))
    result = runner.invoke(
        args=["portal", "create-admin", "--merchant", slug, "--email", "cli-weak@example.com", "--password", password]
    )
    assert result.exit_code != 0 and message in result.output
    with app.app_context():
        emails = set(db.session.scalars(select(StaffUser.email)))
    assert not {"weak@merchant.example", "cli-weak@example.com"} & emails
    assert login(app.test_client(), staff.email).status_code == 303  # the old password still works


def test_the_common_password_list_is_package_data():
    from portal.domain.passwords import common_passwords

    listed = common_passwords()
    assert 300 <= len(listed) <= 2000
    assert {"password123", "qwertyuiop", "1234567890", "iloveyou12"} <= listed
