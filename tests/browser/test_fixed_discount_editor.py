"""The invoice editor in a real browser: fixed discounts in the live totals, new lines at the default tax rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from portal.extensions import db
from tests.admin.conftest import PASSWORD, make_staff
from tests.factories import make_customer, make_merchant

pytestmark = pytest.mark.browser


@pytest.fixture
def back_office(app) -> str:
    with app.app_context():
        merchant = make_merchant("Atelier Lumen", default_tax_rate=Decimal("21"))
        make_customer(merchant, "Jane Cooper", email="jane@customer.example")
        make_staff(merchant, "owner@atelier.example")
        db.session.commit()
    return "owner@atelier.example"


def test_fixed_discounts_follow_the_typing_and_new_lines_take_the_default_rate(chromium, live_server, back_office):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server}/admin/invoices/new")
    page.fill("input[name=email]", back_office)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/admin/invoices/new")

    page.select_option("select[name=customer_id]", label="Jane Cooper <jane@customer.example>")
    assert page.input_value("input[name='lines-0-tax_rate']") == "21"
    page.fill("input[name='lines-0-description']", "Design")
    page.fill("input[name='lines-0-unit_price']", "100.00")
    page.fill("input[name='lines-0-discount_fixed']", "10.00")
    page.click("[data-add-line]")
    assert page.input_value("input[name='lines-1-tax_rate']") == "21"  # the merchant's default, not 0
    page.fill("input[name='lines-1-description']", "Print")
    page.fill("input[name='lines-1-unit_price']", "50.00")
    page.fill("input[name='lines-1-tax_rate']", "6")
    page.fill("input[name=discount_fixed]", "14.00")
    # Lines 90.00 and 50.00; 14.00 spread 50:90 → 5.00 and 9.00; 6 % of 45.00 + 21 % of 81.00 = 2.70 + 17.01.
    expect(page.locator("[data-total=discount]")).to_have_text("€14.00")
    expect(page.locator("[data-total=total]")).to_have_text("€145.71")
    expect(page.locator("[data-line-net]").first).to_have_text("€90.00")

    page.fill("input[name='lines-1-discount_fixed']", "50.01")
    expect(page.locator("[data-totals-error]")).to_have_text(
        "Line 2: The line's fixed discount is larger than the line's amount"
    )
    page.fill("input[name='lines-1-discount_fixed']", "")
    page.click("button:has-text('Save draft')")
    page.wait_for_selector("h1:has-text('Draft invoice')")
    assert "€145.71" in page.inner_text("main")
    assert problems == []
    context.close()
