"""Five failed payments in a row lock the pay button for an hour; Flask-Limiter caps the pay route."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.online_payment import PayLock, PaymentAttempt
from tests.factories import make_customer, make_invoice, make_merchant
from tests.payments.conftest import Shop, csrf_token, make_shop, press_pay, sign_in

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


def lock_row(app, customer_id):
    with app.app_context():
        row = db.session.scalar(select(PayLock).where(PayLock.customer_id == customer_id))
        if row is not None:
            db.session.expunge(row)
        db.session.remove()
    return row


def refuse_creations(fake_mollie, count):
    fake_mollie.inject(
        "POST",
        "/v2/payments",
        422,
        {
            "status": 422,
            "title": "Unprocessable Entity",
            "detail": "The payment method is not activated on your profile",
            "field": "method",
        },
        count=count,
    )


def test_five_refusals_lock_the_button_for_an_hour_then_it_opens(clock, pay_app, shop, customer_client, fake_mollie):
    refuse_creations(fake_mollie, 5)
    token = csrf_token(customer_client, shop.number)
    for _ in range(5):
        response = press_pay(customer_client, shop.number, "mollie", token)
        assert response.status_code == 303 and response.headers["Location"] == f"/invoices/{shop.number}"

    page = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="pay-locked"' in page
    assert "You can try again from Mar 2, 2026, 11:00:00" in page  # merchant time zone UTC, English
    assert 'data-testid="pay-button' not in page

    locked = press_pay(customer_client, shop.number, "mollie", token)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "3600"
    assert len(fake_mollie.requests_to("POST", "/v2/payments")) == 5  # the lock asks no provider

    clock.move_to(START + timedelta(minutes=59))
    assert int(press_pay(customer_client, shop.number, "mollie", token).headers["Retry-After"]) in (60, 61)

    clock.move_to(START + timedelta(hours=1, seconds=1))
    opened = press_pay(customer_client, shop.number, "mollie", token)
    assert opened.status_code == 303
    assert opened.headers["Location"].startswith(fake_mollie.url + "/checkout/")
    assert 'data-testid="pay-locked"' not in customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)


def test_lock_page_speaks_the_customers_language(clock, pay_app, fake_mollie):
    from portal.models import Customer

    shop = make_shop(pay_app)
    with pay_app.app_context():
        db.session.get(Customer, shop.customer_id).language = "fr"
        db.session.commit()
        db.session.remove()
    client = pay_app.test_client()
    sign_in(pay_app, client, shop.customer_id)
    refuse_creations(fake_mollie, 5)
    token = csrf_token(client, shop.number)
    for _ in range(5):
        press_pay(client, shop.number, "mollie", token)

    locked = press_pay(client, shop.number, "mollie", token)
    assert locked.status_code == 429
    assert "2 mars 2026, 11:00:00" in locked.get_data(as_text=True)


def _fail_by_webhook(app, fake_mollie, client, number, status):
    response = press_pay(client, number, "mollie")
    assert response.status_code == 303, response.status_code
    payment_id = response.headers["Location"].rsplit("/", 1)[1]
    fake_mollie.set_status(payment_id, status)
    app.test_client().post("/webhooks/mollie", data={"id": payment_id})


def test_failed_canceled_expired_count_and_a_success_resets(clock, pay_app, shop, customer_client, fake_mollie):
    for status in ("failed", "canceled", "expired", "failed"):
        _fail_by_webhook(pay_app, fake_mollie, customer_client, shop.number, status)
    assert lock_row(pay_app, shop.customer_id).consecutive_failures == 4

    _fail_by_webhook(pay_app, fake_mollie, customer_client, shop.number, "paid")

    row = lock_row(pay_app, shop.customer_id)
    assert row.consecutive_failures == 0 and row.locked_until is None


def test_the_fifth_failure_by_webhook_locks(clock, pay_app, shop, customer_client, fake_mollie):
    for status in ("failed", "canceled", "expired", "failed", "failed"):
        _fail_by_webhook(pay_app, fake_mollie, customer_client, shop.number, status)

    row = lock_row(pay_app, shop.customer_id)
    assert row.locked_until == START + timedelta(hours=1)
    assert press_pay(customer_client, shop.number, "mollie").status_code == 429


def test_six_presses_against_a_provider_that_times_out_lock_the_button(
    clock, pay_app, shop, customer_client, fake_mollie, monkeypatch
):
    monkeypatch.setitem(pay_app.config, "PROVIDER_TIMEOUT_SECONDS", 0.3)
    release = threading.Event()
    # Mollie hangs on every creation: the portal gives up after its timeout, as with a provider down.
    fake_mollie.on_request = lambda request: release.wait(2) if request.path == "/v2/payments" else None
    token = csrf_token(customer_client, shop.number)
    try:
        answers = [press_pay(customer_client, shop.number, "mollie", token) for _ in range(6)]
    finally:
        release.set()
        fake_mollie.on_request = None

    assert [answer.status_code for answer in answers] == [303, 303, 303, 303, 303, 429]
    assert answers[0].headers["Location"] == f"/invoices/{shop.number}"
    assert lock_row(pay_app, shop.customer_id).locked_until == START + timedelta(hours=1)
    page = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert 'data-testid="pay-locked"' in page
    keys = {r.headers["idempotency-key"] for r in fake_mollie.requests_to("POST", "/v2/payments")}
    assert len(keys) == 1  # every retry was the same attempt: never two charges
    with pay_app.app_context():
        assert len(db.session.scalars(select(PaymentAttempt)).all()) == 1
        db.session.remove()


def test_an_outage_is_a_failure_and_the_page_offers_the_bank_transfer(clock, pay_app, fake_mollie):
    with pay_app.app_context():
        customer = make_customer(make_merchant(legal_name="Atelier Lumen SRL", iban="BE68539007547034"))
        invoice = make_invoice(customer)
        db.session.commit()
        shop = Shop(customer.merchant_id, customer.id, invoice.id, invoice.number)
        db.session.remove()
    customer_client = pay_app.test_client()
    sign_in(pay_app, customer_client, shop.customer_id)
    fake_mollie.inject("POST", "/v2/payments", 503, count=1)

    response = press_pay(customer_client, shop.number, "mollie")

    assert response.status_code == 303
    assert lock_row(pay_app, shop.customer_id).consecutive_failures == 1
    page = customer_client.get(f"/invoices/{shop.number}").get_data(as_text=True)
    assert "could not be reached" in page
    assert 'data-testid="pay-other-ways"' in page
    assert 'data-testid="epc-qr"' in page


# --- Flask-Limiter ----------------------------------------------------------------------------


def test_pay_route_is_limited_per_customer(pay_app, shop, customer_client, fake_mollie, monkeypatch):
    monkeypatch.setitem(pay_app.config, "PAY_RATE_LIMIT_PER_CUSTOMER", "3/minute")
    token = csrf_token(customer_client, shop.number)
    statuses = [press_pay(customer_client, shop.number, "mollie", token).status_code for _ in range(4)]

    assert statuses == [303, 303, 303, 429]
    limited = press_pay(customer_client, shop.number, "mollie", token)
    assert int(limited.headers["Retry-After"]) > 0

    # Another customer on the same address is not affected by this customer's limit.
    other = make_shop(pay_app)
    client = pay_app.test_client()
    sign_in(pay_app, client, other.customer_id)
    assert press_pay(client, other.number, "mollie").status_code == 303


def test_pay_route_is_limited_per_address(pay_app, shop, customer_client, fake_mollie, monkeypatch):
    monkeypatch.setitem(pay_app.config, "PAY_RATE_LIMIT_PER_ADDRESS", "2/minute")
    others = [make_shop(pay_app) for _ in range(2)]
    statuses = []
    for current in [shop, *others]:
        client = pay_app.test_client()
        sign_in(pay_app, client, current.customer_id)
        statuses.append(press_pay(client, current.number, "mollie").status_code)

    assert statuses == [303, 303, 429]
    # A different address still gets through.
    client = pay_app.test_client()
    sign_in(pay_app, client, others[1].customer_id)
    response = client.post(
        f"/invoices/{others[1].number}/pay",
        data={"csrf_token": csrf_token(client, others[1].number), "provider": "mollie"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 303
