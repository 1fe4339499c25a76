"""In a real browser: a customer with a credit balance settles an open invoice from it with one press."""

from __future__ import annotations

from datetime import date

import pytest

from portal.domain.money import Money
from portal.extensions import db
from portal.models import Invoice
from portal.services.ledger import MoneySource, book_money_received
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import SPEC_DAY

pytestmark = pytest.mark.browser


@pytest.fixture
def prepaid(app, time_machine):
    time_machine.move_to(SPEC_DAY, tick=True)
    with app.app_context():
        merchant = make_merchant("Atelier Lumen", support_email="billing@atelier.example")
        customer = make_customer(merchant, name="Jane Cooper", language="en")
        invoice = make_invoice(customer, due_date=date(2026, 12, 31))  # 1,000.00, not due yet
        # Seed 004's prepayment: money received before there was an invoice for it.
        book_money_received(
            customer,
            None,
            Money(150000, "EUR"),
            method="bank_transfer",
            source=MoneySource("bank_statement", "prepayment-1"),
            received_on=date(2026, 2, 1),
        )
        path = "/l/" + make_portal_link(customer).url.rsplit("/l/", 1)[1]
        db.session.commit()
        return path, invoice.id, invoice.number


def test_a_customer_settles_an_open_invoice_from_their_credit_balance(chromium, live_server, prepaid, app, artifacts):
    link_path, invoice_id, number = prepaid
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(live_server + link_path)
        assert page.get_by_test_id("credit-balance").inner_text() == "€1,500.00"

        page.get_by_role("link", name=number, exact=True).click()
        page.wait_for_url(f"**/invoices/{number}")
        assert page.get_by_test_id("credit-available").inner_text() == "Your credit balance: €1,500.00"
        page.get_by_test_id("settle-from-credit").click()
        page.wait_for_load_state()

        assert "Paid from your credit balance" in page.locator("body").inner_text()
        assert page.get_by_test_id("amount-due").inner_text() == "€1,000.00"  # the paid card shows the total
        assert page.get_by_test_id("settle-from-credit").count() == 0
        page.goto(live_server + "/")
        assert page.get_by_test_id("credit-balance").inner_text() == "€500.00"
        page.screenshot(path=str(artifacts / "credit-settled.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "paid"
        db.session.remove()
