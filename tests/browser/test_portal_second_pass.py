"""The portal's second pass in Chromium: pay first, several invoices in one checkout, honest statuses,
branded errors, and axe-core on every portal page in all four languages (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from portal.extensions import db
from tests.browser.conftest import link_path
from tests.factories import credit, line, make_customer, make_invoice, make_merchant, pay

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 375, "height": 667}}
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@dataclass
class Account:
    customer_id: int
    overdue: str
    later: str
    paid: str
    credited: str
    note: str


def make_account(app, language: str = "en") -> Account:
    """A branded merchant and a customer with an overdue, a not-yet-due, a paid and a fully credited invoice."""
    with app.app_context():
        merchant = make_merchant(
            "Atelier Lumen",
            primary_color="#0f766e",
            accent_color="#b45309",
            legal_name="Atelier Lumen SRL",
            iban="BE68539007547034",
        )
        customer = make_customer(merchant, language=language)
        overdue = make_invoice(customer)  # 1,049.86 due on the SPEC's day
        later = make_invoice(customer, lines=[line(unit_amount=20000)], due_date=date(2026, 3, 31))
        paid = make_invoice(customer, issue_date=date(2026, 1, 2), due_date=date(2026, 2, 1))
        pay(paid, 100000, date(2026, 1, 20))
        credited = make_invoice(customer, issue_date=date(2026, 1, 5), due_date=date(2026, 2, 4))
        note = credit(credited, 100000, date(2026, 1, 10))
        db.session.commit()
        account = Account(customer.id, overdue.number, later.number, paid.number, credited.number, note.number)
        db.session.remove()
    return account


def open_portal(chromium, live_server, app, account: Account, viewport: dict, locale: str = "en-GB"):
    context = chromium.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    page.goto(live_server + link_path(app, account.customer_id))
    return context, page


@pytest.mark.parametrize("width", WIDTHS)
def test_pay_is_above_the_fold_and_first_in_tab_order(chromium, live_server, app, providers, artifacts, width):
    account = make_account(app)
    context, page = open_portal(chromium, live_server, app, account, WIDTHS[width])
    try:
        page.goto(f"{live_server}/invoices/{account.overdue}")
        page.screenshot(path=str(artifacts / f"invoice-open-{width}.png"))
        pay_button = page.locator("[data-testid^='pay-button']").first
        box = pay_button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= WIDTHS[width]["height"], box

        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.dataset.testid || document.activeElement.href || ''"))
            if any(str(item).startswith("pay-button") for item in reached):
                break
        pay_at = next(i for i, item in enumerate(reached) if str(item).startswith("pay-button"))
        downloads = [i for i, item in enumerate(reached) if "/pdf" in str(item) or "/download" in str(item)]
        assert not downloads or pay_at < min(downloads), reached
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_two_invoices_paid_in_one_checkout(chromium, live_server, app, providers, artifacts, width):
    mollie, _ = providers
    account = make_account(app)
    context, page = open_portal(chromium, live_server, app, account, WIDTHS[width])
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    try:
        page.get_by_test_id(f"select-{account.overdue}").check()
        page.get_by_test_id(f"select-{account.later}").check()
        page.screenshot(path=str(artifacts / f"overview-selected-{width}.png"), full_page=True)
        page.get_by_test_id("pay-selected").click()

        page.wait_for_url(f"{mollie.url}/checkout/**")
        assert page.get_by_test_id("amount").inner_text() == "EUR 1249.86"  # 1,049.86 + 200.00
        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url(f"{live_server}/payments/*/return")
        page.locator("[data-state='paid']").wait_for(timeout=15000)
        assert account.overdue in page.inner_text("main") and account.later in page.inner_text("main")

        page.get_by_test_id("back-to-overview").click()
        page.wait_for_url(f"{live_server}/")
        assert page.get_by_test_id("pay-selected").count() == 0  # nothing open any more
        paid = page.locator("#paid-title").locator("xpath=ancestor::section[1]")
        assert paid.get_by_role("link", name=account.overdue, exact=True).is_visible()
        assert paid.get_by_role("link", name=account.later, exact=True).is_visible()
        page.screenshot(path=str(artifacts / f"overview-after-paying-two-{width}.png"), full_page=True)
        assert problems == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_fully_credited_invoice_reads_credited_everywhere(chromium, live_server, app, providers, artifacts, width):
    account = make_account(app)
    context, page = open_portal(chromium, live_server, app, account, WIDTHS[width])
    try:
        row = page.locator("tr", has=page.get_by_role("link", name=account.credited, exact=True))
        assert row.locator("[data-status='credited']").text_content().strip() == "Credited"
        page.goto(f"{live_server}/invoices/{account.credited}")
        assert page.locator("#due-title").text_content().strip() == "Credited"
        assert "Paid" not in page.locator(".due-card").inner_text()
        page.screenshot(path=str(artifacts / f"invoice-credited-{width}.png"), full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_tampered_link_shows_the_brand_and_the_fresh_link_form(
    chromium, live_server, app, providers, artifacts, width
):
    account = make_account(app)
    context, page = open_portal(chromium, live_server, app, account, WIDTHS[width])
    try:
        page.get_by_role("button", name="Sign out").click()
        path = link_path(app, account.customer_id)
        page.goto(live_server + path[:-3] + ("xyz" if not path.endswith("xyz") else "abc"))
        assert page.title().startswith("Atelier Lumen")
        primary = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--brand-primary')")
        assert primary.strip().lower() == "#0f766e"
        form = page.get_by_test_id("fresh-link-form")
        assert form.is_visible()
        assert form.get_by_label("Your email address").is_visible()
        page.screenshot(path=str(artifacts / f"link-tampered-{width}.png"), full_page=True)
    finally:
        context.close()


LANGUAGES = {"en": "en-GB", "fr": "fr-BE", "nl": "nl-BE", "de": "de-DE"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_portal_page_passes_axe_in_every_language(chromium, live_server, app, providers, artifacts, language):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    account = make_account(app, language)
    context, page = open_portal(chromium, live_server, app, account, WIDTHS["desktop"], LANGUAGES[language])
    failures = []

    def check(name: str) -> None:
        assert page.evaluate("document.documentElement.lang") == language, name
        results = axe.run(page, options=WCAG_AA)
        if results.violations_count:
            failures.append(f"{name}: {results.generate_report()}")
        for width, viewport in WIDTHS.items():
            page.set_viewport_size(viewport)
            page.screenshot(path=str(artifacts / f"axe-{language}-{name}-{width}.png"), full_page=True)
        page.set_viewport_size(WIDTHS["desktop"])

    try:
        for name, path in (
            ("overview", "/"),
            ("invoice-overdue", f"/invoices/{account.overdue}"),
            ("invoice-not-due", f"/invoices/{account.later}"),
            ("invoice-paid", f"/invoices/{account.paid}"),
            ("invoice-credited", f"/invoices/{account.credited}"),
            ("credit-note", f"/credit-notes/{account.note}"),
            ("overview-filtered-empty", "/?number=nothing-matches"),
        ):
            page.goto(live_server + path)
            check(name)
        page.locator("form[action$='/sign-out'] button").click()
        page.wait_for_load_state()
        check("signed-out")
        page.goto(live_server + "/")
        check("no-session")
        page.goto(live_server + "/l/tampered-token")
        check("link-tampered")
        assert failures == [], "\n".join(failures)
    finally:
        context.close()
