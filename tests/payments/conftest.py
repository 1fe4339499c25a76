"""Fixtures for paying online: fake Mollie and Stripe servers and a signed-in customer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from portal.extensions import db, limiter
from portal.models import Customer, Invoice
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.fakes.mollie import FakeMollie
from tests.fakes.stripe import FakeStripe

MOLLIE_KEY = "test_fakemolliekey1234"
STRIPE_KEY = "sk_test_fakestripekey1234"
STRIPE_WEBHOOK_SECRET = "whsec_fakesecret"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def fake_mollie():
    fake = FakeMollie().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe():
    fake = FakeStripe(STRIPE_WEBHOOK_SECRET).start()
    yield fake
    fake.stop()


def point_at_fakes(config, mollie: FakeMollie, stripe: FakeStripe) -> dict:
    """Return the settings that send the real SDKs to the fakes, with the environment's default keys."""
    return {
        "MOLLIE_API_ENDPOINT": mollie.url,
        "STRIPE_API_BASE": stripe.url,
        # A retry would hide the lost answer the crash tests need to see.
        "STRIPE_MAX_NETWORK_RETRIES": 0,
        "MOLLIE_API_KEY": MOLLIE_KEY,
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
    }


@pytest.fixture
def pay_app(app, fake_mollie, fake_stripe, monkeypatch):
    """The session's app, pointed at this test's fake providers."""
    for key, value in point_at_fakes(app.config, fake_mollie, fake_stripe).items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        limiter.reset()
    return app


@pytest.fixture
def pg_pay(pg, fake_mollie, fake_stripe, monkeypatch):
    """The PostgreSQL app, pointed at this test's fake providers."""
    for key, value in point_at_fakes(pg.config, fake_mollie, fake_stripe).items():
        monkeypatch.setitem(pg.config, key, value)
    with pg.app_context():
        limiter.reset()
    return pg


@dataclass
class Shop:
    merchant_id: int
    customer_id: int
    invoice_id: int
    number: str


def make_shop(app, **invoice_fields) -> Shop:
    """A merchant (SPEC late-fee policy, staff-less), a customer and one open invoice, committed."""
    with app.app_context():
        merchant = make_merchant()
        customer = make_customer(merchant)
        invoice = make_invoice(customer, **invoice_fields)
        db.session.commit()
        shop = Shop(merchant.id, customer.id, invoice.id, invoice.number)
        db.session.remove()
    return shop


@pytest.fixture
def shop(pay_app) -> Shop:
    return make_shop(pay_app)


def sign_in(app, client, customer_id: int) -> None:
    """Open a real magic link in the test client, as the customer does from their mail."""
    with app.app_context():
        link = make_portal_link(db.session.get(Customer, customer_id))
        db.session.remove()
    response = client.get(urlsplit(link.url).path)
    assert response.status_code == 303, response.status_code


@pytest.fixture
def customer_client(pay_app, shop):
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    return client


def csrf_token(client, number: str) -> str:
    page = client.get(f"/invoices/{number}")
    assert page.status_code == 200, page.status_code
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, "no CSRF token on the invoice page"
    return match.group(1)


def press_pay(client, number: str, provider: str = "mollie", token: str | None = None):
    """Press the pay button of the invoice page (with its CSRF token)."""
    token = token or csrf_token(client, number)
    return client.post(f"/invoices/{number}/pay", data={"csrf_token": token, "provider": provider})


def load_invoice(app, invoice_id: int) -> Invoice:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        # Touch what the tests read, then detach.
        invoice.payments, invoice.status  # noqa: B018
        db.session.expunge_all()
        db.session.remove()
    return invoice
