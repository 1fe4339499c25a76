"""Paying in a real browser: press Pay, land on the fake checkout, pay, come back to a paid invoice."""

from __future__ import annotations

import pytest

from tests.browser.conftest import link_path
from tests.payments.conftest import make_shop

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("provider", ["mollie", "stripe"])
def test_press_pay_checkout_and_come_back_paid(chromium, live_server, app, providers, artifacts, provider):
    mollie, stripe = providers
    shop = make_shop(app)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")  # a phone
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.goto(live_server + link_path(app, shop.customer_id))
        page.goto(f"{live_server}/invoices/{shop.number}")
        page.screenshot(path=str(artifacts / "pay-invoice-buttons.png"))
        page.get_by_test_id(f"pay-button-{provider}").click()

        fake = mollie if provider == "mollie" else stripe
        page.wait_for_url(f"{fake.url}/checkout/**")
        expected = "EUR 1049.86" if provider == "mollie" else "EUR 104986"
        assert page.get_by_test_id("amount").inner_text() == expected

        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url(f"{live_server}/payments/*/return")
        state = page.get_by_test_id("payment-state")
        state.and_(page.locator("[data-state='paid']")).wait_for(timeout=15000)
        assert "payment was received" in page.inner_text("h1")
        page.screenshot(path=str(artifacts / f"pay-{provider}-returned.png"), full_page=True)

        page.get_by_test_id("back-to-invoice").click()
        page.wait_for_url(f"{live_server}/invoices/{shop.number}")
        assert page.get_by_test_id("pay-actions").count() == 0
        assert "Paid on" in page.inner_text("main")
        assert problems == []
    finally:
        context.close()


def test_return_page_polls_until_the_webhook_arrives(chromium, live_server, app, providers):
    mollie, _ = providers
    shop = make_shop(app)
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(live_server + link_path(app, shop.customer_id))
        page.goto(f"{live_server}/invoices/{shop.number}")
        page.get_by_test_id("pay-button-mollie").click()
        page.wait_for_url(f"{mollie.url}/checkout/**")
        payment_id = page.url.rsplit("/", 1)[1]
        # Paid at Mollie, but the webhook is late: the customer comes back first.
        mollie.payments[payment_id]["webhookUrl"] = None
        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url(f"{live_server}/payments/*/return")
        assert page.get_by_test_id("payment-state").get_attribute("data-state") == "processing"

        assert mollie.send_webhook(payment_id, to=live_server + "/webhooks/mollie") == 200
        page.locator("[data-state='paid']").wait_for(timeout=15000)  # the page refreshed by itself
    finally:
        context.close()
