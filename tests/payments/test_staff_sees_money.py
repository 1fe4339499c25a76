"""Staff see payments under way, refunds and chargebacks on the invoice pages and the list."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from portal.models import Invoice, Merchant
from portal.models.online_payment import PaymentAttempt
from tests.admin.conftest import csrf_token, login, make_staff
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


def test_the_invoice_page_shows_pending_and_parked_money_in_its_own_card(
    pay_app, shop, customer_client, staff_client, fake_mollie
):
    detail_url = f"/admin/invoices/{shop.invoice_id}"
    assert 'data-testid="money-in-view"' not in staff_client.get(detail_url).get_data(as_text=True)

    # A bank transfer through Mollie is under way.
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "pending")
    mollie_webhook(pay_app, attempt.provider_payment_id)
    with pay_app.app_context():
        invoice = db.session.get(Invoice, shop.invoice_id)
        due, since = invoice.total, db.session.get(PaymentAttempt, attempt.id).updated_at
    page = staff_client.get(detail_url).get_data(as_text=True)
    card = page[page.index('data-testid="money-in-view"') :]
    assert f"€{due / 100:,.2f} by bank transfer via Mollie, pending since {since:%Y-%m-%d %H:%M} UTC" in card

    # Staff record a payment of 50.00 more than owed: the surplus is parked on the credit balance.
    token = csrf_token(page)
    paid = staff_client.post(
        f"{detail_url}/payments",
        data={
            "csrf_token": token,
            "amount": f"{(due + 5000) / 100:.2f}",
            "paid_on": "2026-03-01",
            "method": "bank_transfer",
            "surplus_to_credit": "y",
        },
    )
    assert paid.status_code == 303, paid.get_data(as_text=True)
    page = staff_client.get(detail_url).get_data(as_text=True)
    card = page[page.index('data-testid="money-in-view"') :]
    assert "Booked to" in card and "€50.00 on" in card and "paid beyond what the invoice needed" in card
    assert f'href="/admin/customers/{shop.customer_id}#credit"' in card


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
