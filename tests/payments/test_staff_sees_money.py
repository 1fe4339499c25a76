"""Staff see payments under way, refunds and chargebacks on the invoice pages and the list."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from portal.models import Merchant
from tests.admin.conftest import login, make_staff
from tests.payments.conftest import make_shop, press_pay, sign_in
from tests.payments.test_money_kept import attempts, mollie_webhook, paid_by_mollie


@pytest.fixture
def shop(pay_app):
    return make_shop(pay_app, due_date=date(2099, 1, 31))


@pytest.fixture
def customer_client(pay_app, shop):
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    return client


@pytest.fixture
def staff_client(pay_app, shop):
    with pay_app.app_context():
        make_staff(db.session.get(Merchant, shop.merchant_id), "sam@shop.example")
        db.session.commit()
        db.session.remove()
    client = pay_app.test_client()
    assert login(client, "sam@shop.example").status_code == 303
    return client


def test_a_pending_bank_transfer_shows_on_the_invoice_page_and_the_list(
    pay_app, shop, customer_client, staff_client, fake_mollie
):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "pending")
    mollie_webhook(pay_app, attempt.provider_payment_id)

    detail = staff_client.get(f"/admin/invoices/{shop.invoice_id}").get_data(as_text=True)
    listed = staff_client.get("/admin/invoices").get_data(as_text=True)

    for page in (detail, listed):
        assert "payment pending: bank transfer via Mollie, since" in page
    # The customer's page says so too, and offers no second payment.
    portal = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="payment-pending"' in portal and 'data-testid="pay-button' not in portal


def test_a_refund_shows_on_the_staff_invoice_page(pay_app, shop, customer_client, staff_client, fake_mollie):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.chargeback(attempt.provider_payment_id, "150.00")
    mollie_webhook(pay_app, attempt.provider_payment_id)

    detail = staff_client.get(f"/admin/invoices/{shop.invoice_id}").get_data(as_text=True)

    assert 'data-testid="reversal"' in detail and "charged back" in detail
    assert "Outstanding: €150.00" in detail
