"""Pressing Pay: attempts committed first, idempotency keys, reuse, the webhooks and the return page."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Payment
from portal.models.online_payment import PaymentAttempt
from tests.factories import make_customer, make_invoice, make_merchant
from tests.payments.conftest import csrf_token, load_invoice, press_pay, sign_in

# 30 days after the SPEC invoice's due date: 1,000.00 + 40.00 fee + 9.86 interest.
LATE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def attempts(app) -> list[PaymentAttempt]:
    with app.app_context():
        rows = list(db.session.scalars(select(PaymentAttempt).order_by(PaymentAttempt.id)))
        db.session.expunge_all()
        db.session.remove()
    return rows


def payment_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Payment))
        db.session.remove()
    return count


@pytest.fixture
def late(time_machine):
    time_machine.move_to(LATE, tick=True)


def test_mollie_payment_charges_the_amount_due_with_its_breakdown(late, pay_app, shop, customer_client, fake_mollie):
    response = press_pay(customer_client, shop.number, "mollie")

    assert response.status_code == 303
    created = fake_mollie.requests_to("POST", "/v2/payments")
    assert len(created) == 1
    body = created[0].data
    assert body["amount"] == {"currency": "EUR", "value": "1049.86"}
    assert body["locale"] == "en_US"
    assert body["webhookUrl"] == "http://portal.test/webhooks/mollie"
    [attempt] = attempts(pay_app)
    assert body["redirectUrl"] == f"http://portal.test/payments/{attempt.id}/return"
    assert body["metadata"]["attempt_id"] == str(attempt.id)
    assert created[0].headers["idempotency-key"] == f"portal-attempt-{attempt.id}"
    assert response.headers["Location"] == f"{fake_mollie.url}/checkout/{attempt.provider_payment_id}"
    assert attempt.status == "open"
    assert (attempt.amount, attempt.principal_amount, attempt.fee_amount, attempt.interest_amount) == (
        104986,
        100000,
        4000,
        986,
    )
    assert attempt.breakdown[-1] == {"kind": "amount_due", "amount": 104986}


def test_stripe_payment_is_one_checkout_line_in_minor_units(late, pay_app, shop, customer_client, fake_stripe):
    response = press_pay(customer_client, shop.number, "stripe")

    assert response.status_code == 303
    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    params = request.data
    [attempt] = attempts(pay_app)
    assert params["mode"] == "payment"
    assert params["line_items"] == [
        {
            "quantity": "1",
            "price_data": {
                "currency": "eur",
                "unit_amount": "104986",
                "product_data": {"name": f"Invoice {shop.number}"},
            },
        }
    ]
    assert params["client_reference_id"] == str(attempt.id)
    assert params["metadata"]["attempt_id"] == str(attempt.id)
    assert params["success_url"] == f"http://portal.test/payments/{attempt.id}/return"
    assert params["cancel_url"] == f"http://portal.test/invoices/{shop.number}"
    assert params["locale"] == "en"
    assert request.headers["idempotency-key"] == f"portal-attempt-{attempt.id}"
    assert response.headers["Location"] == f"{fake_stripe.url}/checkout/{attempt.provider_payment_id}"


def test_second_press_for_the_same_amount_reuses_the_live_payment(late, pay_app, shop, customer_client, fake_mollie):
    first = press_pay(customer_client, shop.number, "mollie")
    second = press_pay(customer_client, shop.number, "mollie")

    assert first.headers["Location"] == second.headers["Location"]
    assert len(fake_mollie.requests_to("POST", "/v2/payments")) == 1
    assert len(attempts(pay_app)) == 1


def test_a_new_amount_cancels_the_old_payment_first(late, pay_app, shop, customer_client, fake_mollie, time_machine):
    press_pay(customer_client, shop.number, "mollie")
    time_machine.move_to(datetime(2026, 3, 3, 10, 0, tzinfo=UTC), tick=True)  # one more day of interest

    response = press_pay(customer_client, shop.number, "mollie")

    old, new = attempts(pay_app)
    assert old.status == "superseded"
    assert fake_mollie.payments[old.provider_payment_id]["status"] == "canceled"
    assert new.status == "open" and new.amount == 105019
    assert response.headers["Location"].endswith(new.provider_payment_id)


def test_mollie_webhook_marks_the_invoice_paid_once(late, pay_app, shop, customer_client, fake_mollie):
    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    webhook = pay_app.test_client()

    for _ in range(3):  # Mollie redelivers; only the first changes anything
        assert webhook.post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code == 200

    invoice = load_invoice(pay_app, shop.invoice_id)
    assert invoice.status == "paid"
    assert invoice.paid_on.isoformat() == "2026-03-02"
    [payment] = invoice.payments
    assert (payment.amount, payment.fee_amount, payment.interest_amount) == (100000, 4000, 986)
    assert payment.method == "mollie" and payment.reference == attempt.provider_payment_id
    assert payment.breakdown == attempt.breakdown
    assert fake_mollie.requests_to("GET", f"/v2/payments/{attempt.provider_payment_id}")
    [attempt] = attempts(pay_app)
    assert attempt.status == "paid" and attempt.payment_id == payment.id


def test_return_page_shows_processing_until_the_webhook_and_never_marks_paid(
    late, pay_app, shop, customer_client, fake_mollie
):
    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")  # paid at Mollie, webhook not yet here

    page = customer_client.get(f"/payments/{attempt.id}/return")
    assert page.status_code == 200
    assert 'data-state="processing"' in page.get_data(as_text=True)
    assert page.headers["Refresh"] == "3"
    assert load_invoice(pay_app, shop.invoice_id).status == "open"

    pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id})
    page = customer_client.get(f"/payments/{attempt.id}/return")
    assert 'data-state="paid"' in page.get_data(as_text=True)
    assert "Refresh" not in page.headers
    assert customer_client.get(f"/payments/{attempt.id}/status").json == {"state": "paid", "invoice_status": "paid"}


def test_return_page_of_someone_else_is_404(late, pay_app, shop, customer_client):
    from tests.payments.conftest import make_shop, sign_in

    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    # Another merchant's customer, whose own invoice numbers start with 2025.
    other = make_shop(pay_app, issue_date=date(2025, 12, 1), due_date=date(2025, 12, 31))
    stranger = pay_app.test_client()
    sign_in(pay_app, stranger, other.customer_id)

    assert stranger.get(f"/payments/{attempt.id}/return").status_code == 404
    assert (
        stranger.post(
            f"/invoices/{shop.number}/pay", data={"csrf_token": csrf_token(stranger, other.number)}
        ).status_code
        == 404
    )


def test_pending_bank_transfer_leaves_the_invoice_open_and_marked(late, pay_app, shop, customer_client, fake_mollie):
    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "pending")
    pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id})

    assert load_invoice(pay_app, shop.invoice_id).status == "open"
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="payment-pending"' in html
    assert 'data-testid="pay-button' not in html
    assert 'data-state="pending"' in customer_client.get(f"/payments/{attempt.id}/return").get_data(as_text=True)
    # A press now would risk a second charge: it changes nothing.
    response = press_pay(customer_client, shop.number, "mollie")
    assert response.status_code == 303 and response.headers["Location"] == f"/invoices/{shop.number}"
    assert len(fake_mollie.requests_to("POST", "/v2/payments")) == 1


def test_pay_page_offers_each_enabled_provider(pay_app, shop, customer_client):
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="pay-button-mollie"' in html and 'data-testid="pay-button-stripe"' in html


def test_no_pay_button_without_a_provider(pay_app, shop, customer_client, monkeypatch):
    monkeypatch.setitem(pay_app.config, "MOLLIE_API_KEY", None)
    monkeypatch.setitem(pay_app.config, "STRIPE_SECRET_KEY", None)
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert "pay-button" not in html
    response = press_pay(customer_client, shop.number, "mollie", token=csrf_token(customer_client, shop.number))
    assert response.status_code == 303
    assert attempts(pay_app) == []


def test_the_invoice_offers_only_the_ways_to_pay_staff_chose(pay_app, shop, customer_client, fake_mollie):
    from portal.models import Invoice
    from portal.services.payment_choices import set_payment_choice

    with pay_app.app_context():
        set_payment_choice(db.session.get(Invoice, shop.invoice_id), ["stripe"])
        db.session.commit()
    html = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    # One way left: a single button that pays with it.
    assert 'data-testid="pay-button"' in html and 'value="stripe"' in html and "mollie" not in html.lower()
    token = csrf_token(customer_client, shop.number)
    assert press_pay(customer_client, shop.number, "mollie", token=token).status_code == 303
    assert attempts(pay_app) == [] and fake_mollie.requests_to("POST", "/v2/payments") == []

    with pay_app.app_context():  # "pay by bank transfer" only
        set_payment_choice(db.session.get(Invoice, shop.invoice_id), [])
        db.session.commit()
    assert "pay-button" not in customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)


def test_pay_without_csrf_token_is_refused(pay_app, shop, customer_client):
    assert customer_client.post(f"/invoices/{shop.number}/pay", data={"provider": "mollie"}).status_code == 400
    assert attempts(pay_app) == []


def test_a_press_after_the_checkout_expired_unseen_starts_a_new_payment(
    late, pay_app, shop, customer_client, fake_mollie
):
    press_pay(customer_client, shop.number, "mollie")
    [first] = attempts(pay_app)
    fake_mollie.set_status(first.provider_payment_id, "expired")  # and its webhook never came

    response = press_pay(customer_client, shop.number, "mollie")

    old, new = attempts(pay_app)
    assert old.status == "expired" and new.status == "open"
    assert response.headers["Location"].endswith(new.provider_payment_id)


def test_a_press_after_an_unseen_payment_pays_nothing_twice(late, pay_app, shop, customer_client, fake_mollie):
    press_pay(customer_client, shop.number, "mollie")
    [first] = attempts(pay_app)
    fake_mollie.set_status(first.provider_payment_id, "paid")  # paid, but the webhook is late

    response = press_pay(customer_client, shop.number, "mollie")

    assert response.status_code == 303 and response.headers["Location"] == f"/invoices/{shop.number}"
    assert len(fake_mollie.payments) == 1
    assert load_invoice(pay_app, shop.invoice_id).status == "paid"
    assert payment_count(pay_app) == 1


def test_success_mails_the_customer_and_every_staff_member_once(late, pay_app, shop, customer_client, fake_mollie):
    from portal.models import Customer, Merchant
    from portal.models.mail import OutboxMessage
    from portal.services.merchants import create_staff_user

    with pay_app.app_context():
        merchant = db.session.get(Merchant, shop.merchant_id)
        for name in ("ann", "bob"):
            create_staff_user(merchant, email=f"{name}@acme.example", name=name, password="long enough password")
        customer_email = db.session.get(Customer, shop.customer_id).email
        db.session.commit()
        db.session.remove()
    press_pay(customer_client, shop.number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")

    for _ in range(2):
        pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id})

    with pay_app.app_context():
        sent = sorted((m.kind, m.to_address) for m in db.session.scalars(select(OutboxMessage)))
        db.session.remove()
    assert sent == [
        ("payment_confirmation", customer_email),
        ("payment_notice", "ann@acme.example"),
        ("payment_notice", "bob@acme.example"),
    ]


def test_the_transfer_block_waits_while_an_online_payment_is_pending(late, pay_app, fake_mollie):
    """A customer whose bank transfer through Mollie is on its way is not invited to transfer a second time."""
    with pay_app.app_context():
        customer = make_customer(make_merchant(iban="BE68539007547034", bic="GKCCBEBB"))
        invoice = make_invoice(customer)
        db.session.commit()
        customer_id, number = customer.id, invoice.number
    client = pay_app.test_client()
    sign_in(pay_app, client, customer_id)
    html = client.get(f"/invoices/{number}").get_data(as_text=True)
    assert 'data-testid="pay-button' in html and 'data-testid="bank-transfer"' in html

    press_pay(client, number, "mollie")
    [attempt] = attempts(pay_app)
    fake_mollie.set_status(attempt.provider_payment_id, "pending")
    pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id})

    html = client.get(f"/invoices/{number}").get_data(as_text=True)
    assert 'data-testid="payment-pending"' in html and 'data-testid="bank-transfer"' not in html
