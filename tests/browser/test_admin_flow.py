"""The back office in a real browser: from signing in to the customer opening the emailed invoice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.admin.conftest import PASSWORD, make_staff
from tests.factories import make_merchant
from tests.mail.conftest import SmtpServer, free_port

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def back_office(app) -> str:
    with app.app_context():
        merchant = make_merchant(
            "Atelier Lumen",
            primary_color="#0f766e",
            support_email="billing@atelier.example",
            timezone="Europe/Brussels",
        )
        make_staff(merchant, "owner@atelier.example")
        db.session.commit()
    return "owner@atelier.example"


def test_staff_issue_an_invoice_the_customer_opens_from_the_mail(
    app, chromium, live_server, back_office, smtp, artifacts, monkeypatch
):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations of destructive actions
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server}/admin/invoices")
    page.fill("input[name=email]", back_office)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/invoices")

    # A customer…
    page.click("nav >> text=Customers")
    page.click("text=New customer")
    page.fill("input[name=name]", "Jane Cooper")
    page.fill("input[name=email]", "jane@customer.example")
    page.select_option("select[name=language]", "en")
    page.click("button:has-text('Create customer')")
    page.wait_for_selector("h1:has-text('Jane Cooper')")
    assert "Customer Jane Cooper created." in page.inner_text(".flash--success")

    # …a product…
    page.click("nav >> text=Products")
    page.click("text=New product")
    page.fill("input[name=name]", "Website design")
    page.fill("input[name=unit_price]", "500.00")
    page.fill("input[name=tax_rate]", "21")
    page.click("button:has-text('Add product')")
    page.wait_for_selector("td:has-text('€500.00')")

    # …and a draft with two lines and a discount, the totals following the typing.
    page.click("nav >> text=Invoices")
    page.click("text=New invoice")
    page.select_option("select[name=customer_id]", label="Jane Cooper <jane@customer.example>")
    page.select_option("select[name='lines-0-product_id']", label="Website design")
    assert page.input_value("input[name='lines-0-description']") == "Website design"
    page.fill("input[name='lines-0-quantity']", "2")
    page.click("[data-add-line]")
    page.fill("input[name='lines-1-description']", "Printed brochure")
    page.fill("input[name='lines-1-quantity']", "100")
    page.fill("input[name='lines-1-unit_price']", "1.20")
    page.fill("input[name='lines-1-tax_rate']", "6")
    page.fill("input[name=discount_percent]", "10")
    # 1,000.00 + 120.00 − 10 % = 1,008.00 net; 21 % of 900.00 + 6 % of 108.00 = 195.48 tax.
    expect(page.locator("[data-total=total]")).to_have_text("€1,203.48")
    page.screenshot(path=str(artifacts / "admin-editor.png"), full_page=True)
    page.click("button:has-text('Save draft')")
    page.wait_for_selector("h1:has-text('Draft invoice')")

    # Preview it, as a page and as the email.
    page.click("a:has-text('Preview')")
    document = page.frame_locator("#page iframe").locator("body")
    expect(document).to_contain_text("Printed brochure")
    expect(document).to_contain_text("€1,203.48")
    frame = page.frame_locator("#email iframe")
    assert "Hello Jane Cooper" in frame.locator("body").inner_text()
    page.click("text=← Back to the invoice")

    # Finalize and send.
    page.click("button:has-text('Finalize and send')")
    page.wait_for_selector(".flash--success")
    flash = page.inner_text(".flash--success")
    number = re.search(r"Invoice (\d{4}-\d{4}) finalized and sent", flash)[1]
    page.screenshot(path=str(artifacts / "admin-invoice.png"), full_page=True)
    assert problems == []
    context.close()

    # The worker delivers the outbox to a real SMTP server on loopback.
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    result = app.test_cli_runner().invoke(args=["portal", "deliver-mail", "--once"])
    assert result.exit_code == 0, result.output
    (message,) = smtp.messages
    assert message["To"] == "jane@customer.example"
    assert number in message["Subject"]
    attachments = [part.get_filename() for part in message.iter_attachments()]
    assert any(name and name.endswith(".pdf") for name in attachments)
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+/l/\S+", text)[0]

    # The mail's link opens the customer portal on that invoice.
    customer = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    portal = customer.new_page()
    portal.goto(live_server + urlsplit(link).path)
    portal.wait_for_url(f"**/invoices/{number}")
    body = portal.inner_text("body")
    assert number in body and "Printed brochure" in body and "1,203.48" in body
    portal.screenshot(path=str(artifacts / "admin-flow-customer.png"), full_page=True)
    customer.close()


def test_staff_create_a_customer_from_the_invoice_editor_without_leaving_it(app, chromium, live_server, back_office):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server}/admin/invoices/new")
    page.fill("input[name=email]", back_office)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/invoices/new")

    new_customer = page.locator("[data-new-customer]")
    page.select_option("select[name=customer_id]", label="+ New customer (fill in below)")
    expect(new_customer).to_be_visible()
    page.fill("input[name='new_customer-name']", "Lena Schmidt")
    page.fill("input[name='new_customer-email']", "lena@kunde.example")
    page.select_option("select[name='new_customer-language']", "de")
    page.fill("input[name='new_customer-company']", "Schmidt Design GmbH")
    page.fill("input[name='new_customer-address-line1']", "Torstraße 140")
    page.fill("input[name='new_customer-address-postal_code']", "10119")
    page.fill("input[name='new_customer-address-city']", "Berlin")
    page.select_option("select[name='new_customer-address-country']", "DE")
    page.fill("input[name='new_customer-vat_number']", "DE136695976")
    page.fill("input[name='lines-0-description']", "Website design")
    page.fill("input[name='lines-0-unit_price']", "1800")
    page.select_option("select[name='lines-0-tax_category']", "AE")
    expect(page.locator("[data-total=total]")).to_have_text("€1,800.00")
    page.click("button:has-text('Save draft')")
    page.wait_for_selector("h1:has-text('Draft invoice')")

    body = page.inner_text("body")
    assert (
        "Schmidt Design GmbH" in body
        and "DE136695976" in body
        and "AE – Steuerschuldnerschaft des Leistungsempfängers" in body
    )
    page.goto(f"{live_server}/admin/invoices/new")
    expect(page.locator("[data-new-customer]")).to_be_hidden()  # shown only for "+ New customer"
    assert problems == []
    context.close()
