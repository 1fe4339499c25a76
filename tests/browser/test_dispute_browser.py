"""In a real browser: the customer disputes an overdue invoice and sees the late charges stop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.extensions import db
from portal.models import Invoice
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import SPEC_DAY

pytestmark = pytest.mark.browser


@pytest.fixture
def overdue(app, time_machine):
    time_machine.move_to(SPEC_DAY, tick=True)  # 30 days after the due date of 2026-01-31
    with app.app_context():
        merchant = make_merchant("Atelier Lumen", support_email="billing@atelier.example")
        customer = make_customer(merchant, name="Jane Cooper", language="en")
        invoice = make_invoice(customer)  # 1,000.00 EUR, SPEC policy: 12 %/year and a 40.00 fee
        db.session.commit()
        return customer.id, invoice.id, invoice.number


def _link(app, customer_id: int) -> str:
    from portal.models import Customer

    with app.app_context():
        url = make_portal_link(db.session.get(Customer, customer_id)).url
        db.session.remove()
    return "/l/" + url.rsplit("/l/", 1)[1]


def test_the_customer_disputes_an_invoice_and_the_late_fee_stops(
    chromium, live_server, overdue, app, artifacts, time_machine
):
    customer_id, invoice_id, number = overdue
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(live_server + _link(app, customer_id))
        page.get_by_role("link", name=number, exact=True).click()
        page.wait_for_url(f"**/invoices/{number}")
        assert page.get_by_test_id("amount-due").inner_text() == "€1,049.86"

        page.get_by_label("What is wrong with this invoice?").fill("The second workshop was cancelled.")
        page.get_by_role("button", name="Dispute invoice").click()
        page.wait_for_url(f"**/invoices/{number}#dispute")
        assert "You disputed this invoice." in page.locator("body").inner_text()
        assert page.get_by_test_id("disputed").is_visible()
        # Nothing accrues from the day of the dispute: 29 days of interest instead of 30.
        assert page.get_by_test_id("amount-due").inner_text() == "€1,049.53"

        # Three weeks later the amount due has not moved.
        time_machine.move_to(SPEC_DAY + timedelta(days=21), tick=True)
        page.goto(live_server + _link(app, customer_id))
        page.goto(live_server + f"/invoices/{number}")
        assert page.get_by_test_id("amount-due").inner_text() == "€1,049.53"
        page.get_by_text("View calculation").click()
        pause = page.get_by_test_id("calc-pause")
        assert "Disputed: no late charges" in pause.inner_text() and "22 days" in pause.inner_text()
        assert page.get_by_test_id("calc-fee").inner_text() == "€40.00"
        assert "You disputed the invoice" in page.get_by_test_id("timeline").inner_text()
        page.screenshot(path=str(artifacts / "dispute-paused.png"), full_page=True)
        assert problems == []
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).open_dispute is not None
        db.session.remove()
