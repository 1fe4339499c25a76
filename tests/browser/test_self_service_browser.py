"""Self-service in a real browser: a billing contact adds a colleague, who opens their link and downloads the statement."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models.mail import OutboxMessage
from portal.services.links import make_portal_link
from tests.factories import make_customer, make_invoice, make_merchant
from tests.portal.conftest import SPEC_DAY

pytestmark = pytest.mark.browser


@pytest.fixture
def company(app, time_machine):
    time_machine.move_to(SPEC_DAY, tick=True)
    with app.app_context():
        merchant = make_merchant("Atelier Lumen", iban="BE68539007547034")
        customer = make_customer(merchant, name="Jane Cooper", company="Cooper BV", language="en")
        invoice = make_invoice(customer)
        path = "/l/" + make_portal_link(customer).url.rsplit("/l/", 1)[1]
        db.session.commit()
        return path, invoice.number


def test_a_billing_contact_adds_a_colleague_who_downloads_the_statement(chromium, live_server, company, app, artifacts):
    link_path, number = company
    jane = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB").new_page()
    jane.goto(live_server + link_path)
    jane.get_by_test_id("contacts-link").click()
    jane.wait_for_url("**/contacts")
    jane.get_by_label("Name").fill("Anne Kollegin")
    jane.get_by_label("Email").fill("anne@cooper.example")
    jane.get_by_label("Language").last.select_option("de")
    jane.get_by_role("button", name="Add contact").click()
    jane.wait_for_load_state()
    assert "Anne Kollegin" in jane.get_by_test_id("contacts").inner_text()

    with app.app_context():
        welcome = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_address == "anne@cooper.example"))
        anne_path = re.search(r"/l/[A-Za-z0-9_.\-]+", welcome.text_body)[0]

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE", accept_downloads=True)
    anne = context.new_page()
    anne.goto(live_server + anne_path)
    assert anne.locator("html").get_attribute("lang") == "de"  # her own language
    assert anne.get_by_role("link", name=number, exact=True).first.is_visible()  # the company's documents
    anne.get_by_test_id("statement-link").click()
    anne.wait_for_url("**/statement")
    assert anne.get_by_role("heading", name="Kontoauszug").first.is_visible()
    with anne.expect_download() as download:
        anne.get_by_test_id("statement-pdf").click()
    pdf = download.value
    assert pdf.suggested_filename.startswith("statement-2026-01-01-2026-03-02")
    saved = artifacts / "statement-download.pdf"
    pdf.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    context.close()
