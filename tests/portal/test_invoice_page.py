"""The invoice page: lines, taxes, totals, the SPEC's "view calculation" vectors, credit notes and payments."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from portal.extensions import db
from portal.models import Comment
from portal.services import invoices as invoice_service
from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in


def _calculation(page: str) -> str:
    """Return the text of the "view calculation" panel, tags stripped."""
    panel = page.split('id="calculation"', 1)[1].split("</details>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", plain(panel)))


def test_an_overdue_invoice_explains_every_step(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    calculation = _calculation(page)

    assert 'data-testid="amount-due">€1,049.86<' in page
    assert "30 days overdue" in page
    assert "Invoice total €1,000.00" in calculation
    assert "Fixed recovery fee €40.00" in calculation
    assert "Interest from Feb 1, 2026 to Mar 2, 2026" in calculation
    assert "€1,000.00 × 12% a year × 30 days / 365 €9.86" in calculation
    assert "Amount due on Mar 2, 2026 €1,049.86" in calculation


def test_a_credit_note_before_the_due_date_lowers_the_balance(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    note = credit(invoice, 20000, date(2026, 1, 20))
    sign_in(client, customer)

    calculation = _calculation(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    assert f"Credit note {note.number} Jan 20, 2026 −€200.00" in calculation
    assert "Outstanding €800.00" in calculation
    assert "€800.00 × 12% a year × 30 days / 365 €7.89" in calculation
    assert "€847.89" in calculation


def test_a_payment_after_the_due_date_starts_a_new_interest_segment(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    pay(invoice, 40000, date(2026, 2, 15))
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    calculation = _calculation(page)

    assert "Payment Feb 15, 2026 · Bank transfer −€400.00" in calculation
    assert "€1,000.00 × 12% a year × 15 days / 365 €4.93" in calculation
    assert "€600.00 × 12% a year × 15 days / 365 €2.96" in calculation
    assert "Amount due on Mar 2, 2026 €647.89" in calculation
    assert "Payments received" in page


def test_on_the_due_date_nothing_is_charged(ctx, client, time_machine):
    time_machine.move_to(datetime(2026, 1, 31, 12, tzinfo=UTC), tick=False)
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))
    calculation = _calculation(page)

    assert 'data-testid="amount-due">€1,000.00<' in page
    assert "overdue" not in page.lower().split('id="calculation"')[0].split("<main", 1)[1]
    assert "fee" not in calculation.lower() and "Interest from" not in calculation
    assert "Amount due on Jan 31, 2026 €1,000.00" in calculation


def test_lines_taxes_per_rate_and_totals(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(
        customer,
        lines=[
            line("Design", "2", 50000, "21"),
            line("Books", "3", 2000, "6", discount_percent="10"),
        ],
    )
    sign_in(client, customer)

    page = plain(client.get(f"/invoices/{invoice.number}").get_data(as_text=True))

    assert "Design" in page and "Books" in page
    assert ">S</abbr> 6%" in page and ">S</abbr> 21%" in page  # each line's VAT category and rate
    assert "Tax 6% on €54.00" in page and "€3.24" in page
    assert "Tax 21% on €1,000.00" in page and "€210.00" in page
    assert 'data-testid="invoice-total">€1,267.24<' in page
    assert "Due date" in page and "Jan 31, 2026" in page


def test_credit_notes_are_tabs_beside_the_invoice(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    note = credit(invoice, 20000, date(2026, 1, 20), reason="Discount agreed by phone")
    sign_in(client, customer)

    invoice_page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)
    assert f'href="/credit-notes/{note.number}"' in invoice_page

    note_page = plain(client.get(f"/credit-notes/{note.number}").get_data(as_text=True))
    assert f"Credit note {note.number}" in note_page
    assert "Discount agreed by phone" in note_page
    assert f'href="/invoices/{invoice.number}"' in note_page
    assert 'data-testid="credit-total">€200.00<' in note_page


def test_a_paid_and_a_void_invoice(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    paid = make_invoice(customer)
    pay(paid, 100000, date(2026, 1, 25))
    void = make_invoice(customer)
    invoice_service.void_invoice(void)
    sign_in(client, customer)

    paid_page = plain(client.get(f"/invoices/{paid.number}").get_data(as_text=True))
    assert "Paid on January 25, 2026" in paid_page

    void_page = client.get(f"/invoices/{void.number}").get_data(as_text=True)
    assert "This invoice was cancelled" in void_page
    assert 'id="calculation"' not in void_page


def test_the_thread_shows_staff_replies(ctx, client, spec_day):
    merchant = make_merchant("Atelier")
    customer = make_customer(merchant)
    invoice = make_invoice(customer)
    db.session.add(Comment(merchant_id=merchant.id, invoice=invoice, author_kind="customer", body="Why 40 EUR?"))
    db.session.add(Comment(merchant_id=merchant.id, invoice=invoice, author_kind="staff", body="That is the EU fee."))
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert "Why 40 EUR?" in page and "That is the EU fee." in page
    assert "thread__item--staff" in page


def test_the_invoice_page_leaves_room_for_other_areas_buttons(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    sign_in(client, customer)

    page = client.get(f"/invoices/{invoice.number}").get_data(as_text=True)

    assert '<div class="actions">' in page
