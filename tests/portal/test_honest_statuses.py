"""Statuses that say what happened: credited is not paid, partly paid shows both parts, charges ahead are told."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pypdf

from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in


def pdf_text(client, number: str) -> str:
    response = client.get(f"/invoices/{number}/pdf")
    assert response.status_code == 200
    return plain("\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages))


def test_an_invoice_settled_by_credit_notes_reads_credited_everywhere(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    credit(invoice, 100000, date(2026, 1, 20))
    assert invoice.status == "paid"  # the ledger settles it; the customer must not read "Paid"
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    overview = plain(client.get("/").get_data(as_text=True))
    pdf = pdf_text(client, invoice.number)

    assert 'data-status="credited"' in page and "Settled by credit notes" in page
    assert 'data-testid="amount-due">€0.00<' in page
    assert 'data-status="credited"' in overview
    assert "Credited" in pdf
    assert "Thank you for your payment" not in pdf and "Paid in full" not in pdf


def test_an_invoice_paid_with_money_still_reads_paid(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    credit(invoice, 20000, date(2026, 1, 20))
    pay(invoice, 80000, date(2026, 1, 25))
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    assert 'data-status="credited"' not in page
    assert "Paid on" in page
    assert "Thank you for your payment" in pdf_text(client, invoice.number)


def test_a_partly_paid_invoice_shows_paid_and_remaining(ctx, client, time_machine):
    time_machine.move_to(datetime(2026, 1, 20, 10, 0, tzinfo=UTC), tick=False)
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    pay(invoice, 40000, date(2026, 1, 15))
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    overview = plain(client.get("/").get_data(as_text=True))

    assert 'data-status="partly_paid"' in page
    assert "€400.00 paid, €600.00 remaining" in page
    assert 'data-status="partly_paid"' in overview


def test_before_the_due_date_the_page_tells_what_will_be_added(ctx, client, time_machine):
    time_machine.move_to(datetime(2026, 1, 20, 10, 0, tzinfo=UTC), tick=False)
    customer = make_customer(make_merchant())  # 12 % a year, a 40.00 EUR fee, no grace days
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    # 1,000.00 × 12 % / 365 = 0.3288 → 0.33 a day
    assert "If unpaid after January 31, 2026, a late fee of €40.00 and interest of €0.33 a day will be added." in page


def test_no_policy_no_warning_and_late_amounts_are_marked_in_the_overview(ctx, client, spec_day):
    merchant = make_merchant(policy=None)
    customer = make_customer(merchant)
    calm = make_invoice(customer, lines=[line(unit_amount=5000)], due_date=date(2026, 4, 30))
    sign_in(client, customer)

    assert 'data-testid="late-charges-ahead"' not in client.get(f"/invoices/{calm.number}").get_data(as_text=True)
    overview = client.get("/").get_data(as_text=True)
    assert 'data-testid="late-charges"' not in overview

    late_customer = make_customer(make_merchant("Late Ltd"))
    make_invoice(late_customer)  # 30 days late under the SPEC policy
    sign_in(client, late_customer)
    assert 'data-testid="late-charges"' in client.get("/").get_data(as_text=True)


def test_a_filter_that_finds_nothing_says_so_once(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    make_invoice(customer)
    sign_in(client, customer)

    page = client.get("/?number=nothing-like-this").get_data(as_text=True)

    assert page.count('class="empty card"') == 1
    assert "No documents match these filters." in page
