"""Refunds staff ask for go back through the provider the money came with; the provider's report books nothing twice."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import Customer, Merchant, Payment
from portal.models.ledger import PaymentReversal
from portal.models.online_payment import PaymentAttempt
from portal.services import refunds
from portal.services.ledger import credit_balances
from tests.factories import make_api_key
from tests.payments.conftest import make_shop, press_pay, sign_in
from tests.payments.test_money_kept import (
    attempts,
    balances,
    mollie_webhook,
    outstanding,
    paid_by_mollie,
    paid_by_stripe,
    staff_pays,
    stripe_webhook,
)

NOT_DUE = date(2099, 1, 31)


@pytest.fixture
def shop(pay_app):
    return make_shop(pay_app, due_date=NOT_DUE)


@pytest.fixture
def customer_client(pay_app, shop):
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    return client


@pytest.fixture
def api_headers(pay_app, shop):
    with pay_app.app_context():
        key = make_api_key(db.session.get(Merchant, shop.merchant_id))
        db.session.commit()
        db.session.remove()
    return {"Authorization": f"Bearer {key}"}


def only_payment_id(app) -> int:
    with app.app_context():
        value = db.session.scalars(select(Payment.id)).one()
        db.session.remove()
    return value


def test_api_refund_of_a_mollie_payment_goes_through_mollie_once(
    pay_app, shop, customer_client, fake_mollie, api_headers
):
    attempt = paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    client = pay_app.test_client()

    answer = client.post(
        f"/api/v1/payments/{only_payment_id(pay_app)}/refund", json={"amount": 25000}, headers=api_headers
    )

    assert answer.status_code == 201, answer.json
    [refund] = fake_mollie.refunds[attempt.provider_payment_id]
    assert refund["amount"] == {"value": "250.00", "currency": "EUR"}
    assert answer.json["provider_refund_id"] == refund["id"] and answer.json["invoice_status"] == "open"
    # Mollie then reports 250.00 refunded in total: already booked.
    assert mollie_webhook(pay_app, attempt.provider_payment_id) == 200
    with pay_app.app_context():
        assert len(db.session.scalars(select(PaymentReversal)).all()) == 1
        db.session.remove()
    assert outstanding(pay_app, shop.invoice_id) == 25000


def test_api_refund_of_a_stripe_payment_refunds_its_payment_intent(
    pay_app, shop, customer_client, fake_stripe, api_headers
):
    attempt = paid_by_stripe(pay_app, shop, customer_client, fake_stripe)

    answer = pay_app.test_client().post(
        f"/api/v1/payments/{only_payment_id(pay_app)}/refund", json={}, headers=api_headers
    )

    assert answer.status_code == 201, answer.json
    [refund] = fake_stripe.refunds.values()
    assert refund["amount"] == 100000 and refund["payment_intent"] == attempt.provider_intent_id
    assert stripe_webhook(pay_app, fake_stripe.charge_event(attempt.provider_payment_id)) == 200
    assert outstanding(pay_app, shop.invoice_id) == 100000


def test_a_refused_refund_books_nothing(pay_app, shop, customer_client, fake_mollie, api_headers):
    paid_by_mollie(pay_app, shop, customer_client, fake_mollie)
    fake_mollie.inject("POST", "/v2/payments/", 422)

    answer = pay_app.test_client().post(
        f"/api/v1/payments/{only_payment_id(pay_app)}/refund", json={}, headers=api_headers
    )

    assert answer.status_code == 409 and answer.json["error"]["code"] == "refund_not_sent"
    assert outstanding(pay_app, shop.invoice_id) == 0


def test_credit_from_a_card_payment_is_refunded_through_its_provider(pay_app, shop, customer_client, fake_mollie):
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    [attempt] = attempts(pay_app)
    staff_pays(pay_app, shop.invoice_id, 100000)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    mollie_webhook(pay_app, attempt.provider_payment_id)
    assert balances(pay_app, shop.customer_id) == {"EUR": 100000}

    with pay_app.app_context():
        customer = db.session.get(Customer, shop.customer_id)
        [source] = refunds.refundable_credit(customer, "EUR")
        refunds.refund_credit(customer, 60000, "EUR", receipt_id=source.receipt.id)
        db.session.commit()
        assert credit_balances(customer) == {"EUR": 40000}
        db.session.remove()

    [refund] = fake_mollie.refunds[attempt.provider_payment_id]
    assert refund["amount"]["value"] == "600.00"
    mollie_webhook(pay_app, attempt.provider_payment_id)  # reports 600.00 refunded: booked already
    assert balances(pay_app, shop.customer_id) == {"EUR": 40000}


def test_credit_refunded_by_hand_is_recorded(pay_app, shop):
    staff_pays(pay_app, shop.invoice_id, 50000)
    with pay_app.app_context():
        customer = db.session.get(Customer, shop.customer_id)
        from portal.models import Invoice
        from portal.services.invoices import record_payment

        record_payment(
            db.session.get(Invoice, shop.invoice_id),
            amount=70000,
            paid_on=date(2026, 3, 1),
            method="bank_transfer",
            surplus_to_credit=True,
        )
        refunds.refund_credit(customer, 20000, "EUR", method="bank_transfer", note="Sent back by transfer")
        db.session.commit()
        assert credit_balances(customer) == {}
        [reversal] = db.session.scalars(select(PaymentReversal)).all()
        assert (reversal.method, reversal.credit_amount, reversal.note) == (
            "bank_transfer",
            20000,
            "Sent back by transfer",
        )
        assert db.session.scalars(select(PaymentAttempt)).all() == []
        db.session.remove()
