"""One checkout for several invoices: the sum of their amounts due, allocated in due-date order, booked each."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Customer, Invoice, Payment
from portal.models.ledger import CreditEntry, Receipt
from portal.models.online_payment import PaymentAttempt
from tests.factories import line, make_customer, make_invoice, make_merchant, pay
from tests.payments.conftest import csrf_token, sign_in
from tests.payments.test_concurrency import _race

# 30 days after the first invoice's due date: 1,000.00 + 40.00 fee + 9.86 interest = 1,049.86;
# the second (200.00, due 2026-03-31) is not due yet: 200.00.
LATE = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def late(time_machine):
    time_machine.move_to(LATE, tick=True)


@pytest.fixture
def two_invoices(pay_app):
    """A customer with two open EUR invoices, the later-due one created first; numbers (due first, due later)."""
    with pay_app.app_context():
        merchant = make_merchant()
        customer = make_customer(merchant)
        later = make_invoice(customer, lines=[line(unit_amount=20000)], due_date=date(2026, 3, 31))
        first = make_invoice(customer)
        db.session.commit()
        numbers = (first.number, later.number, customer.id, merchant.id)
        db.session.remove()
    return numbers


@pytest.fixture
def client(pay_app, two_invoices):
    client = pay_app.test_client()
    sign_in(pay_app, client, two_invoices[2])
    return client


def press_pay_several(client, number_for_token: str, **form):
    data = {"csrf_token": csrf_token(client, number_for_token), **form}
    return client.post("/pay", data=data)


def rows(app, model, order=None):
    with app.app_context():
        found = list(db.session.scalars(select(model).order_by(order if order is not None else model.id)))
        for row in found:
            if isinstance(row, PaymentAttempt):
                row.allocations  # noqa: B018 - load before detaching
        db.session.expunge_all()
        db.session.remove()
    return found


def invoice_status(app, number: str) -> str:
    with app.app_context():
        status = db.session.scalar(select(Invoice.status).where(Invoice.number == number))
        db.session.remove()
    return status


def test_two_invoices_one_checkout_for_the_sum_booked_each_by_the_webhook(
    late, pay_app, two_invoices, client, fake_mollie
):
    first, later, _, _ = two_invoices
    response = press_pay_several(client, first, invoice=[later, first], provider="mollie")

    assert response.status_code == 303
    [created] = fake_mollie.requests_to("POST", "/v2/payments")
    assert created.data["amount"] == {"currency": "EUR", "value": "1249.86"}
    assert created.data["description"] == f"Invoices {first}, {later}"
    [attempt] = rows(pay_app, PaymentAttempt)
    assert response.headers["Location"] == f"{fake_mollie.url}/checkout/{attempt.provider_payment_id}"
    # Due-date order, each with its own breakdown: the late one carries its fee and interest.
    parts = [(p.position, p.amount, p.principal_amount, p.fee_amount, p.interest_amount) for p in attempt.allocations]
    assert parts == [(0, 104986, 100000, 4000, 986), (1, 20000, 20000, 0, 0)]

    fake_mollie.set_status(attempt.provider_payment_id, "paid")
    webhook = pay_app.test_client()
    for _ in range(2):  # a redelivery books nothing twice
        assert webhook.post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code == 200

    assert invoice_status(pay_app, first) == "paid"
    assert invoice_status(pay_app, later) == "paid"
    payments = rows(pay_app, Payment)
    assert sorted((p.amount, p.fee_amount, p.interest_amount) for p in payments) == [
        (20000, 0, 0),
        (100000, 4000, 986),
    ]
    receipts = rows(pay_app, Receipt)
    assert sum(r.amount for r in receipts) == 124986  # every cent that arrived is booked
    assert rows(pay_app, CreditEntry) == []
    assert rows(pay_app, PaymentAttempt)[0].status == "paid"


def test_all_open_invoices_and_a_second_press_reuses_the_checkout(late, pay_app, two_invoices, client, fake_mollie):
    first, *_ = two_invoices
    one = press_pay_several(client, first, all="1")
    two = press_pay_several(client, first, all="1")

    assert one.headers["Location"] == two.headers["Location"]
    assert len(fake_mollie.requests_to("POST", "/v2/payments")) == 1
    [attempt] = rows(pay_app, PaymentAttempt)
    assert attempt.amount == 124986 and len(attempt.allocations) == 2


def test_an_invoice_paid_meanwhile_sends_its_part_to_the_credit_balance(
    late, pay_app, two_invoices, client, fake_mollie
):
    first, later, _, _ = two_invoices
    press_pay_several(client, first, all="1")
    [attempt] = rows(pay_app, PaymentAttempt)
    with pay_app.app_context():  # paid by bank transfer before the online payment lands
        invoice = db.session.scalar(select(Invoice).where(Invoice.number == later))
        pay(invoice, 20000, date(2026, 3, 2))
        db.session.commit()
        db.session.remove()
    fake_mollie.set_status(attempt.provider_payment_id, "paid")

    assert pay_app.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code == 200

    assert invoice_status(pay_app, first) == "paid"
    [credit] = rows(pay_app, CreditEntry)
    assert (credit.amount, credit.reason) == (20000, "invoice_settled")  # never lost
    online = [r for r in rows(pay_app, Receipt) if r.method == "mollie"]
    assert sum(r.amount for r in online) == 124986


def test_mixed_currencies_are_refused_with_a_clear_message(late, pay_app, two_invoices, client, fake_mollie):
    first, later, customer_id, _ = two_invoices
    with pay_app.app_context():
        customer = db.session.get(Customer, customer_id)
        usd = make_invoice(customer, currency="USD")
        db.session.commit()
        usd_number = usd.number
        db.session.remove()

    response = press_pay_several(client, first, invoice=[first, usd_number])

    assert response.status_code == 303 and response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "different currencies" in page
    assert rows(pay_app, PaymentAttempt) == []
    assert fake_mollie.requests_to("POST", "/v2/payments") == []


def test_a_number_that_is_not_an_open_invoice_of_theirs_is_refused(late, pay_app, two_invoices, client, fake_mollie):
    first, *_ = two_invoices
    with pay_app.app_context():  # another customer of the same merchant
        customer = make_customer(db.session.get(Customer, two_invoices[2]).merchant, name="Someone Else")
        foreign = make_invoice(customer).number
        db.session.commit()
        db.session.remove()

    response = press_pay_several(client, first, invoice=[first, foreign])

    assert response.status_code == 303
    assert "cannot be paid online" in client.get("/").get_data(as_text=True)
    assert rows(pay_app, PaymentAttempt) == []


def test_without_csrf_token_nothing_happens(late, pay_app, two_invoices, client, fake_mollie):
    assert client.post("/pay", data={"all": "1"}).status_code == 400
    assert rows(pay_app, PaymentAttempt) == []


def test_paying_one_of_them_alone_cancels_the_shared_checkout(late, pay_app, two_invoices, client, fake_mollie):
    first, later, _, _ = two_invoices
    press_pay_several(client, first, all="1")
    token = csrf_token(client, later)

    response = client.post(f"/invoices/{later}/pay", data={"csrf_token": token, "provider": "mollie"})

    shared, alone = rows(pay_app, PaymentAttempt)
    assert shared.status == "superseded"
    assert fake_mollie.payments[shared.provider_payment_id]["status"] == "canceled"
    assert alone.status == "open" and alone.amount == 20000
    assert response.headers["Location"].endswith(alone.provider_payment_id)


def test_the_overview_offers_pay_per_invoice_selected_and_all(late, pay_app, two_invoices, client):
    first, later, _, _ = two_invoices
    page = client.get("/").get_data(as_text=True)

    assert 'data-testid="pay-all-EUR"' in page
    assert f'data-testid="select-{first}"' in page and f'data-testid="select-{later}"' in page
    assert f'data-testid="pay-row-{first}"' in page
    assert 'data-testid="pay-selected"' in page
    assert page.count('data-testid="late-charges"') == 1  # only the overdue one includes late charges


def test_the_statement_contract_endpoint_name_builds_the_url(pay_app):
    with pay_app.test_request_context():
        from flask import url_for

        assert url_for("portal.pay_several") == "/pay"
        assert url_for("customer.pay_several") == "/pay"


def test_count_of_payments_is_zero_before_the_webhook(late, pay_app, two_invoices, client, fake_mollie):
    first, *_ = two_invoices
    press_pay_several(client, first, all="1")
    with pay_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
        db.session.remove()


# --- PostgreSQL: the shared checkout's webhook delivered twice at once books each invoice once ------------


@pytest.mark.postgres
def test_two_deliveries_at_once_book_each_invoice_once(pg_pay, fake_mollie, time_machine):
    time_machine.move_to(LATE, tick=True)
    with pg_pay.app_context():
        customer = make_customer(make_merchant())
        numbers = [make_invoice(customer).number, make_invoice(customer, due_date=date(2026, 3, 31)).number]
        db.session.commit()
        customer_id = customer.id
        db.session.remove()
    client = pg_pay.test_client()
    sign_in(pg_pay, client, customer_id)
    assert press_pay_several(client, numbers[0], all="1").status_code == 303
    [attempt] = rows(pg_pay, PaymentAttempt)
    fake_mollie.set_status(attempt.provider_payment_id, "paid")

    def deliver():
        return pg_pay.test_client().post("/webhooks/mollie", data={"id": attempt.provider_payment_id}).status_code

    assert _race(pg_pay, attempt.id, deliver) == [200, 200]
    payments = rows(pg_pay, Payment)
    assert sorted(p.invoice_id for p in payments) == sorted({p.invoice_id for p in payments})
    assert len(payments) == 2
    assert sum(r.amount for r in rows(pg_pay, Receipt)) == attempt.amount
    assert [invoice_status(pg_pay, number) for number in numbers] == ["paid", "paid"]
