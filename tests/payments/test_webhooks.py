"""Webhooks change only what they should: duplicates, replays, forgeries, late and wrong-amount events."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Payment
from portal.models.online_payment import PaymentAttempt, WebhookEvent
from tests.fakes.stripe import sign
from tests.payments.conftest import STRIPE_WEBHOOK_SECRET, load_invoice, press_pay

LATE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def late(time_machine):
    time_machine.move_to(LATE, tick=True)


def only_attempt(app) -> PaymentAttempt:
    with app.app_context():
        [attempt] = db.session.scalars(select(PaymentAttempt)).all()
        db.session.expunge(attempt)
        db.session.remove()
    return attempt


def count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
    return value


def post_stripe(client, payload: str, header: str):
    return client.post(
        "/webhooks/stripe",
        data=payload.encode(),
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


@pytest.fixture
def stripe_attempt(late, pay_app, shop, customer_client, fake_stripe) -> PaymentAttempt:
    assert press_pay(customer_client, shop.number, "stripe").status_code == 303
    return only_attempt(pay_app)


@pytest.fixture
def mollie_attempt(late, pay_app, shop, customer_client, fake_mollie) -> PaymentAttempt:
    assert press_pay(customer_client, shop.number, "mollie").status_code == 303
    return only_attempt(pay_app)


# --- Stripe -----------------------------------------------------------------------------------


def test_signed_completed_event_pays_the_invoice(pay_app, shop, stripe_attempt, fake_stripe):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")

    response = post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET))

    assert response.status_code == 200
    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "paid"
    assert [(p.amount, p.fee_amount, p.interest_amount, p.method) for p in invoice.payments] == [
        (100000, 4000, 986, "stripe")
    ]


def test_duplicate_event_is_applied_once(pay_app, shop, stripe_attempt, fake_stripe):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")
    client = pay_app.test_client()

    for _ in range(3):
        assert post_stripe(client, payload, sign(payload, STRIPE_WEBHOOK_SECRET)).status_code == 200

    assert count(pay_app, Payment) == 1
    assert count(pay_app, WebhookEvent) == 1


def test_replayed_event_with_an_old_signature_is_refused(pay_app, shop, stripe_attempt, fake_stripe):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")
    old = int(time.time()) - 600  # beyond Stripe's five-minute tolerance

    response = post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET, old))

    assert response.status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert count(pay_app, WebhookEvent) == 0


def test_an_event_signed_for_a_time_in_the_future_is_refused_like_an_old_one(
    pay_app, shop, stripe_attempt, fake_stripe
):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")
    ahead = int(time.time()) + 600  # beyond the five-minute tolerance, the other way

    response = post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET, ahead))

    assert response.status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert count(pay_app, WebhookEvent) == 0

    # A clock a minute fast is within the tolerance, as Stripe allows for the past.
    skewed = int(time.time()) + 60
    assert post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET, skewed)).status_code == 200
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"


def _reshaped(payload: str, change) -> str:
    event = json.loads(payload)
    changed = change(event)
    return json.dumps(event if changed is None else changed)


MALFORMED = {
    "a list": lambda event: [event],
    "no type": lambda event: event.pop("type"),
    "no data": lambda event: event.pop("data"),
    "no data.object": lambda event: event["data"].pop("object"),
    "data a string": lambda event: event.update(data="cs_test"),
    "object a list": lambda event: event["data"].update(object=[event["data"]["object"]]),
    "no session id": lambda event: event["data"]["object"].pop("id"),
    "session id a number": lambda event: event["data"]["object"].update(id=12),
    "amount a string": lambda event: event["data"]["object"].update(amount_total="104986"),
    "amount missing": lambda event: event["data"]["object"].pop("amount_total"),
    "currency a number": lambda event: event["data"]["object"].update(currency=978),
    "unknown currency": lambda event: event["data"]["object"].update(currency="zzz"),
    "metadata a list": lambda event: event["data"]["object"].update(metadata=["attempt_id"]),
    "status a list": lambda event: event["data"]["object"].update(status=["complete"]),
    "event id a number": lambda event: event.update(id=7),
    "event id too long": lambda event: event.update(id="evt_" + "x" * 300),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_but_malformed_event_answers_400_and_changes_nothing(
    pay_app, shop, stripe_attempt, fake_stripe, change
):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = _reshaped(fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed"), change)

    response = post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET))

    assert response.status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert count(pay_app, WebhookEvent) == 0


def test_an_event_dated_beyond_any_calendar_is_applied_without_its_date(pay_app, shop, stripe_attempt, fake_stripe):
    fake_stripe.complete(stripe_attempt.provider_payment_id)
    payload = _reshaped(
        fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed"),
        lambda event: event.update(created=10**20),
    )
    assert post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET)).status_code == 200
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"


def test_an_event_without_a_signature_header_is_refused(pay_app, shop, stripe_attempt, fake_stripe):
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")
    response = pay_app.test_client().post(
        "/webhooks/stripe", data=payload.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "t=1,v1=deadbeef",
        "garbage",
        None,  # signed with another secret
    ],
)
def test_forged_event_is_refused(pay_app, shop, stripe_attempt, fake_stripe, header):
    payload = fake_stripe.event(
        stripe_attempt.provider_payment_id, "checkout.session.completed", status="complete", payment_status="paid"
    )
    header = sign(payload, "whsec_attackersecret") if header is None else header

    response = post_stripe(pay_app.test_client(), payload, header)

    assert response.status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert only_attempt(pay_app).status == "open"


def test_body_changed_after_signing_is_refused(pay_app, shop, stripe_attempt, fake_stripe):
    payload = fake_stripe.event(stripe_attempt.provider_payment_id, "checkout.session.completed")
    header = sign(payload, STRIPE_WEBHOOK_SECRET)
    tampered = payload.replace('"payment_status": "unpaid"', '"payment_status": "paid"').replace(
        '"status": "open"', '"status": "complete"'
    )
    assert tampered != payload

    assert post_stripe(pay_app.test_client(), tampered, header).status_code == 400
    assert load_invoice(pay_app, shop.invoice_id).status == "open"


def test_failed_after_paid_changes_nothing(pay_app, shop, stripe_attempt, fake_stripe):
    session_id = stripe_attempt.provider_payment_id
    fake_stripe.complete(session_id)
    paid = fake_stripe.event(session_id, "checkout.session.completed")
    failed = fake_stripe.event(session_id, "checkout.session.async_payment_failed")
    expired = fake_stripe.event(session_id, "checkout.session.expired", status="expired")
    client = pay_app.test_client()

    for payload in (paid, failed, expired):
        assert post_stripe(client, payload, sign(payload, STRIPE_WEBHOOK_SECRET)).status_code == 200

    assert only_attempt(pay_app).status == "paid"
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert count(pay_app, Payment) == 1


def test_completed_but_unpaid_is_pending_then_async_success_pays(
    pay_app, shop, stripe_attempt, fake_stripe, customer_client
):
    session_id = stripe_attempt.provider_payment_id
    fake_stripe.complete(session_id, paid=False)
    client = pay_app.test_client()
    payload = fake_stripe.event(session_id, "checkout.session.completed")
    post_stripe(client, payload, sign(payload, STRIPE_WEBHOOK_SECRET))

    assert only_attempt(pay_app).status == "pending"
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert "payment-pending" in customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)

    fake_stripe.settle_async(session_id, succeeded=True)
    payload = fake_stripe.event(session_id, "checkout.session.async_payment_succeeded")
    post_stripe(client, payload, sign(payload, STRIPE_WEBHOOK_SECRET))
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"


def test_async_failure_fails_the_attempt(pay_app, shop, stripe_attempt, fake_stripe):
    session_id = stripe_attempt.provider_payment_id
    fake_stripe.complete(session_id, paid=False)
    client = pay_app.test_client()
    for event_type in ("checkout.session.completed", "checkout.session.async_payment_failed"):
        payload = fake_stripe.event(session_id, event_type)
        post_stripe(client, payload, sign(payload, STRIPE_WEBHOOK_SECRET))

    assert only_attempt(pay_app).status == "failed"
    assert load_invoice(pay_app, shop.invoice_id).status == "open"


def test_wrong_amount_books_what_arrived_and_frees_the_pay_button(
    pay_app, shop, stripe_attempt, fake_stripe, customer_client
):
    session_id = stripe_attempt.provider_payment_id
    fake_stripe.complete(session_id)
    payload = fake_stripe.event(session_id, "checkout.session.completed", amount_total=100)

    assert post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET)).status_code == 200

    assert only_attempt(pay_app).status == "paid"
    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "open"
    # 1.00 arrived instead of 1,049.86: it pays principal, and no late charges were paid with it.
    assert [(p.amount, p.fee_amount, p.interest_amount) for p in invoice.payments] == [(100, 0, 0)]
    # The customer is never sent back to the paid checkout: a new one is made for the rest.
    answer = press_pay(customer_client, shop.number, "stripe")
    assert answer.status_code == 303 and session_id not in answer.headers["Location"]
    assert len(fake_stripe.sessions) == 2


def test_wrong_currency_goes_to_a_credit_balance_in_that_currency(pay_app, shop, stripe_attempt, fake_stripe):
    from portal.models import Customer
    from portal.services.ledger import credit_balances

    session_id = stripe_attempt.provider_payment_id
    fake_stripe.complete(session_id)
    payload = fake_stripe.event(session_id, "checkout.session.completed", currency="usd")

    post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET))

    assert only_attempt(pay_app).status == "paid"
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    with pay_app.app_context():
        assert credit_balances(db.session.get(Customer, shop.customer_id)) == {"USD": 104986}
        db.session.remove()


def test_event_about_an_unknown_session_is_ignored(pay_app, shop, stripe_attempt, fake_stripe):
    payload = json.dumps(
        {
            "id": "evt_x",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": "cs_test_unknown",
                    "amount_total": 1,
                    "currency": "eur",
                    "status": "complete",
                    "payment_status": "paid",
                }
            },
        }
    )
    assert post_stripe(pay_app.test_client(), payload, sign(payload, STRIPE_WEBHOOK_SECRET)).status_code == 200
    assert count(pay_app, WebhookEvent) == 0


# --- Mollie -----------------------------------------------------------------------------------


def test_mollie_body_is_never_trusted(pay_app, shop, mollie_attempt, fake_mollie):
    client = pay_app.test_client()
    # Whatever the body claims, Mollie says the payment is still open.
    response = client.post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id, "status": "paid"})

    assert response.status_code == 200
    assert only_attempt(pay_app).status == "open"
    assert load_invoice(pay_app, shop.invoice_id).status == "open"


@pytest.mark.parametrize("payment_id", ["tr_doesnotexist", "nonsense", ""])
def test_mollie_unknown_ids_get_200_and_are_ignored(pay_app, shop, mollie_attempt, fake_mollie, payment_id):
    before = len(fake_mollie.requests)
    assert pay_app.test_client().post("/webhooks/mollie", data={"id": payment_id}).status_code == 200
    assert len(fake_mollie.requests) == before  # not even asked: we never made such a payment


def test_mollie_failed_after_paid_changes_nothing(pay_app, shop, mollie_attempt, fake_mollie):
    client = pay_app.test_client()
    fake_mollie.set_status(mollie_attempt.provider_payment_id, "paid")
    client.post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id})
    fake_mollie.set_status(mollie_attempt.provider_payment_id, "failed")
    client.post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id})

    assert only_attempt(pay_app).status == "paid"
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert count(pay_app, Payment) == 1


def test_mollie_wrong_amount_books_what_arrived(pay_app, shop, mollie_attempt, fake_mollie):
    payment = fake_mollie.set_status(mollie_attempt.provider_payment_id, "paid")
    payment["amount"] = {"value": "1.00", "currency": "EUR"}

    pay_app.test_client().post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id})

    assert only_attempt(pay_app).status == "paid"
    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "open"
    assert [p.amount for p in invoice.payments] == [100]


def test_mollie_outage_asks_for_a_retry(pay_app, shop, mollie_attempt, fake_mollie):
    fake_mollie.set_status(mollie_attempt.provider_payment_id, "paid")
    fake_mollie.inject("GET", "/v2/payments/", 503)
    client = pay_app.test_client()

    assert client.post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id}).status_code == 503
    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    assert client.post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id}).status_code == 200
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"


def test_paid_after_the_invoice_was_settled_goes_to_the_credit_balance(pay_app, shop, mollie_attempt, fake_mollie):
    from datetime import date

    from portal.models import Customer, Invoice
    from portal.services.ledger import credit_balances
    from tests.factories import pay

    with pay_app.app_context():
        pay(db.session.get(Invoice, shop.invoice_id), 100000, date(2026, 3, 1))
        db.session.commit()
        db.session.remove()
    # Settling the invoice cancelled its checkout; say the customer had paid it a moment before.
    assert fake_mollie.payments[mollie_attempt.provider_payment_id]["status"] == "canceled"
    fake_mollie.set_status(mollie_attempt.provider_payment_id, "paid")

    pay_app.test_client().post("/webhooks/mollie", data={"id": mollie_attempt.provider_payment_id})

    attempt = only_attempt(pay_app)
    assert attempt.status == "paid" and attempt.payment_id is None
    assert count(pay_app, Payment) == 1  # only the staff's
    with pay_app.app_context():
        assert credit_balances(db.session.get(Customer, shop.customer_id)) == {"EUR": 104986}
        db.session.remove()
