"""Fixtures for the admin area: a merchant with a signed-in staff member, driven through real forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from portal.extensions import db
from portal.services import merchants
from tests.factories import make_customer, make_merchant

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """Return the first CSRF token in a page, as a browser would submit it."""
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match[1] or match[2]


@dataclass
class Staff:
    """A signed-in staff client that posts forms with the token the page gave it."""

    client: object
    merchant_id: int
    email: str
    customer_id: int

    def sign_in_again(self) -> None:
        """Sign in anew: after travelling back in time the old session cookie looks forged."""
        self.client.delete_cookie("session")
        assert login(self.client, self.email).status_code == 303

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, page: str = "/admin/invoices") -> str:
        return csrf_token(self.client.get(page).get_data(as_text=True))

    def post(self, path: str, data: dict | None = None, page: str = "/admin/invoices", **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(page))
        return self.client.post(path, data=data, **kwargs)


def make_staff(merchant, email: str, role: str = "owner"):
    return merchants.create_staff_user(merchant, email=email, name="Sam Staff", password=PASSWORD, role=role)


def login(client, email: str, password: str = PASSWORD):
    page = client.get("/admin/login").get_data(as_text=True)
    return client.post("/admin/login", data={"csrf_token": csrf_token(page), "email": email, "password": password})


_counter = iter(range(1, 10**9))


@pytest.fixture
def staff(app) -> Staff:
    """A merchant (SPEC late-fee policy, UTC) with one customer and a signed-in staff member."""
    email = f"staff{next(_counter)}@merchant.example"
    with app.app_context():
        merchant = make_merchant("Acme Studio", support_email="billing@acme.example")
        make_staff(merchant, email)
        customer = make_customer(merchant, name="Jane Cooper", email="jane@customer.example")
        db.session.commit()
        merchant_id, customer_id = merchant.id, customer.id
    client = app.test_client()
    assert login(client, email).status_code == 303
    return Staff(client, merchant_id, email, customer_id)


@pytest.fixture
def rival(app) -> Staff:
    """A second merchant's signed-in staff member, with a customer of their own."""
    email = f"rival{next(_counter)}@rival.example"
    with app.app_context():
        merchant = make_merchant("Rival Ltd")
        make_staff(merchant, email)
        customer = make_customer(merchant, name="Rival's customer")
        db.session.commit()
        merchant_id, customer_id = merchant.id, customer.id
    client = app.test_client()
    assert login(client, email).status_code == 303
    return Staff(client, merchant_id, email, customer_id)
