"""The overview and the invoice page run a fixed number of SQL statements, however many invoices exist.

Counted with a SQLAlchemy event listener on the engine during a real request through the test client:
a change that adds a query per invoice (a lazy load in a loop, a look-up per row) fails here.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from portal.extensions import db
from portal.models import Customer
from portal.models.online_payment import ProviderAccount
from portal.services import invoices as invoice_service
from portal.services.disputes import open_dispute
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import sign_in

#: The budgets, so a page that grows by a statement is a decision, not an accident.
OVERVIEW_STATEMENTS = 20
INVOICE_PAGE_STATEMENTS = 19


@contextmanager
def counted(app):
    """Collect the SQL statements the app's engine runs inside the block."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def history(customer, count: int):
    """Give the customer `count` invoices in turn: partly paid, credited and disputed; paid; void.

    Three invoices already hold every kind of row the pages read, so any extra statement per row shows.
    """
    sample = None
    for n in range(count):
        issued = date(2025, 1, 1) + timedelta(days=n)
        invoice = make_invoice(customer, issue_date=issued, due_date=issued + timedelta(days=30))
        kind = n % 3
        if kind == 0:
            credit(invoice, 20000, issued + timedelta(days=5))
            pay(invoice, 30000, issued + timedelta(days=40))  # after the due date: two interest segments
            open_dispute(invoice, customer, "Not delivered")
            sample = invoice
        elif kind == 1:
            pay(invoice, 100000, issued + timedelta(days=10))
        else:
            invoice_service.void_invoice(invoice)
    db.session.commit()
    return sample


def _pages(app, customer_id: int, count: int) -> tuple[list[str], list[str], str]:
    """Count the statements of the overview and of an invoice page of a customer with `count` invoices.

    The requests run in an app context of their own, as in production: nothing of the setup's
    identity map spares them a query.
    """
    client = app.test_client()
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        number = history(customer, count).number
        sign_in(client, customer)
        db.session.remove()
    # Count each page as read again: the first view of an invoice is recorded once, and the first
    # overview of the day sums the open invoices (test_overview_dues_follow_changes covers that one).
    client.get(f"/invoices/{number}")
    client.get("/")
    with counted(app) as overview:
        assert client.get("/").status_code == 200
    with counted(app) as page:
        response = client.get(f"/invoices/{number}")
        assert response.status_code == 200
    return overview, page, response.get_data(as_text=True)


def _explain(few: list[str], many: list[str]) -> str:
    def listed(statements: list[str]) -> list[str]:
        return [f"{n:3d} " + " ".join(statement.split())[:160] for n, statement in enumerate(statements, 1)]

    return "\n".join([f"with few invoices ({len(few)}):", *listed(few), f"with many ({len(many)}):", *listed(many)])


@pytest.mark.parametrize("providers", [False, True], ids=["no-provider", "mollie-enabled"])
def test_statement_counts_do_not_grow_with_the_invoices(app, spec_day, providers):
    with app.app_context():
        merchant = make_merchant()
        if providers:
            account = ProviderAccount(merchant_id=merchant.id, provider="mollie", enabled=True)
            account.api_key_encrypted, account.key_hint = b"x", "test_"
            db.session.add(account)
        few, many = make_customer(merchant, "Few").id, make_customer(merchant, "Many").id
        db.session.commit()
        db.session.remove()

    overview_few, page_few, _ = _pages(app, few, 3)
    overview_many, page_many, html = _pages(app, many, 30)

    assert len(overview_few) == len(overview_many), _explain(overview_few, overview_many)
    assert len(page_few) == len(page_many), _explain(page_few, page_many)
    assert len(overview_many) <= OVERVIEW_STATEMENTS, _explain(overview_few, overview_many)
    assert len(page_many) <= INVOICE_PAGE_STATEMENTS, _explain(page_few, page_many)
    assert ("pay-button" in html) is providers
