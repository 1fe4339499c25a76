"""A draft can be test-sent to staff (DRAFT-marked PDF, "[TEST]" subject); only its live send stays refused."""

from __future__ import annotations

import io
import re
from datetime import date

import pypdf
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import Invoice
from portal.models.mail import OutboxMessage
from tests.admin.test_invoices import EDITOR, _only_invoice, draft_form
from tests.factories import run_jobs


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _mails(invoice_id: int) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.invoice_id == invoice_id).order_by(OutboxMessage.id)
        )
    )


def test_staff_test_send_a_draft_and_get_a_draft_marked_copy(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    page = staff.get(f"/admin/invoices/{invoice_id}").get_data(as_text=True)
    assert "Send test to me" in page

    answer = staff.post(f"/admin/invoices/{invoice_id}/send", {"test": "1"}, follow_redirects=True)
    assert f"A test copy is on its way to {staff.email}" in answer.get_data(as_text=True)
    with app.app_context():
        run_jobs()
        [mail] = _mails(invoice_id)
        assert (mail.kind, mail.to_address) == ("invoice_test", staff.email)
        assert mail.subject.startswith("[TEST]") and "DRAFT" in mail.subject
        # The link opens the staff preview: the customer cannot open a draft.
        assert f"/admin/invoices/{invoice_id}/preview" in mail.text_body
        [pdf] = [part for part in mail.attachments if part.content_type == "application/pdf"]
        assert pdf.filename == f"invoice-draft-{invoice_id}.pdf"
        assert "DRAFT" in _pdf_text(pdf.data)
        invoice = db.session.get(Invoice, invoice_id)
        # Still a draft, and never counted as sent to the customer.
        assert (invoice.status, invoice.first_sent_at) == ("draft", None)


def test_a_live_send_of_a_draft_is_still_refused(app, staff):
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    html = staff.post(f"/admin/invoices/{invoice_id}/send", follow_redirects=True).get_data(as_text=True)
    assert "A draft cannot be sent" in html
    with app.app_context():
        run_jobs()
        assert _mails(invoice_id) == []


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_the_list_says_not_sent_until_the_customer_is_sent_it_test_copies_aside(app, staff):
    staff.sign_in_again()
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
    with app.app_context():
        invoice_id = _only_invoice(app, staff.merchant_id).id
    staff.post(f"/admin/invoices/{invoice_id}/send", {"test": "1"})
    staff.post(f"/admin/invoices/{invoice_id}/finalize", {"send": "0"})
    staff.post(f"/admin/invoices/{invoice_id}/send", {"test": "1"})
    listed = staff.get("/admin/invoices").get_data(as_text=True)
    assert re.search(r'data-testid="sent-state"><span class="muted">Not sent</span>', listed)
    staff.post(f"/admin/invoices/{invoice_id}/send")
    assert 'data-testid="sent-state">Sent 2026-03-05</td>' in staff.get("/admin/invoices").get_data(as_text=True)


@time_machine.travel(date(2026, 3, 5), tick=False)
def test_the_not_sent_yet_filter_lists_finalized_invoices_no_customer_was_sent(app, staff):
    staff.sign_in_again()
    numbers = {}
    for name in ("sent", "test-only", "never"):
        staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)
        with app.app_context():
            invoice = db.session.scalars(
                select(Invoice).where(Invoice.merchant_id == staff.merchant_id).order_by(Invoice.id.desc())
            ).first()
            invoice_id = invoice.id
        staff.post(f"/admin/invoices/{invoice_id}/finalize", {"send": "0"})
        with app.app_context():
            numbers[name] = db.session.get(Invoice, invoice_id).number
        if name == "sent":
            staff.post(f"/admin/invoices/{invoice_id}/send")
        elif name == "test-only":
            staff.post(f"/admin/invoices/{invoice_id}/send", {"test": "1"})
    staff.post(EDITOR, draft_form(staff.customer_id), page=EDITOR)  # a draft: not "not sent", just not finalized

    listed = staff.get("/admin/invoices?sent=no").get_data(as_text=True)

    assert numbers["never"] in listed and numbers["test-only"] in listed
    assert numbers["sent"] not in listed
    assert "Draft #" not in listed
    assert 'name="sent" value="no" checked' in listed
    everything = staff.get("/admin/invoices").get_data(as_text=True)
    assert all(number in everything for number in numbers.values()) and "Draft #" in everything
