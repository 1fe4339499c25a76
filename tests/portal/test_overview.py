"""The overview: three sections, the whole history, filters, search and pagination."""

from __future__ import annotations

from datetime import date

from portal.extensions import db
from portal.services import invoices as invoice_service
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import plain, sign_in


def test_the_overview_shows_open_paid_and_credit_note_sections(ctx, client, spec_day):
    customer = make_customer(make_merchant("Atelier"))
    overdue = make_invoice(customer)
    paid = make_invoice(customer, issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4))
    pay(paid, 100000, date(2026, 2, 1))
    credited = make_invoice(customer, issue_date=date(2026, 2, 10), due_date=date(2026, 3, 12))
    note = credit(credited, 20000, date(2026, 2, 20))
    ancient = make_invoice(customer, issue_date=date(2019, 5, 1), due_date=date(2019, 5, 31))
    pay(ancient, 100000, date(2019, 5, 20))
    sign_in(client, customer)

    page = plain(client.get("/").get_data(as_text=True))

    assert "Open invoices" in page and "Paid invoices" in page and "Credit notes" in page
    assert overdue.number in page and "€1,049.86" in page and "30 days overdue" in page
    assert "Jan 31, 2026" in page  # its due date
    assert paid.number in page and "Feb 1, 2026" in page  # the paid date
    assert note.number in page and "€200.00" in page
    assert ancient.number in page and "May 20, 2019" in page  # the whole history, however old
    # Owed today: 1,049.86 overdue plus 800.00 still open on the credited invoice.
    assert "€1,849.86" in page


def test_a_void_invoice_is_listed_as_cancelled(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    invoice = make_invoice(customer)
    invoice_service.void_invoice(invoice)
    sign_in(client, customer)

    page = client.get("/").get_data(as_text=True)

    assert "Cancelled invoices" in page and invoice.number in page
    assert "Nothing to pay" in page


def test_filter_by_status(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    overdue = make_invoice(customer)
    not_due = make_invoice(customer, issue_date=date(2026, 2, 20), due_date=date(2026, 3, 20))
    paid = make_invoice(customer, issue_date=date(2026, 1, 2))
    pay(paid, 100000, date(2026, 1, 10))
    sign_in(client, customer)

    overdue_only = client.get("/?status=overdue").get_data(as_text=True)
    assert overdue.number in overdue_only
    assert not_due.number not in overdue_only and paid.number not in overdue_only
    assert "Paid invoices" not in overdue_only

    paid_only = client.get("/?status=paid").get_data(as_text=True)
    assert paid.number in paid_only and overdue.number not in paid_only
    assert "Open invoices" not in paid_only


def test_filter_by_issue_date_range_and_search_by_number(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    january = make_invoice(customer, issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31))
    february = make_invoice(customer, issue_date=date(2026, 2, 15), due_date=date(2026, 3, 15))
    sign_in(client, customer)

    in_february = client.get("/?issued_from=2026-02-01&issued_to=2026-02-28").get_data(as_text=True)
    assert february.number in in_february and january.number not in in_february

    searched = client.get(f"/?number={january.number[-2:]}").get_data(as_text=True)
    assert january.number in searched and february.number not in searched

    # Nonsense filters are ignored rather than failing the page.
    assert client.get("/?issued_from=yesterday&status=everything").status_code == 200
    assert client.get("/?number=%25_").status_code == 200


def test_sections_are_paginated(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    numbers = [
        make_invoice(customer, issue_date=date(2026, 1, 1), due_date=date(2026, 1, 31)).number for _ in range(23)
    ]
    sign_in(client, customer)

    first = client.get("/").get_data(as_text=True)
    second = client.get("/?open_page=2").get_data(as_text=True)

    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert sum(f'href="/invoices/{number}"' in first for number in numbers) == 20
    assert sum(f'href="/invoices/{number}"' in second for number in numbers) == 3
    assert client.get("/?open_page=99").status_code == 200


def test_drafts_never_appear(ctx, client, spec_day):
    customer = make_customer(make_merchant())
    make_invoice(customer, finalize=False, notes="draft-marker")
    sign_in(client, customer)

    page = client.get("/").get_data(as_text=True)

    assert "No open invoices." in page
    assert "draft-marker" not in page


def test_the_overview_runs_the_same_statements_for_few_or_many_invoices(app, ctx, client, spec_day):
    from sqlalchemy import event

    customer = make_customer(make_merchant())
    sign_in(client, customer)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def add_invoices(how_many: int) -> None:
        for _ in range(how_many):
            invoice = make_invoice(customer)
            credit(invoice, 1000, date(2026, 2, 1))
            pay(invoice, 1000, date(2026, 2, 2))
            paid = make_invoice(customer)
            pay(paid, 100000, date(2026, 2, 3))
        db.session.commit()

    def statements_per_page() -> int:
        db.session.expire_all()  # as in a fresh request: nothing already loaded
        statements.clear()
        assert client.get("/").status_code == 200
        return len(statements)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        add_invoices(3)
        few = statements_per_page()
        add_invoices(40)
        many = statements_per_page()
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert many == few
