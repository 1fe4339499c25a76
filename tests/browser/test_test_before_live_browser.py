"""Test before live, in a real browser: a draft is test-sent, previewed in French, finalized without mail,
then sent; the invoice list says when."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.extensions import db
from portal.models.mail import OutboxMessage
from tests.admin.conftest import PASSWORD, make_staff
from tests.factories import line, make_customer, make_invoice, make_merchant, run_jobs
from tests.portal.conftest import SPEC_DAY

pytestmark = pytest.mark.browser


@pytest.fixture
def french_draft(app, time_machine) -> tuple[str, int]:
    """A merchant that mails invoices when finalized, its staff member, and a French customer's draft."""
    # Brussels noon on the SPEC's day: every date on the pages is 2026-03-02.
    time_machine.move_to(SPEC_DAY, tick=True)
    with app.app_context():
        merchant = make_merchant("Atelier Lumen", timezone="Europe/Brussels", send_when_finalized=True)
        make_staff(merchant, "owner@lumen.example")
        customer = make_customer(merchant, name="Claire Dubois", language="fr", email="claire@client.example")
        draft = make_invoice(
            customer,
            lines=[line(description="Conception du site", unit_amount=120000)],
            issue_date=SPEC_DAY.date(),
            due_date=SPEC_DAY.date().replace(day=31),
            finalize=False,
        )
        db.session.commit()
        return "owner@lumen.example", draft.id


def _mails(app, invoice_id: int) -> list[tuple[str, str, str]]:
    with app.app_context():
        run_jobs()
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.invoice_id == invoice_id).order_by(OutboxMessage.id)
        )
        result = [(m.kind, m.to_address, m.subject) for m in rows]
        db.session.remove()
        return result


def test_a_draft_is_test_sent_previewed_in_french_finalized_without_mail_then_sent(
    app, chromium, live_server, french_draft, artifacts
):
    email, invoice_id = french_draft
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server}/admin/invoices/{invoice_id}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_selector("h1:has-text('Draft invoice')")

    # 1. A test copy of the draft to the staff member.
    page.click("button:has-text('Send test to me')")
    expect(page.locator(".flash--success")).to_contain_text(f"A test copy is on its way to {email}")
    [(kind, to, subject)] = _mails(app, invoice_id)
    assert (kind, to) == ("invoice_test", email) and subject.startswith("[TEST]")

    # 2. The preview opens in the customer's language (French); the switch shows the others and back.
    page.click("a:has-text('Preview')")
    document = page.frame_locator("#page iframe").locator("html")
    expect(document).to_have_attribute("lang", "fr")
    expect(document).to_contain_text("BROUILLON")
    expect(document).to_contain_text("Conception du site")
    page.click("[data-testid=preview-languages] >> text=Deutsch")
    expect(page.frame_locator("#page iframe").locator("html")).to_have_attribute("lang", "de")
    page.click("[data-testid=preview-languages] >> text=Français")
    expect(page.frame_locator("#page iframe").locator("html")).to_contain_text("BROUILLON")
    page.screenshot(path=str(artifacts / "admin-preview-fr.png"), full_page=True)
    page.click("text=← Back to the invoice")

    # 3. "Invoice ready for payment" is on, yet this invoice is finalized without a mail.
    page.click("button:has-text('Finalize without mailing')")
    expect(page.locator(".flash--success")).to_contain_text("It has not been sent.")
    number = page.inner_text("h1").split()[1]
    assert [kind for kind, _, _ in _mails(app, invoice_id)] == ["invoice_test"]
    page.click("nav >> text=Invoices")
    row = page.locator("tr", has_text=number)
    expect(row.locator("[data-testid=sent-state]")).to_have_text("Not sent")

    # 4. Then sent; the list says when.
    page.click(f"a:has-text('{number}')")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".flash--success")).to_contain_text(f"Invoice {number} sent to claire@client.example")
    assert [(kind, to) for kind, to, _ in _mails(app, invoice_id)] == [
        ("invoice_test", email),
        ("invoice", "claire@client.example"),
    ]
    page.click("nav >> text=Invoices")
    expect(page.locator("tr", has_text=number).locator("[data-testid=sent-state]")).to_have_text("Sent 2026-03-02")
    page.screenshot(path=str(artifacts / "admin-sent.png"), full_page=True)
    assert problems == []
    context.close()
