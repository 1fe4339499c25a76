"""The customer sees their credit balance and settles an open invoice from it with one press."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from portal.domain.money import Money
from portal.extensions import db
from portal.models import Invoice
from portal.models.mail import OutboxMessage
from portal.services.ledger import MoneySource, book_money_received, credit_balances
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import sign_in

_TOKEN = re.compile(
    r'action="(/invoices/[^"]+/settle-from-credit)">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
)


def credit(customer, amount: int) -> None:
    book_money_received(
        customer,
        None,
        Money(amount, "EUR"),
        method="bank_transfer",
        source=MoneySource("recorded"),
        received_on=date(2026, 2, 20),
    )


def test_the_balance_shows_and_settles_an_overdue_invoice_with_its_late_charges(ctx, client, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant)
    invoice = make_invoice(customer)  # 1,000.00 due 2026-01-31: 1,049.86 due on the SPEC day
    credit(customer, 200000)
    sign_in(client, customer)

    overview = client.get("/").get_data(as_text=True)
    assert 'data-testid="credit-balance"' in overview and "€2,000.00" in overview
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "Pay €1,049.86 from your credit balance" in page
    action, token = _TOKEN.search(page).groups()

    answer = client.post(action, data={"csrf_token": token})

    assert answer.status_code == 303
    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.status == "paid"
    [payment] = invoice.payments
    assert (payment.method, payment.amount, payment.fee_amount, payment.interest_amount) == (
        "credit_balance",
        100000,
        4000,
        986,
    )
    assert credit_balances(customer) == {"EUR": 200000 - 104986}
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert "payment_confirmation" in kinds
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "settle-from-credit" not in page


def test_a_smaller_balance_pays_part_of_the_invoice(ctx, client, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant)
    invoice = make_invoice(customer, due_date=date(2026, 12, 31))
    credit(customer, 30000)
    sign_in(client, customer)
    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert "Use €300.00 of your credit balance" in page
    action, token = _TOKEN.search(page).groups()

    client.post(action, data={"csrf_token": token})

    db.session.expire_all()
    invoice = db.session.get(Invoice, invoice.id)
    assert invoice.status == "open" and invoice.paid == 30000
    assert credit_balances(customer) == {}


def test_settling_needs_the_csrf_token_and_the_customers_own_invoice(ctx, client, spec_day):
    merchant = make_merchant()
    customer, other = make_customer(merchant), make_customer(merchant)
    invoice = make_invoice(customer)
    theirs = make_invoice(other)
    credit(customer, 200000)
    sign_in(client, customer)

    assert client.post(f"/invoices/{invoice.number}/settle-from-credit").status_code == 400
    _, token = _TOKEN.search(client.get(f"/invoices/{invoice.number}").get_data(as_text=True)).groups()
    assert client.post(f"/invoices/{theirs.number}/settle-from-credit", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Invoice, invoice.id).status == "open"


def test_no_credit_no_button(ctx, client, spec_day):
    merchant = make_merchant()
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    sign_in(client, customer)
    assert "settle-from-credit" not in client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
