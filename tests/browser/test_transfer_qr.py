"""The EPC QR code as a browser shows it: a banking app pointed at the screen reads today's amount and the reference."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.services.links import make_portal_link
from tests.bank.scanner import decode
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import SPEC_DAY

pytestmark = pytest.mark.browser


@pytest.fixture
def overdue_link(app, time_machine) -> tuple[str, str]:
    time_machine.move_to(SPEC_DAY, tick=True)
    with app.app_context():
        merchant = make_merchant(
            "Atelier Lumen", legal_name="Atelier Lumen SRL", iban="BE68539007547034", bic="GKCCBEBB"
        )
        customer = make_customer(merchant, language="en")
        invoice = make_invoice(customer)
        db.session.commit()
        return "/l/" + make_portal_link(customer, invoice).url.rsplit("/l/", 1)[1], invoice.number


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_the_qr_code_on_screen_scans_to_the_amount_due_today(
    chromium, live_server, overdue_link, artifacts, tmp_path, viewport
):
    path, number = overdue_link
    context = chromium.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(live_server + path)
        page.wait_for_url(f"**/invoices/{number}")
        block = page.get_by_test_id("bank-transfer")
        assert block.get_by_role("heading", name="Pay by bank transfer").is_visible()
        assert page.get_by_test_id("transfer-amount").inner_text() == "€1,049.86"
        assert page.get_by_test_id("transfer-reference").inner_text() == "+++202/6000/00192+++"
        name = (
            "QR code for your banking app: transfer €1,049.86 to Atelier Lumen SRL, "
            "IBAN BE68 5390 0754 7034, reference +++202/6000/00192+++"
        )
        qr = block.get_by_role("img", name=name)
        qr.scroll_into_view_if_needed()
        assert qr.is_visible()
        page.screenshot(path=str(artifacts / f"transfer-{viewport['width']}.png"), full_page=True)

        lines = decode(qr.screenshot(), tmp_path)

        assert lines[4:] == ["GKCCBEBB", "Atelier Lumen SRL", "BE68539007547034", "EUR1049.86", "", "202600000192"]
        assert problems == []
    finally:
        context.close()
