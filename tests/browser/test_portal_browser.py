"""The portal in a real browser: a customer's journey from the emailed link to a comment."""

from __future__ import annotations

from datetime import date

import pytest

from portal.extensions import db
from portal.services.links import make_portal_link
from tests.factories import credit, make_customer, make_invoice, make_merchant, pay
from tests.portal.conftest import SPEC_DAY, plain

pytestmark = pytest.mark.browser

HOSTILE = "<img src=x onerror=alert(1)></script><script>alert(2)</script>"


@pytest.fixture
def journey(app, time_machine):
    # Ticking, so Playwright's own timeouts keep running; the day stays the SPEC's 2026-03-02.
    time_machine.move_to(SPEC_DAY, tick=True)
    with app.app_context():
        merchant = make_merchant(
            "Atelier Lumen", primary_color="#0f766e", accent_color="#b45309", support_email="billing@atelier.example"
        )
        customer = make_customer(merchant, name="Jane Cooper", language="en")
        overdue = make_invoice(customer, notes=HOSTILE)
        paid = make_invoice(customer, issue_date=date(2026, 1, 2), due_date=date(2026, 2, 1))
        pay(paid, 100000, date(2026, 1, 20))
        credited = make_invoice(customer, issue_date=date(2026, 2, 20), due_date=date(2026, 3, 22))
        note = credit(credited, 20000, date(2026, 2, 25))
        path = "/l/" + make_portal_link(customer).url.rsplit("/l/", 1)[1]
        numbers = {"overdue": overdue.number, "paid": paid.number, "note": note.number}
        db.session.commit()
    return path, numbers


def test_a_customer_reads_pays_attention_and_asks(chromium, live_server, journey, artifacts):
    link_path, numbers = journey
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    try:
        page.goto(live_server + link_path)
        assert page.url == live_server + "/"  # the token left the address bar
        assert page.title().startswith("Atelier Lumen")
        for heading in ("Open invoices", "Paid invoices", "Credit notes"):
            assert page.get_by_role("heading", name=heading).is_visible()
        assert page.get_by_role("link", name=numbers["paid"]).is_visible()
        assert page.get_by_role("link", name=numbers["note"]).is_visible()

        page.get_by_role("link", name=numbers["overdue"], exact=True).click()
        page.wait_for_url(f"**/invoices/{numbers['overdue']}")
        assert page.get_by_test_id("days-overdue").inner_text() == "30 days overdue"
        calculation = page.locator("#calculation table")
        assert not calculation.is_visible()
        page.get_by_text("View calculation").click()
        assert calculation.is_visible()
        assert page.get_by_test_id("calc-fee").inner_text() == "€40.00"
        assert page.get_by_test_id("calc-interest").inner_text() == "€9.86"
        assert page.get_by_test_id("calc-amount-due").inner_text() == "€1,049.86"
        assert HOSTILE in page.locator(".document__text .prewrap").first.inner_text()

        page.get_by_label("Language").select_option("fr")
        page.get_by_role("button", name="Change").click()
        page.wait_for_load_state()
        assert plain(page.get_by_test_id("amount-due").inner_text()) == "1 049,86 €"
        assert page.locator("html").get_attribute("lang") == "fr"

        page.get_by_label("Votre message").fill("Puis-je payer en deux fois ? " + HOSTILE)
        page.get_by_role("button", name="Envoyer le message").click()
        page.wait_for_load_state()
        thread = page.locator(".thread")
        assert "Puis-je payer en deux fois ? " + HOSTILE in thread.inner_text()

        page.set_viewport_size({"width": 375, "height": 812})
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
        page.screenshot(path=str(artifacts / "invoice-phone.png"), full_page=True)
        assert (artifacts / "invoice-phone.png").stat().st_size > 10_000
    finally:
        context.close()
    assert problems == []  # no CSP violation, no script from hostile text


def test_keyboard_users_reach_the_calculation(chromium, live_server, journey):
    link_path, numbers = journey
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(live_server + link_path)
        page.goto(f"{live_server}/invoices/{numbers['overdue']}")
        page.locator("summary").focus()
        page.keyboard.press("Enter")
        assert page.get_by_test_id("calc-amount-due").is_visible()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.tagName")
        assert focused in {"A", "BUTTON", "TEXTAREA", "SELECT", "INPUT"}
    finally:
        context.close()
